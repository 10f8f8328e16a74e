"""Device API: enrolment with a one-time code, heartbeats, and credential management."""

from __future__ import annotations

from datetime import datetime

import segno
from django.http import HttpRequest
from ninja import Field, Router, Schema

from anbao.accounts import services as accounts
from anbao.accounts.auth import DEVICE_AUTH, need
from anbao.accounts.roles import Cap
from anbao.sites import devices

router = Router(tags=["devices"])

DEVICE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class EnrolIn(Schema):
    """A device's first call: its id and the one-time code from the QR."""

    device_id: str = Field(pattern=DEVICE_ID)
    code: str = Field(min_length=16, max_length=32)


class TokenOut(Schema):
    """A device token, shown once."""

    device_id: str
    token: str


class EnrolmentOut(Schema):
    """A one-time enrolment code, as text and as a QR (SVG)."""

    device_id: str
    code: str
    qr_svg: str
    qr_payload: str


class HeartbeatIn(Schema):
    """A device's periodic sign of life."""

    message_id: str = Field(min_length=1, max_length=100)
    sent_at: datetime


class HeartbeatOut(Schema):
    """The server's answer to a heartbeat, with the device's clock skew."""

    device_id: str
    online: bool
    duplicate: bool
    clock_skew_s: float
    server_time: datetime


class DeviceOut(Schema):
    """The calling device as the server knows it."""

    device_id: str
    name: str
    kind: str
    online: bool
    lane: str | None
    segment: str | None


class OkOut(Schema):
    """A plain acknowledgement."""

    ok: bool


def enrolment_payload(device_id: str, code: str) -> str:
    """Return the text the enrolment QR carries."""
    return f"ANBAO-ENROL:{device_id}:{code}"


@router.post("/enrol", response=TokenOut, auth=None)
def enrol(request: HttpRequest, payload: EnrolIn) -> TokenOut:
    """Exchange a one-time enrolment code for the device's token."""
    token = accounts.redeem_enrolment(device_id=payload.device_id, code=payload.code)
    return TokenOut(device_id=payload.device_id, token=token)


@router.get("/me", response=DeviceOut, auth=DEVICE_AUTH)
def me(request: HttpRequest) -> DeviceOut:
    """Return the device that the token belongs to."""
    device = request.auth  # type: ignore[attr-defined]  # set by DeviceToken
    return DeviceOut(
        device_id=device.external_id,
        name=device.name,
        kind=device.kind,
        online=device.online,
        lane=str(device.lane) if device.lane_id else None,
        segment=device.segment.code if device.segment_id else None,
    )


@router.post("/{device_id}/heartbeat", response=HeartbeatOut, auth=DEVICE_AUTH)
def heartbeat(request: HttpRequest, device_id: str, payload: HeartbeatIn) -> HeartbeatOut:
    """Record a heartbeat from the calling device (its own id only)."""
    device = request.auth  # type: ignore[attr-defined]  # set by DeviceToken
    devices.check_device_scope(device, device_id)
    result = devices.record_heartbeat(
        device=device, message_id=payload.message_id, sent_at=payload.sent_at
    )
    return HeartbeatOut(**result.__dict__)


@router.post("/{device_id}/enrolment", response=EnrolmentOut, auth=need(Cap.DEVICE_MANAGE))
def start_enrolment(request: HttpRequest, device_id: str) -> EnrolmentOut:
    """Issue a one-time enrolment code for a device, with its QR."""
    code = accounts.start_enrolment(device_id=device_id)
    payload = enrolment_payload(device_id, code)
    svg = segno.make(payload, error="m").svg_inline(scale=4)
    return EnrolmentOut(device_id=device_id, code=code, qr_svg=svg, qr_payload=payload)


@router.post("/{device_id}/rotate", response=TokenOut, auth=need(Cap.DEVICE_MANAGE))
def rotate(request: HttpRequest, device_id: str) -> TokenOut:
    """Replace a device's token; the old one stops at once."""
    return TokenOut(device_id=device_id, token=accounts.rotate_device_token(device_id=device_id))


@router.post("/{device_id}/revoke", response=OkOut, auth=need(Cap.DEVICE_MANAGE))
def revoke(request: HttpRequest, device_id: str) -> OkOut:
    """Revoke a device's token."""
    accounts.revoke_device_token(device_id=device_id)
    return OkOut(ok=True)
