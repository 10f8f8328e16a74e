"""Device enrolment by one-time code, token scope, rotation and revocation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client

from anbao.accounts import services
from anbao.accounts.models import DeviceCredential
from anbao.core import clock
from anbao.core.models import AuditEntry
from anbao.sites.models import Device


def _two_devices() -> tuple[Device, Device]:
    first, second = Device.objects.order_by("external_id")[:2]
    return first, second


def _enrol(client: Client, device: Device) -> str:
    code = services.start_enrolment(device_id=device.external_id)
    r = client.post(
        "/api/devices/enrol",
        data=json.dumps({"device_id": device.external_id, "code": code}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    return r.json()["token"]


def _heartbeat(client: Client, device_id: str, token: str, message_id: str = "m1") -> HttpResponse:
    return client.post(
        f"/api/devices/{device_id}/heartbeat",
        data=json.dumps({"message_id": message_id, "sent_at": clock.now().isoformat()}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.django_db
def test_enrolment_code_works_once(client) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    code = services.start_enrolment(device_id=device.external_id)
    body = json.dumps({"device_id": device.external_id, "code": code})
    first = client.post("/api/devices/enrol", data=body, content_type="application/json")
    second = client.post("/api/devices/enrol", data=body, content_type="application/json")
    assert first.status_code == 200
    assert first.json()["token"].startswith("abd_")
    assert second.status_code == 403
    assert second.json()["error"]["code"] == "accounts.enrolment_invalid"


@pytest.mark.django_db
def test_enrolment_code_expires(client) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    code = services.start_enrolment(device_id=device.external_id)
    DeviceCredential.objects.filter(device=device).update(
        enrolment_expires_at=clock.now() - timedelta(seconds=1)
    )
    r = client.post(
        "/api/devices/enrol",
        data=json.dumps({"device_id": device.external_id, "code": code}),
        content_type="application/json",
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "accounts.enrolment_expired"


@pytest.mark.django_db
def test_enrolment_code_of_another_device_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    device, other = _two_devices()
    code = services.start_enrolment(device_id=device.external_id)
    r = client.post(
        "/api/devices/enrol",
        data=json.dumps({"device_id": other.external_id, "code": code}),
        content_type="application/json",
    )
    assert r.status_code == 403


@pytest.mark.django_db
def test_device_token_drives_heartbeat_and_replay_changes_nothing(client) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    Device.objects.filter(pk=device.pk).update(online=False)
    token = _enrol(client, device)
    r = _heartbeat(client, device.external_id, token)
    assert r.status_code == 200, r.content
    assert r.json()["duplicate"] is False
    device.refresh_from_db()
    assert device.online is True
    seen_at = device.last_seen
    replay = _heartbeat(client, device.external_id, token)
    assert replay.json()["duplicate"] is True
    device.refresh_from_db()
    assert device.last_seen == seen_at


@pytest.mark.django_db
def test_device_token_for_another_device_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    device, other = _two_devices()
    token = _enrol(client, device)
    r = _heartbeat(client, other.external_id, token)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.device_mismatch"


@pytest.mark.django_db
def test_device_token_on_user_endpoint_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    token = _enrol(client, device)
    r = client.get("/api/sites/checkpoints", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.device_token_not_allowed"


@pytest.mark.django_db
def test_user_token_on_device_endpoint_is_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    user = make_user("admin")
    token = services.issue_api_token(user=user, name="t")
    r = _heartbeat(client, device.external_id, token)
    assert r.status_code == 401


@pytest.mark.django_db
def test_rotation_kills_the_old_token(client) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    old = _enrol(client, device)
    new = services.rotate_device_token(device_id=device.external_id)
    assert _heartbeat(client, device.external_id, old, "a").status_code == 401
    assert _heartbeat(client, device.external_id, new, "b").status_code == 200
    assert AuditEntry.objects.filter(action="accounts.device_token_rotated").exists()


@pytest.mark.django_db
def test_revocation_kills_the_token(client) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    token = _enrol(client, device)
    services.revoke_device_token(device_id=device.external_id)
    assert _heartbeat(client, device.external_id, token).status_code == 401


@pytest.mark.django_db
def test_rotate_without_enrolment_is_a_domain_error(client_for) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    r = client_for("admin").post(f"/api/devices/{device.external_id}/rotate")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "accounts.device_not_enrolled"


@pytest.mark.django_db
def test_enrolment_api_returns_a_qr(client_for) -> None:  # type: ignore[no-untyped-def]
    device, _ = _two_devices()
    r = client_for("admin").post(f"/api/devices/{device.external_id}/enrolment")
    assert r.status_code == 200
    body = r.json()
    assert body["qr_svg"].startswith("<svg")
    assert body["qr_payload"] == f"ANBAO-ENROL:{device.external_id}:{body['code']}"


@pytest.mark.django_db
def test_unknown_device_enrolment_is_404(client_for) -> None:  # type: ignore[no-untyped-def]
    r = client_for("admin").post("/api/devices/NOPE-1/enrolment")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "sites.unknown_device"
