"""Record a frame of the present-only state each minute, and find the frame for a replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from anbao.dashboard.models import ScreenFrame
from anbao.sites.models import Event

__all__ = ["KEEP", "MAX_AGE", "frame_at", "record", "record_current"]

#: A replayed moment uses the last frame at most this old (frames come once a minute).
MAX_AGE = timedelta(minutes=3)
#: Frames older than this are pruned.
KEEP = timedelta(days=14)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def record(event: Event, now: datetime) -> bool:
    """Store the frame for ``now``'s minute unless one is there; return whether it stored one."""
    from anbao.dashboard import snapshot as snap

    minute = _minute(now)
    if ScreenFrame.objects.filter(event=event, at=minute).exists():
        return False
    from anbao.screening.models import LaneState

    reserves = snap.reserve_rows(event)
    closed = LaneState.objects.filter(lane__checkpoint__event=event, is_open=False)
    data: dict[str, Any] = {
        "closed_lanes": sorted(closed.values_list("lane_id", flat=True)),
        "zones": {str(k): v for k, v in snap.zone_occupancy(event).items()},
        "reserves": reserves,
        "incidents": snap.incident_rows(event, now),
    }
    # Several server processes may record the same minute: the first one wins.
    made = ScreenFrame.objects.bulk_create(
        [ScreenFrame(event=event, at=minute, data=snap._jsonable(data))], ignore_conflicts=True
    )
    if minute.minute == 0:
        ScreenFrame.objects.filter(event=event, at__lt=minute - KEEP).delete()
    return bool(made)


def record_current(now: datetime) -> None:
    """Record the frame of the current event (the housekeeping job)."""
    from anbao.sites import services as sites

    event = sites.current_event()
    if event is not None:
        record(event, now)


def frame_at(event: Event, at: datetime) -> ScreenFrame | None:
    """Return the latest frame at or before ``at``, if it is recent enough to stand for it."""
    return (
        ScreenFrame.objects.filter(event=event, at__lte=at, at__gt=at - MAX_AGE)
        .order_by("-at")
        .first()
    )
