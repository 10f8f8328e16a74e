"""The pure rules of incidents: allowed moves, timers and the escalation ladder (no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

#: Incident states an action may start from.
INCIDENT_MOVES: dict[str, frozenset[str]] = {
    "acknowledge": frozenset({"open"}),
    "dispatch": frozenset({"open", "acknowledged", "responding"}),
    "step": frozenset({"open", "acknowledged", "responding"}),
    "attach": frozenset({"open", "acknowledged", "responding"}),
    "resolve": frozenset({"open", "acknowledged", "responding"}),
    "close": frozenset({"resolved"}),
}

#: A dispatched unit's moves on an incident.
DISPATCH_MOVES: dict[str, frozenset[str]] = {
    "dispatched": frozenset({"accepted", "en_route", "on_scene", "cancelled"}),
    "accepted": frozenset({"en_route", "on_scene", "cancelled"}),
    "en_route": frozenset({"on_scene", "cancelled"}),
    "on_scene": frozenset({"done"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}

#: The reserve unit's workforce state for each dispatch state.
UNIT_STATE = {
    "dispatched": "dispatched",
    "accepted": "dispatched",
    "en_route": "dispatched",
    "on_scene": "on_scene",
    "done": "available",
    "cancelled": "available",
}

TIMERS = ("ack", "respond", "resolve")


def can(action: str, state: str) -> bool:
    """Return whether ``action`` is allowed on an incident in ``state``."""
    return state in INCIDENT_MOVES.get(action, frozenset())


def next_dispatch_states(state: str) -> list[str]:
    """Return the states a dispatch may move to next, in the order a phone shows them."""
    order = ["accepted", "en_route", "on_scene", "done", "cancelled"]
    allowed = DISPATCH_MOVES.get(state, frozenset())
    return [s for s in order if s in allowed]


@dataclass(frozen=True)
class Timer:
    """One timer of an incident: when it is due, when it was met, and whether it runs late."""

    name: str
    due: datetime
    met_at: datetime | None
    now: datetime

    @property
    def overdue(self) -> bool:
        """Return whether it is not met and past due."""
        return self.met_at is None and self.now > self.due

    @property
    def late(self) -> bool:
        """Return whether it was met, or is still open, after its due time."""
        return (self.met_at or self.now) > self.due

    @property
    def left_s(self) -> int:
        """Return seconds left (negative when overdue; 0 once met)."""
        if self.met_at is not None:
            return 0
        return int((self.due - self.now).total_seconds())

    def as_dict(self) -> dict[str, object]:
        """Return it as a JSON-ready dict."""
        return {
            "due": self.due.isoformat(),
            "met_at": self.met_at.isoformat() if self.met_at else None,
            "overdue": self.overdue,
            "late": self.late,
            "left_s": self.left_s,
        }


def timers(
    *,
    ack_due: datetime,
    respond_due: datetime,
    resolve_due: datetime,
    acknowledged_at: datetime | None,
    responding_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
) -> dict[str, Timer]:
    """Return the three timers of an incident at ``now``."""
    return {
        "ack": Timer("ack", ack_due, acknowledged_at, now),
        "respond": Timer("respond", respond_due, responding_at, now),
        "resolve": Timer("resolve", resolve_due, resolved_at, now),
    }


def newly_overdue(timer_map: dict[str, Timer], escalated: Sequence[str]) -> list[str]:
    """Return the overdue timers not escalated yet, in timer order."""
    return [name for name in TIMERS if timer_map[name].overdue and name not in escalated]


def recipient(ladder: Sequence[str], level: int) -> str:
    """Return the role told at escalation ``level`` (1-based); past the end, the last role."""
    if not ladder:
        return "commander"
    return ladder[min(max(level, 1), len(ladder)) - 1]


def alarm_escalation_level(
    *, ack_due: datetime, interval_s: float, now: datetime, minimum_s: float = 30.0
) -> int:
    """Return the escalation level an unacknowledged alarm has reached at ``now``.

    Level 1 at the acknowledgement deadline, one more after each further interval.
    """
    if now < ack_due:
        return 0
    step = max(interval_s, minimum_s)
    return 1 + int((now - ack_due).total_seconds() // step)


#: Who hears of an unacknowledged alarm: the duty commander, then the administrator.
ALARM_LADDER = ("commander", "admin")
