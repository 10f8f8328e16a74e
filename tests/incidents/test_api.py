"""The incidents API and pages: the desk's flow, roles, report PDF, CAP XML, the phone page."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from pypdf import PdfReader

from anbao.accounts.roles import Role
from anbao.core.models import AuditEntry
from anbao.incidents import dispatching, services
from anbao.incidents.models import Dispatch, Incident
from tests.incidents.conftest import HERE, raise_alarm

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
BASE = "/api/incidents"


def _post(client: Client, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def desk(event, client_for) -> Client:  # type: ignore[no-untyped-def]
    return client_for(Role.COMMANDER)


def test_the_desk_works_an_incident_through_the_api(event, desk, unit, at_event) -> None:  # type: ignore[no-untyped-def]
    unit("dog-1", 120.4880, 30.7450, kind="canine")
    unit("foot-1", 120.4872, 30.7441)
    alarm = raise_alarm(event, "device:API-1")
    r = _post(desk, BASE, {"type": "suspicious_object", "alarm_ids": [alarm.pk]})
    assert r.status_code == 201, r.content
    inc = r.json()
    assert inc["alarms"][0]["number"] == alarm.number
    assert inc["lon"] == HERE[0]
    iid = inc["id"]
    listed = desk.get(BASE).json()
    assert iid in [row["id"] for row in listed]
    props = desk.get(f"{BASE}/{iid}/proposals").json()
    assert [p["code"] for p in props] == ["foot-1", "dog-1"]
    assert props[1]["preferred"]
    r = _post(desk, f"{BASE}/{iid}/dispatches", {"unit": "dog-1"})
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["link"].startswith("/incidents/unit/")
    r = _post(desk, f"{BASE}/{iid}/dispatches/{d['id']}/state", {"state": "on_scene"})
    assert r.status_code == 200, r.content
    assert desk.get(f"{BASE}/{iid}").json()["state"] == "responding"
    r = _post(desk, f"{BASE}/{iid}/resolve", {})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "incidents.sop_incomplete"
    assert err["problems"][0]["field"].startswith("steps.")
    r = _post(desk, f"{BASE}/{iid}/steps/1/skip", {"comment": ""})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "incidents.comment_required"
    steps = desk.get(f"{BASE}/{iid}").json()["steps"]
    for s in steps:
        if s["mandatory"]:
            r = _post(desk, f"{BASE}/{iid}/steps/{s['order']}/done", {"comment": "ok"})
            assert r.status_code == 200, r.content
    assert _post(desk, f"{BASE}/{iid}/notes", {"text": "owner found"}).status_code == 201
    assert _post(desk, f"{BASE}/{iid}/resolve", {"note": "a forgotten bag"}).status_code == 200
    r = _post(desk, f"{BASE}/{iid}/close", {"disposition": "maybe"})
    assert r.status_code == 422
    r = _post(desk, f"{BASE}/{iid}/close", {"disposition": "false_alarm"})
    assert r.status_code == 200
    assert r.json()["state"] == "closed"
    assert _post(desk, f"{BASE}/{iid}/acknowledge").status_code == 409


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"type": "volcano"}, 422, "incidents.unknown_type"),
        ({"type": "other", "lon": 500, "lat": 30}, 422, "incidents.bad_position"),
        ({"type": "other", "lat": 30}, 422, "incidents.bad_position"),
        ({"type": "other", "priority": 0}, 422, "request.invalid"),
        ({}, 422, "request.invalid"),
        ({"type": "other", "alarm_ids": ["x"]}, 422, "request.invalid"),
    ],
)
def test_bad_open_requests(desk, body, status, code) -> None:  # type: ignore[no-untyped-def]
    r = _post(desk, BASE, body)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code


def test_roles(event, client_for, commander) -> None:  # type: ignore[no-untyped-def]
    inc = services.open_incident(event=event, type_code="other", user=commander)
    police = client_for(Role.POLICE_LIAISON)
    assert police.get(f"{BASE}/{inc.pk}").status_code == 200
    assert _post(police, BASE, {"type": "other"}).status_code == 403
    assert _post(police, f"{BASE}/{inc.pk}/acknowledge").status_code == 403
    # A checkpoint leader reads incidents (and the notices of skipped steps) but cannot act.
    leader = client_for(Role.CHECKPOINT_LEADER)
    assert leader.get(BASE).status_code == 200
    assert _post(leader, f"{BASE}/{inc.pk}/acknowledge").status_code == 403
    operator = client_for(Role.CHECKPOINT_OPERATOR)
    assert operator.get(BASE).status_code == 403
    assert Client().get(BASE).status_code == 401
    assert police.get("/incidents/").status_code == 200
    assert operator.get("/incidents/").status_code == 403
    assert police.post(f"/incidents/{inc.pk}/acknowledge/").status_code == 403
    inc.refresh_from_db()
    assert inc.state == "open"


def test_report_pdf_reads_back(event, desk, commander, unit) -> None:  # type: ignore[no-untyped-def]
    unit("med-1", 120.4880, 30.7450, kind="medical")
    inc = services.open_incident(
        event=event,
        type_code="medical",
        title="Visitor fainted",
        lon=HERE[0],
        lat=HERE[1],
        user=commander,
    )
    dispatching.dispatch(incident_id=inc.pk, unit_code="med-1", user=commander)
    services.skip_step(incident_id=inc.pk, order=3, user=commander, comment="ambulance not needed")
    r = desk.get(f"{BASE}/{inc.pk}/report.pdf")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    for needle in (
        "Incident report",
        "事件报告",
        f"#{inc.number}",
        "Visitor fainted",
        "Medical emergency",
        "医疗救护",
        "Standard procedure",
        "Dispatch the first-aid team",
        "ambulance not needed",
        "med-1",
        "Timeline",
    ):
        assert needle in text, needle
    assert AuditEntry.objects.filter(action="read:incident_report", object_id=str(inc.pk)).exists()
    assert desk.get(f"{BASE}/999999/report.pdf").status_code == 404


def test_cap_xml(event, desk, commander) -> None:  # type: ignore[no-untyped-def]
    inc = services.open_incident(
        event=event, type_code="drone", lon=HERE[0], lat=HERE[1], user=commander
    )
    r = desk.get(f"{BASE}/{inc.pk}/cap")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/cap+xml")
    root = ET.fromstring(r.content)  # noqa: S314 -- our own output, not untrusted input
    assert root.tag == f"{CAP}alert"
    assert root.findtext(f"{CAP}identifier") == f"anbao-wic2026-incident-{inc.number}"
    assert root.findtext(f"{CAP}msgType") == "Alert"
    infos = root.findall(f"{CAP}info")
    assert [i.findtext(f"{CAP}language") for i in infos] == ["zh-CN", "en-US"]
    assert infos[1].findtext(f"{CAP}event") == "Drone incursion"
    assert infos[1].findtext(f"{CAP}severity") == "Extreme"
    circle = infos[0].find(f"{CAP}area/{CAP}circle")
    assert circle is not None
    lat, lon = circle.text.split(" ")[0].split(",")  # type: ignore[union-attr]
    assert (float(lon), float(lat)) == pytest.approx(HERE)
    for s in inc.steps.filter(mandatory=True):
        services.complete_step(incident_id=inc.pk, order=s.order, user=commander)
    services.resolve(incident_id=inc.pk, user=commander)
    again = desk.get(f"{BASE}/{inc.pk}/cap").content
    root = ET.fromstring(again)  # noqa: S314 -- our own output, not untrusted input
    assert root.findtext(f"{CAP}msgType") == "Update"
    assert root.find(f"{CAP}references") is not None
    assert root.find(f"{CAP}info/{CAP}responseType").text == "AllClear"  # type: ignore[union-attr]


def test_phone_page_moves_the_unit_and_refuses_forged_links(event, commander, unit) -> None:  # type: ignore[no-untyped-def]
    u = unit("foot-9", 120.4880, 30.7450)
    inc = services.open_incident(
        event=event, type_code="intrusion", lon=HERE[0], lat=HERE[1], user=commander
    )
    d = dispatching.dispatch(incident_id=inc.pk, unit_code="foot-9", user=commander)
    token = dispatching.link_token(d)
    phone = Client()
    page = phone.get(f"/incidents/unit/{token}/")
    assert page.status_code == 200
    assert b"unit-accepted" in page.content
    assert b"unit-cancelled" not in page.content  # recalling is the desk's decision
    for state in ("accepted", "en_route", "on_scene"):
        r = phone.post(f"/incidents/unit/{token}/", {"state": state})
        assert r.status_code == 302
    d.refresh_from_db()
    u.refresh_from_db()
    inc.refresh_from_db()
    assert d.state == "on_scene"
    assert u.state == "on_scene"
    assert inc.state == "responding"
    assert (
        AuditEntry.objects.filter(action="incident.unit_state", actor_label="unit:foot-9").count()
        == 3
    )
    r = phone.post(f"/incidents/unit/{token}/", {"state": "cancelled"})
    assert r.status_code == 200
    d.refresh_from_db()
    assert d.state == "on_scene"
    r = phone.post(f"/incidents/unit/{token}/", {"state": "done"})
    assert r.status_code == 302
    assert Dispatch.objects.get(pk=d.pk).state == "done"
    assert b'id="task-finished"' in phone.get(f"/incidents/unit/{token}/").content
    for forged in (token[:-3] + "abc", "not-a-token"):
        r = phone.get(f"/incidents/unit/{forged}/")
        assert r.status_code == 403
        r = phone.post(f"/incidents/unit/{forged}/", {"state": "done"})
        assert r.status_code == 403


def test_pages_render_and_act(event, desk, commander, unit) -> None:  # type: ignore[no-untyped-def]
    unit("foot-2", 120.4880, 30.7450)
    r = desk.post(
        "/incidents/new/",
        {"type": "crowd", "title": "Queue at gate", "lon": str(HERE[0]), "lat": str(HERE[1])},
    )
    assert r.status_code == 302
    inc = Incident.objects.get(title="Queue at gate")
    page = desk.get(f"/incidents/{inc.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "sop-list" in body
    assert "foot-2" in body  # proposed
    assert desk.get("/incidents/").status_code == 200
    live = desk.get("/incidents/live/").content.decode()
    assert f'data-incident="{inc.number}"' in live
    desk.post(f"/incidents/{inc.pk}/dispatch/", {"unit": "foot-2"})
    assert inc.dispatches.filter(unit__code="foot-2").exists()
    desk.post(f"/incidents/{inc.pk}/step_skip/", {"order": "1", "comment": ""})
    assert inc.steps.get(order=1).status == "pending"
    desk.post(f"/incidents/{inc.pk}/step_skip/", {"order": "1", "comment": "camera down"})
    assert inc.steps.get(order=1).status == "skipped"
    r = desk.post(f"/incidents/{inc.pk}/resolve/", {})
    inc.refresh_from_db()
    assert inc.state != "resolved"
    assert desk.post("/incidents/new/", {"type": "crowd", "lon": "east"}).status_code == 302
    assert desk.get("/incidents/99999/").status_code == 404
    assert "/incidents/unit/" in desk.get(f"/incidents/{inc.pk}/").content.decode()


def test_alarm_console_opens_and_attaches(event, desk, commander) -> None:  # type: ignore[no-untyped-def]
    a1 = raise_alarm(event, "device:CON-1")
    a2 = raise_alarm(event, "device:CON-2")
    live = desk.get("/alarms/live/").content.decode()
    assert f'data-open-incident="{a1.pk}"' in live
    r = desk.post(
        "/incidents/new/", {"type": "intrusion", "alarm_id": str(a1.pk), "back": "/alarms/"}
    )
    assert r.status_code == 302
    inc = Incident.objects.get(alarm_links__alarm=a1)
    live = desk.get("/alarms/live/").content.decode()
    assert f'data-attach-incident="{a2.pk}"' in live
    r = desk.post(
        "/incidents/attach/", {"incident": str(inc.pk), "alarm_id": str(a2.pk), "back": "/alarms/"}
    )
    assert r.status_code == 302
    assert r["Location"] == "/alarms/"
    assert inc.alarm_links.count() == 2
    live = desk.get("/alarms/live/").content.decode()
    assert f"#{inc.number}</a>" in live
    r = desk.post("/incidents/attach/", {"incident": "x", "alarm_id": str(a2.pk), "back": "//evil"})
    assert r["Location"] == "/incidents/"
    police = Client()
    police.force_login(
        commander.__class__.objects.create_user(username="pl", role=Role.POLICE_LIAISON)
    )
    assert "data-open-incident" not in police.get("/alarms/live/").content.decode()


def test_notices_reach_the_supervisor_role_only(event, client_for, commander) -> None:  # type: ignore[no-untyped-def]
    inc = services.open_incident(event=event, type_code="prohibited_item", user=commander)
    services.skip_step(incident_id=inc.pk, order=1, user=commander, comment="item thrown away")
    leader = client_for(Role.CHECKPOINT_LEADER)
    police = client_for(Role.POLICE_LIAISON)
    # The prohibited-item procedure's supervisor is the checkpoint leader: the notice is theirs.
    (mine,) = leader.get(f"{BASE}/notices").json()
    assert "item thrown away" in mine["text"]
    assert police.get(f"{BASE}/notices").json() == []
    admin = client_for(Role.ADMIN)
    (notice,) = admin.get(f"{BASE}/notices").json()
    assert notice["role"] == "checkpoint_leader"
    assert "item thrown away" in notice["text"]
    assert _post(police, f"{BASE}/notices/{notice['id']}/read").status_code == 403
    page = admin.get("/incidents/").content.decode()
    assert f'data-notice="{notice["id"]}"' in page
    assert admin.post(f"/incidents/notices/{notice['id']}/read/").status_code == 302
    assert admin.get(f"{BASE}/notices").json() == []
