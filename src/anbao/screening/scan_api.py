"""Scan API: gate scanners (device token) and operators' manual lookups, annulment, rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from pydantic import BaseModel

from anbao.accounts.auth import DEVICE_AUTH, need
from anbao.accounts.roles import Cap
from anbao.accounts.services import in_checkpoint_scope
from anbao.accreditation.models import Person
from anbao.core import audit
from anbao.core.errors import Forbidden, NotFound
from anbao.screening import decisions, occupancy
from anbao.screening.models import Passage
from anbao.sites import services as sites
from anbao.sites.models import Checkpoint, Event

router = Router(tags=["screening"])

CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"


class ScanIn(BaseModel):
    """One scan from a gate scanner: QR text or an accreditation id, where, which way, when."""

    # A plain pydantic model, not a ninja Schema: the Schema's validator for reading Django
    # objects costs 12 µs of the scanners' fast path per request (2 µs without it).

    qr_text: str | None = Field(None, min_length=1, max_length=decisions.MAX_QR)
    accreditation_id: int | None = Field(None, ge=1)
    checkpoint: str = Field(pattern=CODE)
    lane: str = Field(pattern=CODE)
    device: str = Field(min_length=1, max_length=64)
    direction: Literal["entry", "exit"]
    device_time: datetime
    nonce: str = Field(min_length=1, max_length=100)


class ManualScanIn(Schema):
    """A manual lookup by an operator at a lane."""

    accreditation_id: int = Field(ge=1)
    checkpoint: str = Field(pattern=CODE)
    lane: str = Field(pattern=CODE)
    direction: Literal["entry", "exit"]
    nonce: str = Field(min_length=1, max_length=100)


class ScanOut(Schema):
    """The decision: status, stable reason, who it is, texts in zh-Hans and en."""

    passage_id: int
    status: str
    reason: str
    rule: str
    detail: str
    direction: str
    checkpoint: str
    lane: str
    cid: str
    accreditation_id: int | None
    person_id: int | None
    name: str
    category: str
    photo_url: str
    flags: list[str]
    text_zh: str
    text_en: str
    server_time: str
    duplicate: bool


class AnnulIn(Schema):
    """Why a passage is annulled."""

    reason: str = Field(min_length=1, max_length=200)


class AnnulOut(Schema):
    """An annulled passage."""

    passage_id: int
    annulled: bool


class RulesIn(Schema):
    """A checkpoint's scan rules."""

    anti_passback: bool
    auto_checkout_hour: int = Field(ge=0, le=23)


class RulesOut(RulesIn):
    """A checkpoint's scan rules as stored."""

    checkpoint: str


@router.post("/scan", response=ScanOut, auth=DEVICE_AUTH)
def scan(request: HttpRequest, payload: ScanIn) -> dict[str, Any]:
    """Decide a gate scanner's scan at its own lane and record the passage."""
    device = request.auth  # type: ignore[attr-defined]  # set by DeviceToken
    if device.external_id != payload.device:
        raise Forbidden("auth.device_mismatch", "This device token belongs to another device.")
    lane = decisions.lane_context(
        event_id=device.event_id, checkpoint_code=payload.checkpoint, lane_code=payload.lane
    )
    decisions.check_device_lane(device, lane)
    return decisions.scan(
        lane=lane,
        direction=payload.direction,
        nonce=payload.nonce,
        source=f"device:{device.external_id}",
        qr_text=payload.qr_text,
        accreditation_id=payload.accreditation_id,
        device=device,
        device_time=payload.device_time,
    ).as_json()


@router.post("/scan/manual", response=ScanOut, auth=need(Cap.SCREENING_OPERATE))
def manual_scan(request: HttpRequest, payload: ManualScanIn) -> dict[str, Any]:
    """Decide an operator's manual lookup by accreditation id at a lane in their scope."""
    user = request.auth  # type: ignore[attr-defined]
    event = Event.objects.filter(checkpoints__code=payload.checkpoint).first()
    lane = decisions.resolve_lane(
        event_id=event.pk if event else 0,
        checkpoint_code=payload.checkpoint,
        lane_code=payload.lane,
    )
    if not in_checkpoint_scope(user, lane.checkpoint):
        raise Forbidden("screening.out_of_scope", "This checkpoint is outside your scope.")
    return decisions.scan(
        lane=lane,
        direction=payload.direction,
        nonce=payload.nonce,
        source=f"user:{user.pk}",
        accreditation_id=payload.accreditation_id,
        operator=user,
    ).as_json()


@router.get("/people/{person_id}/photo", auth=DEVICE_AUTH)
def person_photo(request: HttpRequest, person_id: int) -> HttpResponse:
    """Serve a person's photo to a lane's scanner, auditing the read."""
    device = request.auth  # type: ignore[attr-defined]
    if device.lane_id is None:
        raise Forbidden("auth.device_mismatch", "Only a lane's scanner may read photos.")
    person = Person.objects.filter(pk=person_id).first()
    data = bytes(person.photo or b"") if person else b""
    if person is None or not data:
        raise NotFound("screening.no_photo", "No photo.")
    audit.record_read("photo", obj=person)
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@router.post("/passages/{passage_id}/annul", response=AnnulOut, auth=need(Cap.SCREENING_LEAD))
def annul(request: HttpRequest, passage_id: int, payload: AnnulIn) -> AnnulOut:
    """Annul a wrong passage (audited)."""
    user = request.auth  # type: ignore[attr-defined]
    row = Passage.objects.select_related("checkpoint").filter(pk=passage_id).first()
    if row is not None and not in_checkpoint_scope(user, row.checkpoint):
        raise Forbidden("screening.out_of_scope", "This checkpoint is outside your scope.")
    passage = occupancy.annul_passage(passage_id, payload.reason, user=user)
    return AnnulOut(passage_id=passage.pk, annulled=passage.annulled)


@router.put("/checkpoints/{checkpoint_id}/rules", response=RulesOut, auth=need(Cap.SCREENING_LEAD))
def put_rules(request: HttpRequest, checkpoint_id: int, payload: RulesIn) -> RulesOut:
    """Set a checkpoint's anti-passback switch and check-out hour (audited)."""
    cp = Checkpoint.objects.filter(pk=checkpoint_id).first()
    if cp is None:
        raise NotFound("sites.unknown_checkpoint", f"No checkpoint {checkpoint_id}.")
    if not in_checkpoint_scope(request.auth, cp):  # type: ignore[attr-defined]
        raise Forbidden("screening.out_of_scope", "This checkpoint is outside your scope.")
    row = occupancy.set_rules(
        cp, anti_passback=payload.anti_passback, auto_checkout_hour=payload.auto_checkout_hour
    )
    return RulesOut(
        checkpoint=cp.code,
        anti_passback=row.anti_passback,
        auto_checkout_hour=row.auto_checkout_hour,
    )


class OccupancyOut(Schema):
    """How many people are inside each zone now, by zone number."""

    event: str
    zones: dict[str, int]


@router.get("/occupancy", response=OccupancyOut, auth=need(Cap.SCREENING_VIEW))
def get_occupancy(request: HttpRequest, event: str | None = None) -> OccupancyOut:
    """Return the live occupancy per zone of the current event (or ``?event=CODE``)."""
    row = Event.objects.filter(code=event).first() if event else sites.current_event()
    if row is None:
        raise NotFound("sites.unknown_event", "No such event.")
    return OccupancyOut(event=row.code, zones=occupancy.occupancy(row.pk))
