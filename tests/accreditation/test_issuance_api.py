"""The credential API: device-token lists, user issue/reissue/cancel, one error format.

The lead mounts the router at ``/api/credentials``; until then these tests skip.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from anbao.accounts import services as accounts
from anbao.accounts.roles import Role
from anbao.accreditation.credentials.keys import load_trust_list
from anbao.accreditation.credentials.revocation import load_revocation_list
from anbao.sites.models import Device
from tests.accreditation.test_issuance import EVENT_TIME, approved, at_event  # noqa: F401


def _mounted() -> bool:
    try:
        resolve("/api/credentials/trust-list")
    except Resolver404:
        return False
    return True


pytestmark = pytest.mark.skipif(not _mounted(), reason="router not mounted at /api/credentials")


@pytest.fixture
def device_token(db) -> str:  # type: ignore[no-untyped-def]
    device = Device.objects.order_by("external_id").first()
    assert device is not None
    code = accounts.start_enrolment(device_id=device.external_id)
    return accounts.redeem_enrolment(device_id=device.external_id, code=code)


def _get(path: str, token: str) -> dict:
    r = Client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.content
    return r.json()


def test_scanner_fetches_root_trust_list_and_revocations(at_event, device_token) -> None:  # noqa: F811
    root = _get("/api/credentials/root-key", device_token)
    trust_out = _get("/api/credentials/trust-list", device_token)
    trust = load_trust_list(
        base64.b64decode(trust_out["data"]), base64.b64decode(root["public_key"])
    )
    assert trust.version == trust_out["version"]
    rl = _get("/api/credentials/revocation-list?since=0", device_token)
    parsed = load_revocation_list(base64.b64decode(rl["data"]), trust, now=EVENT_TIME.timestamp())
    assert parsed.version == rl["version"]


def test_lists_need_a_device_token(client_for) -> None:  # type: ignore[no-untyped-def]
    assert client_for(Role.ADMIN).get("/api/credentials/trust-list").status_code == 401
    assert Client().get("/api/credentials/revocation-list").status_code == 401


def test_officer_issues_reissues_and_cancels(at_event, client_for) -> None:  # noqa: F811
    acc = approved()
    client = client_for(Role.ACCREDITATION_OFFICER)
    base = f"/api/credentials/accreditations/{acc.pk}"
    issued = client.post(f"{base}/issue")
    assert issued.status_code == 200, issued.content
    assert issued.json()["qr_text"].startswith("AB1:")
    again = client.post(f"{base}/issue")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "credentials.already_issued"
    body = json.dumps({"reason": "lost"})
    re = client.post(f"{base}/reissue", data=body, content_type="application/json")
    assert re.status_code == 200
    assert re.json()["cid"] != issued.json()["cid"]
    gone = client.post(f"{base}/cancel", data=body, content_type="application/json")
    assert gone.status_code == 200
    listed = client.get(base).json()
    assert all(c["revoked_at"] for c in listed)


def test_issue_needs_the_edit_capability(at_event, client_for) -> None:  # noqa: F811
    acc = approved()
    r = client_for(Role.CHECKPOINT_OPERATOR).post(f"/api/credentials/accreditations/{acc.pk}/issue")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.forbidden"
