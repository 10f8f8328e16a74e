"""The device credential page: a one-time QR for enrolment, revocation, and its guard."""

from __future__ import annotations

import pytest

from anbao.accounts.models import DeviceCredential
from anbao.accounts.roles import Role
from anbao.sites.models import Device


@pytest.mark.django_db
def test_admin_issues_enrolment_qr_and_revokes(client_for) -> None:  # type: ignore[no-untyped-def]
    device = Device.objects.order_by("external_id").first()
    assert device is not None
    client = client_for(Role.ADMIN)
    url = f"/sites/devices/{device.external_id}/credential/"
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="enrolment"' not in page.content
    issued = client.post(url, {"action": "enrol"})
    assert issued.status_code == 200
    assert b"<svg" in issued.content
    assert DeviceCredential.objects.get(device=device).enrolment_digest
    revoked = client.post(url, {"action": "revoke"})
    assert revoked.status_code == 200
    assert DeviceCredential.objects.get(device=device).revoked_at is not None


@pytest.mark.django_db
def test_unknown_device_and_bad_action(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ADMIN)
    assert client.get("/sites/devices/NOPE/credential/").status_code == 404
    device = Device.objects.order_by("external_id").first()
    assert device is not None
    r = client.post(f"/sites/devices/{device.external_id}/credential/", {"action": "explode"})
    assert r.status_code == 200
    assert b"credential-error" in r.content


@pytest.mark.django_db
def test_commander_may_not_manage_credentials(client_for) -> None:  # type: ignore[no-untyped-def]
    device = Device.objects.order_by("external_id").first()
    assert device is not None
    r = client_for(Role.COMMANDER).post(
        f"/sites/devices/{device.external_id}/credential/", {"action": "enrol"}
    )
    assert r.status_code == 403
    assert not DeviceCredential.objects.filter(device=device).exists()
