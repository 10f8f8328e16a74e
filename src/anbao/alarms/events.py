"""Alarm events, past tense, published after commit."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event

__all__ = ["AlarmChanged", "AlarmRaised", "DroneTrackUpdated"]


@dataclass(frozen=True)
class AlarmRaised(Event):
    """A new alarm was committed; the dashboard and incident flows react to it."""

    alarm_id: int
    number: int
    event: str
    source_type: str
    source_key: str
    priority: int
    colour: str
    sound: str
    title: str
    title_en: str
    lon: float | None
    lat: float | None
    test: bool
    raised_at: str


@dataclass(frozen=True)
class AlarmChanged(Event):
    """An alarm's condition or workflow changed, or it was triggered again."""

    alarm_id: int
    number: int
    event: str
    change: str
    condition: str
    workflow: str
    trigger_count: int
    at: str


@dataclass(frozen=True)
class DroneTrackUpdated(Event):
    """A drone track's state and threat were stored."""

    track_id: str
    event: str
    serial: str
    lon: float
    lat: float
    alt_m: float
    score: float
    level: str
    authorised: bool
