"""Screening events, past tense, published after commit."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event

__all__ = [
    "ArrivalsCounted",
    "LaneEquipmentChanged",
    "LaneStateChanged",
    "OfflineConflictResolved",
    "PassageAnnulled",
    "PassageRecorded",
    "PresencesEnded",
    "QueueReported",
]


@dataclass(frozen=True)
class PassageRecorded(Event):
    """A scan was decided and its passage stored."""

    relay_latest_only = True

    passage_id: int
    checkpoint: str
    lane: str
    direction: str
    status: str
    reason: str
    zone: str
    at: str


@dataclass(frozen=True)
class PassageAnnulled(Event):
    """A wrong passage was annulled by a lead."""

    passage_id: int
    checkpoint: str
    at: str


@dataclass(frozen=True)
class PresencesEnded(Event):
    """The automatic check-out ended presences."""

    count: int
    at: str


@dataclass(frozen=True)
class LaneStateChanged(Event):
    """A lane was opened or closed."""

    checkpoint: str
    lane: str
    is_open: bool
    at: str


@dataclass(frozen=True)
class QueueReported(Event):
    """Someone counted a lane's queue by eye."""

    relay_latest_only = True

    checkpoint: str
    lane: str
    length: int
    at: str


@dataclass(frozen=True)
class ArrivalsCounted(Event):
    """Arrival counts for a lane's queue were stored (one or more minutes)."""

    relay_latest_only = True

    checkpoint: str
    lane: str
    minutes: int
    total: int
    at: str


@dataclass(frozen=True)
class LaneEquipmentChanged(Event):
    """A lane's piece of equipment changed status."""

    checkpoint: str
    lane: str
    kind: str
    label: str
    status: str
    at: str


@dataclass(frozen=True)
class OfflineConflictResolved(Event):
    """A lead resolved a double entry found on gate sync."""

    conflict_id: int
    checkpoint: str
    at: str
