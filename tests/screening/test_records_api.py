"""The screening records API: roles, payloads, uploads, receipts and returns over HTTP."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
from django.urls import path
from ninja import NinjaAPI
from PIL import Image

from anbao.accounts.roles import Role
from anbao.api import api as main_api
from anbao.core.models import AuditEntry
from anbao.screening.models.records import Seizure
from anbao.screening.records_api import router
from anbao.sites.models import Lane

# The lead mounts the router at /api/screening; here it is mounted on a private API that
# shares the main API's error handlers, so these tests run before and after that.
_api = NinjaAPI(urls_namespace="screening-records-test", docs_url=None)
_api._exception_handlers = dict(main_api._exception_handlers)
_api.add_router("/screening", router)
urlpatterns = [path("api/", _api.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
BASE = "/api/screening"


def _place() -> tuple[str, str]:
    lane = Lane.objects.select_related("checkpoint").order_by("checkpoint__code", "code").first()
    assert lane is not None
    return lane.checkpoint.code, lane.code


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 200, 10)).save(out, format="PNG")
    return out.getvalue()


def _code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_taxonomy_lists_ten_common_first(client_for) -> None:  # type: ignore[no-untyped-def]
    r = client_for(Role.CHECKPOINT_OPERATOR).get(f"{BASE}/taxonomy")
    assert r.status_code == 200
    body = r.json()
    assert len(body["common"]) == 10
    assert body["common"][0]["zh"] == "打火机"
    assert [c["mark"] for c in body["classes"]] == ["禁", "限"]


def test_record_a_screening(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    c = client_for(Role.CHECKPOINT_OPERATOR)
    payload = {
        "checkpoint": cp,
        "lane": lane,
        "subject": "person",
        "method": "pat_down",
        "outcome": "alarm_resolved",
        "searcher_gender": "male",
    }
    r = c.post(f"{BASE}/screenings", payload, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["lane"] == lane
    assert r.json()["checkpoint"] == cp


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (
            {"subject": "person", "method": "pat_down", "outcome": "clear"},
            422,
            "screening.searcher_gender_required",
        ),
        ({"subject": "bag", "method": "xray"}, 422, "request.invalid"),
        (
            {"subject": "bag", "method": "xray", "outcome": "clear", "lane": "nope"},
            404,
            "screening.unknown_lane",
        ),
        (
            {"subject": "bag", "method": "xray", "outcome": "clear", "checkpoint": "nope"},
            404,
            "sites.unknown_checkpoint",
        ),
    ],
)
def test_bad_screening_payloads_get_coded_4xx(client_for, payload, status, code) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    body = {"checkpoint": cp, "lane": lane, **payload}
    r = client_for(Role.CHECKPOINT_OPERATOR).post(
        f"{BASE}/screenings", body, content_type="application/json"
    )
    assert r.status_code == status, r.content
    if code != "request.invalid":
        assert _code(r) == code
    else:
        assert _code(r)


def test_malformed_json_gets_a_code(client_for) -> None:  # type: ignore[no-untyped-def]
    r = client_for(Role.CHECKPOINT_OPERATOR).post(
        f"{BASE}/screenings", "{nope", content_type="application/json"
    )
    assert 400 <= r.status_code < 500
    assert _code(r)


def test_seizure_with_photo_then_receipt_then_return(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    c = client_for(Role.CHECKPOINT_OPERATOR)
    photo = io.BytesIO(_png())
    photo.name = "lighter.png"
    r = c.post(
        f"{BASE}/seizures",
        {"checkpoint": cp, "lane": lane, "item": "lighter", "quantity": "2", "photo": photo},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["has_photo"]
    shown = c.get(f"{BASE}/seizures/{body['id']}/photo")
    assert shown.status_code == 200
    assert shown.content[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb")
    assert shown["Cache-Control"] == "private, no-store"
    assert AuditEntry.objects.filter(action="read:seizure_photo").exists()
    assert body["disposition"] == "deposited"
    assert body["status"] == "held"
    ticket = body["ticket"]
    for width in (58, 80):
        pdf = c.get(f"{BASE}/deposits/{ticket}/receipt.pdf", {"width": width})
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert ticket in text
        assert "打火机" in text
    bad = c.get(f"{BASE}/deposits/{ticket}/receipt.pdf", {"width": 100})
    assert bad.status_code == 422
    assert _code(bad) == "screening.bad_width"
    back = c.post(
        f"{BASE}/deposits/{ticket}/return", {"checkpoint": cp}, content_type="application/json"
    )
    assert back.status_code == 200
    assert back.json()["status"] == "returned"
    again = c.post(
        f"{BASE}/deposits/{ticket}/return", {"checkpoint": cp}, content_type="application/json"
    )
    assert again.status_code == 409
    assert _code(again) == "screening.already_returned"
    unknown = c.post(
        f"{BASE}/deposits/DZZZZ/return", {"checkpoint": cp}, content_type="application/json"
    )
    assert unknown.status_code == 404
    assert _code(unknown) == "screening.unknown_ticket"


def test_seizure_linked_to_a_screening(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, _lane = _place()
    c = client_for(Role.CHECKPOINT_OPERATOR)
    payload = {"checkpoint": cp, "subject": "bag", "method": "xray", "outcome": "item_found"}
    sid = c.post(f"{BASE}/screenings", payload, content_type="application/json").json()["id"]
    r = c.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "lighter", "screening_id": sid})
    assert r.status_code == 201
    assert r.json()["screening_id"] == sid
    r = c.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "lighter", "screening_id": 999999})
    assert r.status_code == 404
    assert _code(r) == "screening.unknown_screening"


def test_bad_photo_upload_is_refused(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, _ = _place()
    photo = io.BytesIO(b"%PDF-1.4 not a photo")
    photo.name = "x.jpg"
    r = client_for(Role.CHECKPOINT_OPERATOR).post(
        f"{BASE}/seizures", {"checkpoint": cp, "item": "drone", "photo": photo}
    )
    assert r.status_code == 422
    assert _code(r) == "screening.photo_invalid"
    assert not Seizure.objects.exists()


def test_police_case_rule_over_http(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, _ = _place()
    c = client_for(Role.CHECKPOINT_LEADER)
    r = c.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "firearm"})
    assert r.status_code == 422
    assert _code(r) == "screening.police_case_required"
    r = c.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "firearm", "police_case": "C-9"})
    assert r.status_code == 201
    assert r.json()["police_case"] == "C-9"
    sid = r.json()["id"]
    r = c.post(
        f"{BASE}/seizures/{sid}/disposition",
        {"disposition": "confiscated"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["police_case"] == ""


def test_list_seizures_with_filters(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, _ = _place()
    c = client_for(Role.CHECKPOINT_OPERATOR)
    c.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "lighter"})
    c.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "folding_knife"})
    r = c.get(f"{BASE}/seizures", {"checkpoint": cp, "class": "prohibited"})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["item_code"] for i in items] == ["folding_knife"]
    bad = c.get(f"{BASE}/seizures", {"class": "banned"})
    assert bad.status_code == 422
    assert _code(bad) == "screening.unknown_class"
    bad_day = c.get(f"{BASE}/seizures", {"day": "yesterday"})
    assert bad_day.status_code == 422


def test_roles(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, _lane = _place()
    payload = {"checkpoint": cp, "subject": "bag", "method": "xray", "outcome": "clear"}
    planner = client_for(Role.PLANNER)
    r = planner.post(f"{BASE}/screenings", payload, content_type="application/json")
    assert r.status_code == 403
    r = planner.post(f"{BASE}/seizures", {"checkpoint": cp, "item": "lighter"})
    assert r.status_code == 403
    police = client_for(Role.POLICE_LIAISON)
    assert police.get(f"{BASE}/seizures").status_code == 200
    assert police.get(f"{BASE}/taxonomy").status_code == 200
    r = police.post(f"{BASE}/screenings", payload, content_type="application/json")
    assert r.status_code == 403
    r = police.post(
        f"{BASE}/deposits/DXXXX/return", {"checkpoint": cp}, content_type="application/json"
    )
    assert r.status_code == 403
    roster = client_for(Role.ROSTER_MANAGER)
    assert roster.get(f"{BASE}/seizures").status_code == 403
    from django.test import Client

    assert Client().get(f"{BASE}/taxonomy").status_code == 401


def test_a_seizure_without_photo_says_so(client_for) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    c = client_for(Role.CHECKPOINT_OPERATOR)
    r = c.post(f"{BASE}/seizures", {"checkpoint": cp, "lane": lane, "item": "lighter"})
    assert r.status_code == 201, r.content
    none = c.get(f"{BASE}/seizures/{r.json()['id']}/photo")
    assert (none.status_code, _code(none)) == (404, "screening.no_photo")
    missing = c.get(f"{BASE}/seizures/999999/photo")
    assert (missing.status_code, _code(missing)) == (404, "screening.unknown_seizure")
