"""Lanes API (at ``/api/screening``): lane state, queues, arrivals, equipment, statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, cast

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from anbao.accounts.auth import DEVICE_AUTH, need
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core import idempotency
from anbao.screening import lanes, stats
from anbao.screening.models import LaneEquipment
from anbao.sites import services as sites

VIEW = need(Cap.SCREENING_VIEW)
OPERATE = need(Cap.SCREENING_OPERATE)
LEAD = need(Cap.SCREENING_LEAD)

router = Router(tags=["screening lanes"])


def _user(request: HttpRequest) -> User:
    """Return the authenticated user (auth has run: it is never anonymous here)."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


# --- schemas -----------------------------------------------------------------------------


class MinuteOut(Schema):
    """People, bags and vehicles through a lane in one minute."""

    minute: datetime
    people: int
    bags: int
    vehicles: int


class QueueOut(Schema):
    """A lane's queue estimate."""

    is_open: bool
    length: int
    source: Literal["counter", "manual", "none"]
    wait_s: float | None
    rate_per_min: float
    base_length: int
    base_at: datetime | None
    arrivals: int
    served: int


class FaultOut(Schema):
    """A piece of equipment that is not OK."""

    kind: str
    label: str
    status: str
    note: str


class LaneSummaryOut(Schema):
    """One lane on the leader's screen."""

    code: str
    name: str
    kind: str
    is_open: bool
    changed_at: datetime | None
    note: str
    throughput: list[MinuteOut]
    people_15m: int
    bags_15m: int
    vehicles_15m: int
    peak_per_min: int
    queue: QueueOut
    faults: list[FaultOut]


class DenialOut(Schema):
    """A refused passage with its reason texts."""

    passage_id: int
    at: datetime
    lane: str
    direction: str
    reason: str
    rule: str
    text_zh: str
    text_en: str
    cid: str


class ConflictOut(Schema):
    """An unresolved offline conflict."""

    id: int
    kind: str
    cid: str
    detected_at: datetime
    first_lane: str
    second_lane: str
    first_at: datetime
    second_at: datetime


class GateOut(Schema):
    """A gate's last reported state."""

    device: str
    name: str
    lane: str | None
    online: bool
    mode: str
    pending: int
    clock_skew_s: float
    skew_alert: bool
    bundle_serial: int
    last_sync_at: datetime | None


class SummaryOut(Schema):
    """What a checkpoint leader watches."""

    checkpoint: str
    name: str
    name_en: str
    at: datetime
    lanes: list[LaneSummaryOut]
    denials: list[DenialOut]
    conflicts: list[ConflictOut]
    gates: list[GateOut]


class LaneStateIn(Schema):
    """Open or close a lane."""

    open: bool
    note: str = Field("", max_length=200)


class LaneStateOut(Schema):
    """A lane's state."""

    checkpoint: str
    lane: str
    is_open: bool
    changed_at: datetime | None
    note: str


class QueueIn(Schema):
    """A queue length counted by eye."""

    length: int = Field(ge=0, le=lanes.MAX_QUEUE)


class MinuteCountIn(Schema):
    """People counted joining the queue during one minute."""

    minute: datetime
    count: int = Field(ge=0, le=lanes.MAX_ARRIVALS_PER_MINUTE)


class ArrivalsIn(Schema):
    """Arrival counts for one or more minutes (a backlog after a dropout, at most 2 hours)."""

    counts: list[MinuteCountIn] = Field(min_length=1, max_length=120)
    message_id: str | None = Field(None, min_length=1, max_length=100)


class ArrivalsOut(Schema):
    """How many minutes were stored and the queue estimate after them."""

    minutes: int
    total: int
    queue: QueueOut


class EquipmentIn(Schema):
    """One piece of lane equipment and its status."""

    kind: Literal["xray", "wtmd", "handheld", "uvss", "other"]
    label: str = Field(min_length=1, max_length=60)
    status: Literal["ok", "fault", "maintenance"]
    note: str = Field("", max_length=200)


class EquipmentOut(Schema):
    """A piece of lane equipment."""

    lane: str
    kind: str
    label: str
    status: str
    note: str
    updated_at: datetime | None

    @staticmethod
    def resolve_lane(obj: LaneEquipment) -> str:
        """Return the lane code."""
        return obj.lane.code


class DenialCountOut(Schema):
    """Denials of one reason."""

    reason: str
    count: int
    text_zh: str
    text_en: str


class SeizureCountOut(Schema):
    """Seizures of one item or group."""

    code: str
    zh: str
    en: str
    item_class: str
    count: int
    quantity: int


class StatisticsOut(Schema):
    """One checkpoint's screening statistics for one local day."""

    checkpoint: str
    name: str
    name_en: str
    day: date
    people: int
    bags: int
    vehicles: int
    passages_allowed: int
    passages_denied: int
    denials: list[DenialCountOut]
    seizures: int
    seizures_by_class: dict[str, int]
    seizures_by_group: list[SeizureCountOut]
    seizures_by_item: list[SeizureCountOut]


# --- routes ------------------------------------------------------------------------------


@router.get(
    "/checkpoints/{code}/summary", response=SummaryOut, auth=VIEW, summary="Checkpoint summary"
)
def checkpoint_summary(request: HttpRequest, code: str) -> dict[str, Any]:
    """Return lanes with state, throughput, queue and faults; denials, conflicts, gates."""
    checkpoint = sites.get_checkpoint(sites.get_event(), code)
    return lanes.checkpoint_summary(checkpoint)


def _state_out(lane: Any, row: Any) -> LaneStateOut:
    return LaneStateOut(
        checkpoint=lane.checkpoint.code,
        lane=lane.code,
        is_open=row.is_open,
        changed_at=row.changed_at,
        note=row.note,
    )


@router.post(
    "/lanes/{checkpoint}/{lane}/state", response=LaneStateOut, auth=LEAD, summary="Open/close"
)
def set_lane_state(
    request: HttpRequest, checkpoint: str, lane: str, payload: LaneStateIn
) -> LaneStateOut:
    """Open or close a lane in your scope (audited)."""
    row = lanes.get_lane(checkpoint, lane)
    state = lanes.set_lane_open(row, payload.open, user=_user(request), note=payload.note)
    return _state_out(row, state)


@router.post(
    "/lanes/{checkpoint}/{lane}/queue", response={201: QueueOut}, auth=OPERATE, summary="Queue"
)
def report_queue(
    request: HttpRequest, checkpoint: str, lane: str, payload: QueueIn
) -> Status[dict[str, Any]]:
    """Report a queue length counted by eye; answer the new estimate."""
    row = lanes.get_lane(checkpoint, lane)
    lanes.report_queue(row, payload.length, user=_user(request))
    return Status(201, lanes.queue_estimate(row).as_dict())


def _arrivals(lane: Any, payload: ArrivalsIn, **who: Any) -> dict[str, Any]:
    rows = lanes.record_arrivals(lane, [(c.minute, c.count) for c in payload.counts], **who)
    return {
        "minutes": len(rows),
        "total": sum(r.count for r in rows),
        "queue": lanes.queue_estimate(lane).as_dict(),
    }


@router.post(
    "/lanes/{checkpoint}/{lane}/arrivals",
    response=ArrivalsOut,
    auth=DEVICE_AUTH,
    summary="Arrival counts from a counter device",
)
def device_arrivals(
    request: HttpRequest, checkpoint: str, lane: str, payload: ArrivalsIn
) -> dict[str, Any]:
    """Store per-minute arrival counts from the lane's own counter device."""
    device = request.auth  # type: ignore[attr-defined]  # set by DeviceToken
    row = lanes.get_lane_for_device(device, checkpoint, lane)
    source = f"device:{device.external_id}:arrivals"
    if payload.message_id:
        # A resent message is answered with what was stored the first time, never applied
        # again: a late replay must not overwrite a newer count for the same minute.
        first = idempotency.seen(source, payload.message_id)
        if first is not None:
            return {**first, "queue": lanes.queue_estimate(row).as_dict()}
    answer = _arrivals(row, payload, device=device)
    if payload.message_id:
        idempotency.remember(
            source, payload.message_id, {"minutes": answer["minutes"], "total": answer["total"]}
        )
    return answer


@router.post(
    "/lanes/{checkpoint}/{lane}/arrivals/manual",
    response=ArrivalsOut,
    auth=OPERATE,
    summary="Arrival counts from an operator",
)
def manual_arrivals(
    request: HttpRequest, checkpoint: str, lane: str, payload: ArrivalsIn
) -> dict[str, Any]:
    """Store per-minute arrival counts tallied by an operator at a lane in their scope."""
    row = lanes.get_lane(checkpoint, lane)
    return _arrivals(row, payload, operator=_user(request))


@router.put(
    "/lanes/{checkpoint}/{lane}/equipment",
    response=EquipmentOut,
    auth=OPERATE,
    summary="Set equipment status",
)
def put_equipment(
    request: HttpRequest, checkpoint: str, lane: str, payload: EquipmentIn
) -> LaneEquipment:
    """Create or update a piece of lane equipment with its status (audited)."""
    row = lanes.get_lane(checkpoint, lane)
    return lanes.set_equipment(row, user=_user(request), **payload.dict())


@router.get(
    "/lanes/{checkpoint}/{lane}/equipment",
    response=list[EquipmentOut],
    auth=VIEW,
    summary="List equipment",
)
def get_equipment(request: HttpRequest, checkpoint: str, lane: str) -> list[LaneEquipment]:
    """List a lane's equipment with its status."""
    return lanes.list_equipment(lane=lanes.get_lane(checkpoint, lane))


@router.get("/statistics", response=list[StatisticsOut], auth=VIEW, summary="Screening statistics")
def get_statistics(
    request: HttpRequest,
    day: str | None = Query(None, max_length=10),
    checkpoint: str | None = Query(None, max_length=40),
) -> list[dict[str, Any]]:
    """Per checkpoint for a local day: screenings, passages, denials by reason, seizures."""
    event = sites.get_event()
    parsed = stats.parse_day(day, time_zone=event.time_zone)
    cp = sites.get_checkpoint(event, checkpoint) if checkpoint else None
    return stats.statistics(event, parsed, checkpoint=cp)
