"""Offline gate API (docs/gate.md): the signed bundle, journal sync, gate states, conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from anbao.accounts.auth import DEVICE_AUTH, need
from anbao.accounts.roles import Cap
from anbao.accounts.services import in_checkpoint_scope
from anbao.core.errors import Forbidden, NotFound
from anbao.screening import bundles, sync
from anbao.screening.models import GateState, OfflineConflict
from anbao.sites import services as sites
from anbao.sites.models import Device, Event

router = Router(tags=["screening"])


class BundleOut(Schema):
    """The signed bundle envelope: format, serial, signing key id, payload and signature."""

    format: str
    serial: int
    signed_by: str
    payload: str
    signature: str


class SyncIn(Schema):
    """A gate's journal upload and its reported state; entries are checked one by one."""

    device: str = Field(min_length=1, max_length=64)
    device_time: datetime
    mode: Literal["online", "offline", "forced_offline"]
    bundle_serial: int = Field(0, ge=0, le=2**31 - 1)
    pending: int = Field(0, ge=0, le=2**31 - 1)
    entries: list[Any]


class SyncOut(Schema):
    """The answer to a sync: server time, the measured clock skew, one result per entry."""

    server_time: str
    clock_skew_s: float
    results: list[dict[str, Any]]
    conflicts: int


class ConflictOut(Schema):
    """An offline conflict: what, whose credential, the two passages, its resolution."""

    id: int
    kind: str
    cid: str
    accreditation_id: int | None
    checkpoint: str
    first_passage_id: int
    first_lane: str
    first_at: str
    second_passage_id: int
    second_lane: str
    second_at: str
    detected_at: str
    resolved_at: str | None
    resolved_by: str | None
    resolution: str


class ResolveIn(Schema):
    """How the checkpoint leader settled a conflict."""

    resolution: str = Field(min_length=1, max_length=200)


class GateStateOut(Schema):
    """One lane scanner's last reported state (``synced`` false when it never synced)."""

    device: str
    checkpoint: str
    lane: str
    synced: bool
    mode: str
    bundle_serial: int
    bundle_at: str | None
    pending: int
    clock_skew_s: float
    last_sync_at: str | None
    uploaded: int


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def _scanner(request: HttpRequest) -> Device:
    device: Device = request.auth  # type: ignore[attr-defined]  # set by DeviceToken
    if device.lane_id is None:
        raise Forbidden("auth.device_mismatch", "Only a lane's scanner may do this.")
    return device


@router.get("/gate/bundle", response={200: BundleOut, 304: None}, auth=DEVICE_AUTH)
def get_bundle(
    request: HttpRequest,
    since: int | None = Query(None, ge=0),
    photos: int = Query(1, ge=0, le=1),
) -> Status[Any]:
    """Return the signed bundle for the calling lane scanner; 304 when ``since`` is current."""
    device = _scanner(request)
    bundle = bundles.build_bundle(device, photos=bool(photos), since=since)
    if bundle.envelope is None:
        return Status(304, None)
    return Status(200, bundle.envelope)


@router.post("/gate/sync", response=SyncOut, auth=DEVICE_AUTH)
def post_sync(request: HttpRequest, payload: SyncIn) -> dict[str, Any]:
    """Store the calling gate's journal entries and state; answer each entry by ``seq``."""
    device = _scanner(request)
    if payload.device != device.external_id:
        raise Forbidden("auth.device_mismatch", "This device token belongs to another device.")
    return sync.sync(
        device=device,
        lane=bundles.lane_of(device),
        entries=payload.entries,
        device_time=payload.device_time,
        mode=payload.mode,
        bundle_serial=payload.bundle_serial,
        pending=payload.pending,
    ).as_json()


def _conflict_out(row: OfflineConflict) -> ConflictOut:
    first, second = row.first_passage, row.second_passage
    return ConflictOut(
        id=row.pk,
        kind=row.kind,
        cid=row.cid,
        accreditation_id=row.accreditation_id,
        checkpoint=row.checkpoint.code,
        first_passage_id=first.pk,
        first_lane=first.lane.code,
        first_at=sync.passage_time(first).isoformat(),
        second_passage_id=second.pk,
        second_lane=second.lane.code,
        second_at=sync.passage_time(second).isoformat(),
        detected_at=row.detected_at.isoformat(),
        resolved_at=_iso(row.resolved_at),
        resolved_by=row.resolved_by.get_username() if row.resolved_by else None,
        resolution=row.resolution,
    )


@router.get("/gate/conflicts", response=list[ConflictOut], auth=need(Cap.SCREENING_VIEW))
def get_conflicts(
    request: HttpRequest, resolved: bool = False, limit: int = Query(200, ge=1, le=1000)
) -> list[ConflictOut]:
    """List offline conflicts in the caller's scope, newest first (open ones by default)."""
    user = request.auth  # type: ignore[attr-defined]
    rows = sync.list_conflicts(user=user, open_only=not resolved)[:limit]
    return [_conflict_out(r) for r in rows]


@router.post(
    "/gate/conflicts/{conflict_id}/resolve",
    response=ConflictOut,
    auth=need(Cap.SCREENING_LEAD),
)
def resolve(request: HttpRequest, conflict_id: int, payload: ResolveIn) -> ConflictOut:
    """Resolve an offline conflict with a note (audited)."""
    user = request.auth  # type: ignore[attr-defined]
    row = sync.resolve_conflict(conflict_id, payload.resolution, user)
    full = sync.list_conflicts(open_only=False).get(pk=row.pk)
    return _conflict_out(full)


@router.get("/gate/states", response=list[GateStateOut], auth=need(Cap.SCREENING_VIEW))
def get_states(request: HttpRequest, event: str | None = None) -> list[GateStateOut]:
    """List every lane scanner of the event (current by default) with its last gate state."""
    user = request.auth  # type: ignore[attr-defined]
    row = Event.objects.filter(code=event).first() if event else sites.current_event()
    if row is None:
        raise NotFound("sites.unknown_event", "No such event.")
    devices = (
        Device.objects.filter(event=row, lane__isnull=False)
        .select_related("lane__checkpoint")
        .order_by("external_id")
    )
    states = {s.device_id: s for s in GateState.objects.filter(device__in=devices)}
    scope: dict[int, bool] = {}
    out: list[GateStateOut] = []
    for d in devices:
        lane = d.lane
        if lane is None:
            continue
        cp = lane.checkpoint
        if cp.pk not in scope:
            scope[cp.pk] = in_checkpoint_scope(user, cp)
        if not scope[cp.pk]:
            continue
        s = states.get(d.pk)
        out.append(
            GateStateOut(
                device=d.external_id,
                checkpoint=lane.checkpoint.code,
                lane=lane.code,
                synced=s is not None and s.last_sync_at is not None,
                mode=s.mode if s else "online",
                bundle_serial=s.bundle_serial if s else 0,
                bundle_at=_iso(s.bundle_at) if s else None,
                pending=s.pending if s else 0,
                clock_skew_s=s.clock_skew_s if s else 0.0,
                last_sync_at=_iso(s.last_sync_at) if s else None,
                uploaded=s.uploaded if s else 0,
            )
        )
    return out
