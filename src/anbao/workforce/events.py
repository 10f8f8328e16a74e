"""Workforce events, past tense, published after commit."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event

__all__ = ["DutyAlertRaised", "DutyChecked", "ReserveUnitChanged"]


@dataclass(frozen=True)
class DutyChecked(Event):
    """A guard checked in or out at a post."""

    relay_latest_only = True

    guard: str
    post: str
    shift_id: int
    action: str  # "in" or "out"
    method: str
    at: str


@dataclass(frozen=True)
class DutyAlertRaised(Event):
    """A rostered guard has not checked in; the roster manager must act."""

    alert_id: int
    guard: str
    post: str
    shift_id: int
    minutes_late: int


@dataclass(frozen=True)
class ReserveUnitChanged(Event):
    """A reserve unit moved or changed state."""

    unit: str
    state: str
    lon: float
    lat: float
    task: str
