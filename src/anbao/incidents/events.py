"""Incident events, past tense, published after commit."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event

__all__ = [
    "AlarmEscalated",
    "DispatchChanged",
    "IncidentChanged",
    "IncidentEscalated",
    "IncidentOpened",
    "SopStepSkipped",
]


@dataclass(frozen=True)
class IncidentOpened(Event):
    """An incident was opened, by hand or from alarms."""

    incident_id: int
    number: int
    event: str
    kind: str
    title: str
    priority: int
    lon: float | None
    lat: float | None
    alarm_ids: tuple[int, ...]
    opened_at: str


@dataclass(frozen=True)
class IncidentChanged(Event):
    """An incident moved, or something was added to it (``change`` says what)."""

    incident_id: int
    number: int
    event: str
    change: str
    state: str
    at: str


@dataclass(frozen=True)
class SopStepSkipped(Event):
    """A mandatory SOP step was skipped with a comment; the supervisor role is told."""

    incident_id: int
    number: int
    event: str
    step: int
    text_en: str
    comment: str
    supervisor_role: str
    at: str


@dataclass(frozen=True)
class IncidentEscalated(Event):
    """A timer of an incident ran out: the incident went up a level, to ``recipient_role``."""

    incident_id: int
    number: int
    event: str
    timer: str
    level: int
    recipient_role: str
    at: str


@dataclass(frozen=True)
class DispatchChanged(Event):
    """A unit was dispatched to an incident, or reported a new state."""

    dispatch_id: int
    incident_id: int
    number: int
    event: str
    unit: str
    state: str
    at: str


@dataclass(frozen=True)
class AlarmEscalated(Event):
    """An alarm stayed unacknowledged: it went up a level, to ``recipient_role``."""

    alarm_id: int
    number: int
    event: str
    level: int
    recipient_role: str
    at: str
