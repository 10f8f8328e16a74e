"""Lanes at work: open/closed, throughput per minute, the live queue estimate, equipment.

The queue estimate of an open lane is

    queue(t) = base + arrivals since the base - people served since the base, clipped at 0

where the base is the last manual queue report made since the lane opened (else 0 at the
lane's opening, else 0 at ``QUEUE_HORIZON`` ago). Arrivals come from per-minute counts
(a counter device or an operator); people served are allowed entry passages plus public
person screenings at the lane. The estimate says where it comes from: ``counter`` while
the counter's counts are fresh, ``manual`` when it rests on a report, ``none`` otherwise.
A closed lane has no queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Sum

from anbao.accounts.models import User
from anbao.accounts.services import in_checkpoint_scope
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem, Forbidden, NotFound
from anbao.screening.events import (
    ArrivalsCounted,
    LaneEquipmentChanged,
    LaneStateChanged,
    OfflineConflictResolved,
    QueueReported,
)
from anbao.screening.models import (
    ArrivalCount,
    Direction,
    EquipmentKind,
    EquipmentStatus,
    GateState,
    LaneEquipment,
    LaneState,
    OfflineConflict,
    Passage,
    QueueReport,
    ScreeningRecord,
    ScreeningSubject,
)
from anbao.screening.reasons import texts
from anbao.sites import services as sites
from anbao.sites.models import Checkpoint, Device, Event, Lane

__all__ = [
    "MAX_ARRIVALS_PER_MINUTE",
    "MAX_QUEUE",
    "SKEW_ALERT_S",
    "LaneCounts",
    "QueueEstimate",
    "checkpoint_summary",
    "gate_states",
    "get_lane",
    "get_lane_for_device",
    "lane_state",
    "list_equipment",
    "minute_counts",
    "queue_estimate",
    "recent_denials",
    "record_arrivals",
    "report_queue",
    "resolve_conflict",
    "set_equipment",
    "set_lane_open",
    "unresolved_conflicts",
]

MAX_QUEUE = 10_000
MAX_ARRIVALS_PER_MINUTE = 2_000
#: Without a report or an opening time, the estimate starts empty this long ago.
QUEUE_HORIZON = timedelta(hours=1)
#: Counter counts older than this no longer make the estimate a ``counter`` one.
COUNTER_FRESH = timedelta(minutes=5)
#: The service rate behind the wait is measured over this window.
RATE_WINDOW = timedelta(minutes=5)
THROUGHPUT_MINUTES = 15
SKEW_ALERT_S = 60.0
DENIALS_SHOWN = 20
#: How far back and ahead a counted minute may lie (device clocks drift; backlogs are late).
ARRIVALS_PAST = timedelta(hours=24)
ARRIVALS_FUTURE = timedelta(minutes=2)


# --- helpers -----------------------------------------------------------------------------


def _invalid(name: str, code: str, message: str, status: int = 422) -> DomainError:
    return DomainError(code, message, status, problems=[FieldProblem(name, message, code)])


def _check_scope(user: User | None, checkpoint: Checkpoint) -> None:
    if user is not None and not in_checkpoint_scope(user, checkpoint):
        raise Forbidden("screening.out_of_scope", f"Not in your scope: {checkpoint.code}.")


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _actor(user: User | None) -> User | None:
    return user if getattr(user, "pk", None) else None


def get_lane(checkpoint_code: str, lane_code: str, *, event: Event | None = None) -> Lane:
    """Return a lane by checkpoint and lane code (current event) or a coded 404."""
    checkpoint = sites.get_checkpoint(event or sites.get_event(), checkpoint_code)
    lane = (
        Lane.objects.select_related("checkpoint__event")
        .filter(checkpoint=checkpoint, code=lane_code)
        .first()
    )
    if lane is None:
        raise NotFound("screening.unknown_lane", f"No lane {lane_code!r} at {checkpoint.code}.")
    return lane


def get_lane_for_device(device: Device, checkpoint_code: str, lane_code: str) -> Lane:
    """Return the lane a device names in its own event, refusing a lane it does not serve."""
    event = Event.objects.get(pk=device.event_id)
    lane = get_lane(checkpoint_code, lane_code, event=event)
    if device.lane_id != lane.pk:
        raise Forbidden("auth.device_mismatch", "This device does not serve that lane.")
    return lane


# --- open / closed -----------------------------------------------------------------------


def lane_state(lane: Lane) -> LaneState:
    """Return a lane's state (an unsaved open state when none was ever set)."""
    row = LaneState.objects.filter(lane=lane).first()
    return row if row is not None else LaneState(lane=lane, is_open=True)


def _states(lanes: Sequence[Lane]) -> dict[int, LaneState]:
    rows = {s.lane_id: s for s in LaneState.objects.filter(lane__in=lanes)}
    return {ln.pk: rows.get(ln.pk) or LaneState(lane=ln, is_open=True) for ln in lanes}


def set_lane_open(
    lane: Lane, is_open: bool, *, user: User | None = None, note: str = ""
) -> LaneState:
    """Open or close a lane (audited, published); a lane already in that state is left as is."""
    _check_scope(user, lane.checkpoint)
    note = note.strip()[:200]
    with transaction.atomic():
        row, _ = LaneState.objects.select_for_update().get_or_create(lane=lane)
        if row.changed_at is not None and row.is_open == is_open:
            return row
        before = {"is_open": row.is_open, "note": row.note}
        row.is_open = is_open
        row.note = note
        row.changed_at = clock.now()
        row.changed_by = _actor(user)
        row.save()
        audit.record(
            "screening.lane_opened" if is_open else "screening.lane_closed",
            obj=lane,
            before=before,
            after={"is_open": is_open, "note": note},
        )
        bus.publish(
            LaneStateChanged(lane.checkpoint.code, lane.code, is_open, row.changed_at.isoformat())
        )
    return row


# --- queue reports and arrivals ----------------------------------------------------------


def report_queue(lane: Lane, length: int, *, user: User | None = None) -> QueueReport:
    """Store a queue length counted by eye at an open lane (audited, published)."""
    if not 0 <= length <= MAX_QUEUE:
        raise _invalid("length", "screening.bad_queue_length", f"length must be 0 to {MAX_QUEUE}.")
    _check_scope(user, lane.checkpoint)
    if not lane_state(lane).is_open:
        raise DomainError("screening.lane_closed", f"Lane {lane.code} is closed.", status=409)
    with transaction.atomic():
        row = QueueReport.objects.create(
            lane=lane, length=length, reported_by=_actor(user), at=clock.now()
        )
        audit.record("screening.queue_reported", obj=lane, after={"length": length})
        bus.publish(QueueReported(lane.checkpoint.code, lane.code, length, row.at.isoformat()))
    return row


def record_arrivals(
    lane: Lane,
    counts: Iterable[tuple[datetime, int]],
    *,
    device: Device | None = None,
    operator: User | None = None,
) -> list[ArrivalCount]:
    """Store per-minute arrival counts; a minute counted again keeps the latest count."""
    now = clock.now()
    by_minute: dict[datetime, int] = {}
    for i, (at, count) in enumerate(counts):
        where = f"counts[{i}]"
        if at.tzinfo is None:
            raise _invalid(f"{where}.minute", "screening.bad_minute", "minute needs a time zone.")
        if not now - ARRIVALS_PAST <= at <= now + ARRIVALS_FUTURE:
            raise _invalid(
                f"{where}.minute",
                "screening.bad_minute",
                "minute must lie within the last 24 hours and not in the future.",
            )
        if not 0 <= count <= MAX_ARRIVALS_PER_MINUTE:
            raise _invalid(
                f"{where}.count",
                "screening.bad_count",
                f"count must be 0 to {MAX_ARRIVALS_PER_MINUTE}.",
            )
        by_minute[_minute(at)] = count
    if not by_minute:
        raise _invalid("counts", "screening.no_counts", "Send at least one minute's count.")
    _check_scope(operator, lane.checkpoint)
    rows: list[ArrivalCount] = []
    with transaction.atomic():
        for minute, count in sorted(by_minute.items()):
            row, _ = ArrivalCount.objects.update_or_create(
                lane=lane,
                minute=minute,
                defaults={
                    "count": count,
                    "device": device,
                    "operator": _actor(operator),
                    "received_at": now,
                },
            )
            rows.append(row)
        total = sum(by_minute.values())
        audit.record(
            "screening.arrivals_counted",
            obj=lane,
            after={
                "minutes": [m.isoformat() for m in sorted(by_minute)],
                "total": total,
                "device": device.external_id if device else None,
            },
        )
        bus.publish(
            ArrivalsCounted(lane.checkpoint.code, lane.code, len(rows), total, now.isoformat())
        )
    return rows


# --- counts per minute -------------------------------------------------------------------


@dataclass
class LaneCounts:
    """People, bags and vehicles through a lane in one minute."""

    minute: datetime
    people: int = 0
    bags: int = 0
    vehicles: int = 0


def minute_counts(
    lanes: Sequence[Lane], *, since: datetime, until: datetime
) -> dict[int, list[LaneCounts]]:
    """Return, per lane id, one row per minute in ``[since, until)`` (zeros included).

    People are allowed passages (not annulled) plus public person screenings; bags and
    vehicles are screenings of that subject.
    """
    start = _minute(since)
    minutes: list[datetime] = []
    m = start
    while m < until:
        minutes.append(m)
        m += timedelta(minutes=1)
    table = {ln.pk: {mm: LaneCounts(mm) for mm in minutes} for ln in lanes}
    passages = Passage.objects.filter(
        lane__in=lanes,
        status="allow",
        annulled=False,
        server_time__gte=start,
        server_time__lt=until,
    ).values_list("lane_id", "server_time")
    for lane_id, at in passages:
        table[lane_id][_minute(at)].people += 1
    screenings = ScreeningRecord.objects.filter(
        lane__in=lanes, at__gte=start, at__lt=until
    ).values_list("lane_id", "at", "subject", "public")
    for lane_id, at, subject, public in screenings:
        row = table[lane_id][_minute(at)]
        if subject == ScreeningSubject.PERSON and public:
            row.people += 1
        elif subject == ScreeningSubject.BAG:
            row.bags += 1
        elif subject == ScreeningSubject.VEHICLE:
            row.vehicles += 1
    return {lane_id: list(rows.values()) for lane_id, rows in table.items()}


# --- the queue estimate ------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEstimate:
    """A lane's estimated queue: length, where it comes from, and the wait it means."""

    is_open: bool
    length: int
    source: str
    wait_s: float | None
    rate_per_min: float
    base_length: int = 0
    base_at: datetime | None = None
    arrivals: int = 0
    served: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the estimate as a plain dict."""
        return {
            "is_open": self.is_open,
            "length": self.length,
            "source": self.source,
            "wait_s": self.wait_s,
            "rate_per_min": self.rate_per_min,
            "base_length": self.base_length,
            "base_at": self.base_at,
            "arrivals": self.arrivals,
            "served": self.served,
        }


def _served(lane: Lane, since: datetime, until: datetime) -> int:
    # Only entries queue for screening; people leaving do not come out of the queue.
    passages = Passage.objects.filter(
        lane=lane,
        status="allow",
        annulled=False,
        direction=Direction.ENTRY,
        server_time__gte=since,
        server_time__lt=until,
    ).count()
    public = ScreeningRecord.objects.filter(
        lane=lane, subject=ScreeningSubject.PERSON, public=True, at__gte=since, at__lt=until
    ).count()
    return passages + public


def queue_estimate(
    lane: Lane, *, now: datetime | None = None, state: LaneState | None = None
) -> QueueEstimate:
    """Estimate a lane's queue now: last report (or 0 at opening) + arrivals - served, >= 0."""
    now = now or clock.now()
    state = state or lane_state(lane)
    if not state.is_open:
        return QueueEstimate(is_open=False, length=0, source="none", wait_s=None, rate_per_min=0.0)
    opened_at = state.changed_at
    reports = QueueReport.objects.filter(lane=lane, at__lte=now)
    if opened_at is not None:
        reports = reports.filter(at__gte=opened_at)
    report = reports.order_by("-at", "-id").first()
    if report is not None:
        base_length, base_at = report.length, report.at
    else:
        base_length, base_at = 0, opened_at or now - QUEUE_HORIZON
    counted = ArrivalCount.objects.filter(lane=lane, minute__gte=base_at, minute__lte=now)
    arrivals = int(counted.aggregate(n=Sum("count"))["n"] or 0)
    counter_fresh = counted.filter(minute__gte=_minute(now - COUNTER_FRESH)).exists()
    served = _served(lane, base_at, now)
    length = max(0, base_length + arrivals - served)
    recent = _served(lane, now - RATE_WINDOW, now)
    rate = recent / (RATE_WINDOW.total_seconds() / 60)
    if counter_fresh:
        source = "counter"
    elif report is not None:
        source = "manual"
    else:
        source = "none"
    if length == 0:
        wait: float | None = 0.0
    elif rate > 0:
        wait = round(length / rate * 60, 1)
    else:
        wait = None  # people wait, nobody is being served: the wait is unknown
    return QueueEstimate(
        is_open=True,
        length=length,
        source=source,
        wait_s=wait,
        rate_per_min=round(rate, 2),
        base_length=base_length,
        base_at=base_at,
        arrivals=arrivals,
        served=served,
    )


# --- equipment ---------------------------------------------------------------------------


def set_equipment(
    lane: Lane,
    *,
    kind: str,
    label: str,
    status: str,
    note: str = "",
    user: User | None = None,
) -> LaneEquipment:
    """Create or update one piece of lane equipment and its status (audited, published)."""
    if kind not in EquipmentKind.values:
        raise _invalid("kind", "screening.unknown_equipment_kind", f"Unknown kind {kind!r}.")
    if status not in EquipmentStatus.values:
        raise _invalid(
            "status", "screening.unknown_equipment_status", f"Unknown status {status!r}."
        )
    label = label.strip()
    if not label or len(label) > 60:
        raise _invalid("label", "screening.bad_label", "label must be 1 to 60 characters.")
    _check_scope(user, lane.checkpoint)
    with transaction.atomic():
        row, created = LaneEquipment.objects.select_for_update().get_or_create(
            lane=lane, kind=kind, label=label
        )
        before = None if created else {"status": row.status, "note": row.note}
        row.status = status
        row.note = note.strip()[:200]
        row.updated_at = clock.now()
        row.updated_by = _actor(user)
        row.save()
        audit.record(
            "screening.equipment_set",
            obj=row,
            before=before,
            after={"lane": lane.code, "kind": kind, "label": label, "status": status},
        )
        bus.publish(
            LaneEquipmentChanged(
                lane.checkpoint.code, lane.code, kind, label, status, row.updated_at.isoformat()
            )
        )
    return row


def list_equipment(
    *, lane: Lane | None = None, checkpoint: Checkpoint | None = None
) -> list[LaneEquipment]:
    """Return the equipment of a lane or of every lane at a checkpoint."""
    qs = LaneEquipment.objects.select_related("lane")
    if lane is not None:
        qs = qs.filter(lane=lane)
    if checkpoint is not None:
        qs = qs.filter(lane__checkpoint=checkpoint)
    return list(qs.order_by("lane__code", "kind", "label"))


# --- denials, conflicts, gates -----------------------------------------------------------


def recent_denials(checkpoint: Checkpoint, *, limit: int = DENIALS_SHOWN) -> list[dict[str, Any]]:
    """Return the latest refused passages at a checkpoint with their reason texts."""
    rows = (
        Passage.objects.filter(checkpoint=checkpoint, status="deny", annulled=False)
        .select_related("lane")
        .order_by("-server_time", "-id")[:limit]
    )
    out = []
    for p in rows:
        zh, en = texts(p.reason)
        out.append(
            {
                "passage_id": p.pk,
                "at": p.server_time,
                "lane": p.lane.code,
                "direction": p.direction,
                "reason": p.reason,
                "rule": p.rule,
                "text_zh": zh,
                "text_en": en,
                "cid": p.cid,
            }
        )
    return out


def unresolved_conflicts(checkpoint: Checkpoint) -> list[OfflineConflict]:
    """Return a checkpoint's offline conflicts not yet resolved, newest first."""
    return list(
        OfflineConflict.objects.filter(checkpoint=checkpoint, resolved_at__isnull=True)
        .select_related("first_passage__lane", "second_passage__lane")
        .order_by("-detected_at", "-id")
    )


def resolve_conflict(
    conflict_id: int,
    resolution: str,
    *,
    user: User | None = None,
    checkpoint: Checkpoint | None = None,
) -> OfflineConflict:
    """Mark an offline conflict resolved with what was done about it (audited, published)."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise _invalid(
            "resolution", "screening.resolution_required", "Say how the conflict was resolved."
        )
    with transaction.atomic():
        row = (
            OfflineConflict.objects.select_for_update()
            .select_related("checkpoint")
            .filter(pk=conflict_id)
            .first()
        )
        if row is None or (checkpoint is not None and row.checkpoint_id != checkpoint.pk):
            raise NotFound("screening.unknown_conflict", f"No conflict {conflict_id}.")
        _check_scope(user, row.checkpoint)
        if row.resolved_at is not None:
            raise DomainError(
                "screening.already_resolved", "The conflict is already resolved.", status=409
            )
        row.resolved_at = clock.now()
        row.resolved_by = _actor(user)
        row.resolution = resolution[:200]
        row.save(update_fields=["resolved_at", "resolved_by", "resolution"])
        audit.record(
            "screening.conflict_resolved",
            obj=row,
            before={"resolved": False},
            after={"resolved": True, "resolution": row.resolution},
        )
        bus.publish(
            OfflineConflictResolved(row.pk, row.checkpoint.code, row.resolved_at.isoformat())
        )
    return row


def gate_states(checkpoint: Checkpoint) -> list[dict[str, Any]]:
    """Return the last reported state of each gate at a checkpoint, skew flagged past 60 s."""
    rows = (
        GateState.objects.filter(device__lane__checkpoint=checkpoint)
        .select_related("device__lane")
        .order_by("device__external_id")
    )
    return [
        {
            "device": g.device.external_id,
            "name": g.device.name,
            "lane": g.device.lane.code if g.device.lane else None,
            "online": g.device.online,
            "mode": g.mode,
            "pending": g.pending,
            "clock_skew_s": g.clock_skew_s,
            "skew_alert": abs(g.clock_skew_s) > SKEW_ALERT_S,
            "bundle_serial": g.bundle_serial,
            "last_sync_at": g.last_sync_at,
        }
        for g in rows
    ]


# --- the checkpoint summary --------------------------------------------------------------


@dataclass
class _LaneRow:
    lane: Lane
    state: LaneState
    throughput: list[LaneCounts]
    queue: QueueEstimate
    faults: list[LaneEquipment] = field(default_factory=list)


def checkpoint_summary(checkpoint: Checkpoint, *, now: datetime | None = None) -> dict[str, Any]:
    """Return what a checkpoint leader watches: lanes, throughput, queues, denials, gates."""
    now = now or clock.now()
    lanes = list(Lane.objects.filter(checkpoint=checkpoint).order_by("code"))
    states = _states(lanes)
    since = _minute(now) - timedelta(minutes=THROUGHPUT_MINUTES - 1)
    counts = minute_counts(lanes, since=since, until=now + timedelta(microseconds=1))
    faults: dict[int, list[LaneEquipment]] = {}
    for eq in LaneEquipment.objects.filter(lane__in=lanes).exclude(status=EquipmentStatus.OK):
        faults.setdefault(eq.lane_id, []).append(eq)
    rows = [
        _LaneRow(
            lane=ln,
            state=states[ln.pk],
            throughput=counts[ln.pk],
            queue=queue_estimate(ln, now=now, state=states[ln.pk]),
            faults=faults.get(ln.pk, []),
        )
        for ln in lanes
    ]
    return {
        "checkpoint": checkpoint.code,
        "name": checkpoint.name,
        "name_en": checkpoint.name_en,
        "at": now,
        "lanes": [
            {
                "code": r.lane.code,
                "name": r.lane.name,
                "kind": r.lane.kind,
                "is_open": r.state.is_open,
                "changed_at": r.state.changed_at,
                "note": r.state.note,
                "throughput": [
                    {"minute": c.minute, "people": c.people, "bags": c.bags, "vehicles": c.vehicles}
                    for c in r.throughput
                ],
                "people_15m": sum(c.people for c in r.throughput),
                "bags_15m": sum(c.bags for c in r.throughput),
                "vehicles_15m": sum(c.vehicles for c in r.throughput),
                "peak_per_min": max((c.people for c in r.throughput), default=0),
                "queue": r.queue.as_dict(),
                "faults": [
                    {"kind": f.kind, "label": f.label, "status": f.status, "note": f.note}
                    for f in r.faults
                ],
            }
            for r in rows
        ],
        "denials": recent_denials(checkpoint),
        "conflicts": [
            {
                "id": c.pk,
                "kind": c.kind,
                "cid": c.cid,
                "detected_at": c.detected_at,
                "first_lane": c.first_passage.lane.code,
                "second_lane": c.second_passage.lane.code,
                "first_at": c.first_passage.server_time,
                "second_at": c.second_passage.server_time,
            }
            for c in unresolved_conflicts(checkpoint)
        ],
        "gates": gate_states(checkpoint),
    }
