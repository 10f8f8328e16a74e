"""The workforce API: import through HTTP, demand, reserves, equipment, commendations."""

from __future__ import annotations

from anbao.accounts.roles import Role
from anbao.core.models import AuditEntry
from anbao.workforce.models import Guard, ReserveUnit
from tests.workforce.conftest import HEADER, roll_csv


def test_import_over_http_reports_rows_and_fields(event, client_for) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    roster = client_for(Role.ROSTER_MANAGER)
    bad = (HEADER + "B1,x,y,M,,e,licence;flying,none,,\n").encode()
    r = roster.post("/api/workforce/guards/import", {"file": SimpleUploadedFile("g.csv", bad)})
    assert r.status_code == 422
    problem = r.json()["error"]["problems"][0]
    assert (problem["field"], problem["code"]) == ("skills", "unknown_skill")
    assert "row 2" in problem.get("location", "") + problem["message"]
    ok = roster.post(
        "/api/workforce/guards/import", {"file": SimpleUploadedFile("g.csv", roll_csv(3))}
    )
    assert ok.status_code == 200
    assert ok.json()["created"] == 3
    leader = client_for(Role.CHECKPOINT_LEADER)
    denied = leader.post(
        "/api/workforce/guards/import", {"file": SimpleUploadedFile("g.csv", roll_csv(3))}
    )
    assert denied.status_code == 403
    listed = leader.get("/api/workforce/guards?q=W00").json()["items"]
    assert {g["employee_no"] for g in listed} == {"W000", "W001", "W002"}
    assert all("*" in g["phone"] for g in listed)  # masked
    phone = roster.get("/api/workforce/guards/W001/phone")
    assert phone.json()["phone"] == "13900000001"
    assert leader.get("/api/workforce/guards/W001/phone").status_code == 403
    assert AuditEntry.objects.filter(action="read:guard.phone").count() == 1


def test_shifts_seats_and_overrides_over_http(workforce, client_for) -> None:  # type: ignore[no-untyped-def]
    roster = client_for(Role.ROSTER_MANAGER)
    r = roster.post(
        "/api/workforce/shifts/generate",
        {"template": "3x8", "first": "2026-11-10", "last": "2026-11-10"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["shifts"] == 3
    bad = roster.post(
        "/api/workforce/shifts/generate",
        {"template": "4x6", "first": "2026-11-10", "last": "2026-11-10"},
        content_type="application/json",
    )
    assert bad.status_code == 404
    assert bad.json()["error"]["problems"][0]["field"] == "template"
    seats = roster.get("/api/workforce/seats?day=2026-11-10").json()
    assert any(s["skill"] == "xray" for s in seats)
    body = {
        "post": "wicc-n-l1",
        "skill": "search",
        "count": 4,
        "start": "2026-11-10T06:00:00+08:00",
        "end": "2026-11-10T14:00:00+08:00",
        "reason": "delegation",
    }
    assert (
        roster.post("/api/workforce/overrides", body, content_type="application/json").status_code
        == 201
    )
    wrong = roster.post(
        "/api/workforce/overrides", {**body, "post": "nowhere"}, content_type="application/json"
    )
    assert wrong.status_code == 404


def test_reserves_nearest_and_dispatch_over_http(workforce, client_for) -> None:  # type: ignore[no-untyped-def]
    ReserveUnit.objects.create(
        event=workforce, code="r1", name="一队", kind="foot", lon=120.487, lat=30.744
    )
    commander = client_for(Role.COMMANDER)
    near = commander.get("/api/workforce/reserves/nearest?lon=120.49&lat=30.74").json()
    assert near[0]["code"] == "r1"
    assert near[0]["distance_km"] > 0
    assert commander.get("/api/workforce/reserves/nearest?lon=999&lat=0").status_code == 422
    assert (
        commander.post(
            "/api/workforce/reserves/r1/state",
            {"state": "dispatched", "task": "x"},
            content_type="application/json",
        ).status_code
        == 403
    )
    roster = client_for(Role.ROSTER_MANAGER)
    r = roster.post(
        "/api/workforce/reserves/r1/state",
        {"state": "dispatched", "task": "crowd"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["state"] == "dispatched"
    skip = roster.post(
        "/api/workforce/reserves/r1/state", {"state": "off_duty"}, content_type="application/json"
    )
    assert skip.status_code == 409


def test_equipment_and_commendations_over_http(workforce, client_for) -> None:  # type: ignore[no-untyped-def]
    roster = client_for(Role.ROSTER_MANAGER)
    assert (
        roster.post(
            "/api/workforce/equipment",
            {"asset_no": "XR-9", "kind": "xray"},
            content_type="application/json",
        ).status_code
        == 201
    )
    assert (
        roster.post(
            "/api/workforce/equipment",
            {"asset_no": "XR-8", "kind": "toaster"},
            content_type="application/json",
        ).status_code
        == 422
    )
    r = roster.post(
        "/api/workforce/equipment/XR-9/assign",
        {"checkpoint": "wicc-n", "lane": "l2"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["lane"] == "wicc-n/l2"
    leader = client_for(Role.CHECKPOINT_LEADER)
    f = leader.post(
        "/api/workforce/equipment/XR-9/status",
        {"status": "fault", "note": "no image"},
        content_type="application/json",
    )
    assert f.status_code == 200
    assert f.json()["status"] == "fault"
    lane = leader.get("/api/screening/lanes/wicc-n/l2/equipment")
    assert lane.status_code == 200
    assert any(e["label"] == "XR-9" and e["status"] == "fault" for e in lane.json())
    g = Guard.objects.first()
    assert g is not None
    c = leader.post(
        "/api/workforce/commendations",
        {
            "guard": g.employee_no,
            "what": "helped a lost child",
            "when": "2026-11-09T09:00:00+08:00",
            "where": "wicc-n",
        },
        content_type="application/json",
    )
    assert c.status_code == 201
    assert c.json()["guard"] == g.employee_no
    assert [x["what"] for x in leader.get("/api/workforce/commendations").json()] == [
        "helped a lost child"
    ]


def test_hours_refuse_a_bad_range(workforce, client_for) -> None:  # type: ignore[no-untyped-def]
    roster = client_for(Role.ROSTER_MANAGER)
    for first, last in [
        ("2026-11-10", "2026-11-09"),
        ("0001-01-01", "9999-12-31"),
        ("2026-01-01", "2028-01-01"),
    ]:
        r = roster.get(f"/api/workforce/duty/hours?first={first}&last={last}")
        assert r.status_code == 422, (first, last)
    ok = roster.get("/api/workforce/duty/hours?first=2026-11-09&last=2026-11-09&by=post")
    assert ok.status_code == 200
    assert (
        roster.get("/api/workforce/duty/hours?first=2026-11-09&last=2026-11-09&by=x").status_code
        == 422
    )
