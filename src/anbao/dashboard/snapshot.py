"""The big screen's state at a moment, computed from stored rows (live and replay).

A snapshot is one JSON-ready dict. The live stream sends deltas of the same shape: a delta's
``replace`` holds whole sections, its ``upsert`` rows keyed like the snapshot's lists.
"""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from anbao.alarms.models import Alarm, DroneTrack, Workflow
from anbao.core import clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.dashboard.queues import queue_estimates
from anbao.screening.models import Passage, ScreeningRecord, ScreeningSubject, Seizure
from anbao.screening.occupancy import occupancy
from anbao.screening.reasons import texts
from anbao.sites.models import Checkpoint, Event, Lane, Venue
from anbao.workforce import duty
from anbao.workforce.models import ReserveUnit

log = logging.getLogger(__name__)

__all__ = [
    "REPLAY_HOURS",
    "alarm_rows",
    "checkpoint_rows",
    "drone_rows",
    "figures",
    "forces",
    "incident_rows",
    "parse_at",
    "reserve_rows",
    "snapshot",
    "venue_or_none",
]

# The slider reaches this far back; older moments are the reports' business.
REPLAY_HOURS = 12
# A drone not seen for this long has left the picture.
DRONE_FRESH = timedelta(minutes=10)
# Throughput is counted over this window before the moment shown.
THROUGHPUT_WINDOW = timedelta(minutes=15)
# Queue thresholds (people) for the checkpoint colours: below amber is green, from red is red.
QUEUE_AMBER = 30
QUEUE_RED = 80


def _bad(field: str, code: str, message: str) -> DomainError:
    return DomainError(code, message, 422, problems=[FieldProblem(field, message, code)])


def parse_at(text: str | None) -> datetime | None:
    """Parse an ISO moment for replay (None for live); refuse the future and the distant past."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _bad("at", "dashboard.bad_time", "at must be an ISO 8601 time.") from exc
    if at.tzinfo is None:
        raise _bad("at", "dashboard.bad_time", "at must carry a time zone offset.")
    now = clock.now()
    if at > now + timedelta(seconds=5):
        raise _bad("at", "dashboard.future", "Replay cannot show the future.")
    if at < now - timedelta(hours=REPLAY_HOURS, minutes=5):
        raise _bad("at", "dashboard.too_old", f"Replay reaches {REPLAY_HOURS} hours back.")
    return at


def venue_or_none(event: Event, code: str | None) -> Venue | None:
    """Return the venue named by ``code`` (None for the whole event) or raise."""
    if not code:
        return None
    venue = Venue.objects.filter(event=event, code=code).first()
    if venue is None:
        raise _bad("venue", "dashboard.unknown_venue", f"No venue {code!r}.")
    return venue


def _day_start(event: Event, at: datetime) -> datetime:
    local = at.astimezone(ZoneInfo(event.time_zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _checkpoint_ids(event: Event, venue: Venue | None) -> list[int]:
    qs = Checkpoint.objects.filter(event=event)
    if venue is not None:
        qs = qs.filter(venue=venue)
    return list(qs.values_list("id", flat=True))


def _empty_figures() -> dict[str, Any]:
    return {
        "people": 0,
        "bags": 0,
        "vehicles": 0,
        "seizures": {"prohibited": 0, "restricted": 0},
        "denials": 0,
        "denials_by_reason": [],
    }


def _figures_between(ids: list[int], start: datetime | None, end: datetime) -> dict[str, Any]:
    """Count screenings, seizures and denials for the checkpoints in ``[start, end]``."""
    out = _empty_figures()
    window = Q(server_time__lte=end)
    rec_window = Q(at__lte=end)
    if start is not None:
        window &= Q(server_time__gte=start)
        rec_window &= Q(at__gte=start)
    # People screened: entries let in (they walked through the detector) plus the public
    # screened without a credential, as screening.stats counts them.
    passages = (
        Passage.objects.filter(window, checkpoint_id__in=ids, annulled=False)
        .values("status", "reason", "direction")
        .annotate(n=Count("id"))
        .order_by()
    )
    reasons: Counter[str] = Counter()
    for r in passages:
        if r["direction"] == "entry" and r["status"] in ("allow", "attention"):
            out["people"] += r["n"]
        if r["status"] == "deny":
            reasons[r["reason"]] += r["n"]
    records = (
        ScreeningRecord.objects.filter(rec_window, checkpoint_id__in=ids)
        .values("subject", "public")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in records:
        if r["subject"] == ScreeningSubject.BAG:
            out["bags"] += r["n"]
        elif r["subject"] == ScreeningSubject.VEHICLE:
            out["vehicles"] += r["n"]
        elif r["subject"] == ScreeningSubject.PERSON and r["public"]:
            out["people"] += r["n"]
    for r in (
        Seizure.objects.filter(rec_window, checkpoint_id__in=ids)
        .values("item_class")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if r["item_class"] in out["seizures"]:
            out["seizures"][r["item_class"]] += r["n"]
    out["denials"] = sum(reasons.values())
    out["denials_by_reason"] = [
        {"reason": k, "count": n, "text_zh": texts(k)[0], "text_en": texts(k)[1]}
        for k, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return out


def figures(event: Event, at: datetime, venue: Venue | None = None) -> dict[str, Any]:
    """Return today's and the event-to-date figures as of ``at`` (venue-scoped if given)."""
    ids = _checkpoint_ids(event, venue)
    return {
        "today": _figures_between(ids, _day_start(event, at), at),
        "to_date": _figures_between(ids, None, at),
    }


def live_figures(event: Event, at: datetime, venue: Venue | None = None) -> dict[str, Any]:
    """Return the figures now from the running tally (a full count only when it is cold)."""
    from anbao.dashboard import broadcaster

    # The tally is shared with the stream; reading it starts no thread of its own.
    code = venue.code if venue is not None else None
    return broadcaster.get(start=False).live_figures(event, at, code)


def _queue_level(length: int, is_open: bool) -> str:
    if not is_open:
        return "closed"
    if length >= QUEUE_RED:
        return "red"
    if length >= QUEUE_AMBER:
        return "amber"
    return "green"


def checkpoint_rows(
    event: Event,
    at: datetime,
    venue: Venue | None = None,
    *,
    closed_lanes: set[int] | None = None,
) -> list[dict[str, Any]]:
    """Return each checkpoint with its lanes open, queue estimate and 15-minute throughput."""
    cps = Checkpoint.objects.filter(event=event).select_related("venue").order_by("code")
    if venue is not None:
        cps = cps.filter(venue=venue)
    checkpoints = list(cps)
    lanes = list(Lane.objects.filter(checkpoint__in=checkpoints).order_by("code"))
    served = Counter(
        dict(
            Passage.objects.filter(
                checkpoint__in=checkpoints,
                annulled=False,
                direction="entry",
                status__in=["allow", "attention"],
                server_time__gt=at - THROUGHPUT_WINDOW,
                server_time__lte=at,
            )
            .values_list("checkpoint_id")
            .annotate(n=Count("id"))
            .order_by()
        )
    )
    estimates = queue_estimates(lanes, at, closed=closed_lanes)
    by_cp: dict[int, list[Lane]] = {}
    for ln in lanes:
        by_cp.setdefault(ln.checkpoint_id, []).append(ln)
    rows = []
    for cp in checkpoints:
        lane_rows: list[dict[str, Any]] = []
        for ln in by_cp.get(cp.pk, []):
            q = estimates[ln.pk]
            lane_rows.append(
                {
                    "code": ln.code,
                    "is_open": q["is_open"],
                    "queue": q["length"],
                    "wait_s": q["wait_s"],
                    "rate_per_min": q["rate_per_min"],
                }
            )
        queue = sum(int(r["queue"]) for r in lane_rows)
        open_lanes = sum(1 for r in lane_rows if r["is_open"])
        rows.append(
            {
                "code": cp.code,
                "name": cp.name,
                "name_en": cp.name_en,
                "venue": cp.venue.code,
                "kind": cp.kind,
                "lon": cp.lon,
                "lat": cp.lat,
                "lanes": lane_rows,
                "lanes_open": open_lanes,
                "lanes_total": len(lane_rows),
                "queue": queue,
                "throughput_15m": served.get(cp.pk, 0),
                "level": _queue_level(queue, open_lanes > 0 or not lane_rows),
                "amber": QUEUE_AMBER,
                "red": QUEUE_RED,
            }
        )
    return rows


def _alarm_venue(a: Alarm) -> str | None:
    if a.segment_id and a.segment is not None and a.segment.venue_id:
        return a.segment.venue.code if a.segment.venue else None
    return None


def alarm_row(a: Alarm, at: datetime) -> dict[str, Any]:
    """Return one alarm as the big screen lists and draws it."""
    return {
        "id": a.pk,
        "number": a.number,
        "title": a.title,
        "title_en": a.title_en,
        "source_type": a.source_type,
        "priority": a.priority,
        "colour": a.colour,
        "sound": a.sound,
        "condition": a.condition,
        "workflow": a.workflow,
        "raised_at": a.raised_at.isoformat(),
        "lon": a.lon,
        "lat": a.lat,
        "segment": a.segment.code if a.segment_id and a.segment else None,
        "section": a.section.code if a.section_id and a.section else None,
        "venue": _alarm_venue(a),
        "overdue": a.workflow == Workflow.NEW and not a.test and a.ack_due_at <= at,
        "test": a.test,
    }


def alarm_rows(
    event: Event,
    at: datetime,
    *,
    live: bool,
    venue: Venue | None = None,
    ids: list[int] | None = None,
) -> list[dict[str, Any]]:
    """Return the alarms open at ``at``, by priority then age (or the rows for ``ids``)."""
    qs = Alarm.objects.filter(event=event).select_related("segment__venue", "section")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    elif live:
        qs = qs.exclude(workflow=Workflow.CLOSED)
    else:
        qs = qs.filter(raised_at__lte=at).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
    if venue is not None:
        qs = qs.filter(Q(segment__venue=venue) | Q(segment__isnull=True))
    rows = [alarm_row(a, at) for a in qs.order_by("priority", "raised_at")[:300]]
    if not live:
        # At a past moment an alarm later closed was still open, whatever it says now.
        for r in rows:
            if r["workflow"] == Workflow.CLOSED:
                r["workflow"] = Workflow.ACKNOWLEDGED
    return rows


def _track_row(t: DroneTrack, at: datetime, live: bool) -> dict[str, Any] | None:
    trail = [p for p in (t.trail or []) if len(p) >= 2]
    lon, lat = t.lon, t.lat
    if not live:
        trail = [p for p in trail if len(p) < 4 or str(p[3]) <= at.isoformat()]
        if not trail:
            return None
        lon, lat = float(trail[-1][0]), float(trail[-1][1])
    return {
        "track_id": t.track_id,
        "serial": t.serial,
        "lon": lon,
        "lat": lat,
        "alt_m": t.alt_m,
        "level": t.level,
        "score": t.score,
        "authorised": t.authorised,
        "status": t.status,
        "trail": [[float(p[0]), float(p[1])] for p in trail[-30:]],
    }


def drone_rows(event: Event, at: datetime, *, live: bool) -> list[dict[str, Any]]:
    """Return the drone tracks seen around ``at`` with their trails (newest 50)."""
    qs = DroneTrack.objects.filter(
        event=event, first_seen__lte=at, last_seen__gte=at - DRONE_FRESH
    ).order_by("-last_seen")[:50]
    return [r for r in (_track_row(t, at, live) for t in qs) if r is not None]


def reserve_rows(event: Event) -> list[dict[str, Any]]:
    """Return the reserve units with position and state (only the present is stored)."""
    return [
        {
            "code": u.code,
            "name": u.name,
            "name_en": u.name_en,
            "kind": u.kind,
            "size": u.size,
            "state": u.state,
            "lon": u.lon,
            "lat": u.lat,
            "task": u.task,
        }
        for u in ReserveUnit.objects.filter(event=event).order_by("code")
    ]


def forces(event: Event, at: datetime, reserves: list[dict[str, Any]]) -> dict[str, int]:
    """Return guards on post against planned, open duty alerts, and reserves available."""
    counts = duty.on_duty_counts(event, at)
    planned = counts.get("rostered", 0)
    on_post = counts.get("checked_in", 0)
    return {
        "planned": planned,
        "on_post": on_post,
        "absent": max(0, planned - on_post),
        "alerts": counts.get("alerts", 0),
        "reserves_available": sum(1 for r in reserves if r["state"] == "available"),
        "reserves_total": len(reserves),
    }


def incident_rows(
    event: Event, at: datetime, *, venue: Venue | None = None
) -> list[dict[str, Any]]:
    """Return open incidents from the incidents domain (empty until that domain provides them)."""
    try:
        # Imported by name: the incidents domain may not provide its queries yet.
        incident_queries = importlib.import_module("anbao.incidents.queries")
        rows = incident_queries.open_incidents(
            event, venue=venue.code if venue is not None else None
        )
    except (ImportError, AttributeError):
        return []
    except Exception:  # a fault in another domain must not blank the whole screen
        log.exception("open incidents could not be read")
        return []
    out = []
    for r in rows:
        opened = r.get("opened_at")
        if isinstance(opened, str):
            try:
                opened = datetime.fromisoformat(opened)
            except ValueError:
                opened = None
        if isinstance(opened, datetime) and opened > at:
            continue  # replay: not opened yet at that moment
        out.append(_jsonable(r))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def zone_occupancy(event: Event, venue: Venue | None = None) -> dict[str, int]:
    """Return the people inside each zone now (presence is only stored for the present)."""
    occ = occupancy(event.pk)
    if venue is None:
        return occ
    numbers = set(venue.zones.values_list("number", flat=True))
    return {k: v for k, v in occ.items() if k in numbers}


def seizures_total(event: Event, start: datetime, end: datetime) -> int:
    """Return the quantity of items seized in a window (for reports)."""
    return int(
        Seizure.objects.filter(checkpoint__event=event, at__gte=start, at__lt=end).aggregate(
            q=Sum("quantity")
        )["q"]
        or 0
    )


def snapshot(
    event: Event, *, at: datetime | None = None, venue: Venue | None = None
) -> dict[str, Any]:
    """Return the whole screen as of ``at`` (None: now, live) for the event or one venue."""
    live = at is None
    moment = at or clock.now()
    frame_at: str | None = None
    closed_lanes: set[int] | None = None
    if live:
        reserves: list[dict[str, Any]] | None = reserve_rows(event)
        zones: dict[Any, int] | None = zone_occupancy(event, venue)
        incidents = incident_rows(event, moment, venue=venue)
    else:
        # Occupancy, reserve states and incident states are stored only for the present;
        # the minute frames keep them for replay.
        from anbao.dashboard.frames import frame_at as find_frame

        frame = find_frame(event, moment)
        reserves, zones, incidents = None, None, incident_rows(event, moment, venue=venue)
        if frame is not None and "closed_lanes" in frame.data:
            closed_lanes = {int(i) for i in frame.data["closed_lanes"]}
        if frame is not None:
            frame_at = frame.at.isoformat()
            reserves = list(frame.data.get("reserves") or [])
            zones = _venue_zones(frame.data.get("zones") or {}, venue)
            incidents = _venue_incidents(frame.data.get("incidents") or [], venue)
    return {
        "at": moment.isoformat(),
        "live": live,
        "frame_at": frame_at,
        "event": event.code,
        "venue": venue.code if venue is not None else None,
        "time_zone": event.time_zone,
        "figures": live_figures(event, moment, venue) if live else figures(event, moment, venue),
        "checkpoints": checkpoint_rows(event, moment, venue, closed_lanes=closed_lanes),
        "zones": zones,
        "alarms": alarm_rows(event, moment, live=live, venue=venue),
        "drones": drone_rows(event, moment, live=live),
        "reserves": reserves,
        "forces": forces(event, moment, reserves or []),
        "incidents": incidents,
    }


def _venue_zones(zones: dict[str, int], venue: Venue | None) -> dict[str, int]:
    if venue is None:
        return dict(zones)
    numbers = {str(n) for n in venue.zones.values_list("number", flat=True)}
    return {k: v for k, v in zones.items() if k in numbers}


def _venue_incidents(rows: list[dict[str, Any]], venue: Venue | None) -> list[dict[str, Any]]:
    if venue is None:
        return rows
    return [r for r in rows if r.get("venue") in (None, "", venue.code)]
