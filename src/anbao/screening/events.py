"""Screening events, past tense, published after commit."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event

__all__ = ["PassageAnnulled", "PassageRecorded", "PresencesEnded"]


@dataclass(frozen=True)
class PassageRecorded(Event):
    """A scan was decided and its passage stored."""

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
