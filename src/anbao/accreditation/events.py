"""Accreditation events, published after commit (past tense)."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event


@dataclass(frozen=True)
class AccreditationTransitioned(Event):
    """An accreditation moved from one lifecycle status to another."""

    accreditation_id: int
    person_id: int
    event_id: int
    from_status: str
    to_status: str
    note: str = ""


@dataclass(frozen=True)
class AccreditationChanged(Event):
    """A signed field of an accreditation (category, zones, venues, validity) changed."""

    accreditation_id: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class PeopleImported(Event):
    """A bulk import stored people and their accreditations."""

    event_id: int
    people: int
    accreditations: int
    organisations: int


@dataclass(frozen=True)
class VettingImported(Event):
    """A police vetting result file was applied."""

    event_id: int
    cleared: int
    refused: int
    pending: int


@dataclass(frozen=True)
class TemporaryPassIssued(Event):
    """A day or guest pass was issued against a host's quota."""

    pass_id: int
    host_id: int
    kind: str
    day: str
