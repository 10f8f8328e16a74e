"""The alarms API: console actions, configuration, statistics, drones, the device route."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client

from anbao.accounts import services as accounts
from anbao.accounts.models import DeviceCredential
from anbao.accounts.roles import Role
from anbao.alarms import mosquitto, services
from anbao.alarms.models import Alarm, DeadLetter, DroneAction, DroneTrack, SensorEvent
from anbao.core.models import AuditEntry
from anbao.sites.models import AlarmSection, PerimeterSegment

CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"


def device_client(device_id: str) -> tuple[Client, str]:
    token = accounts.redeem_enrolment(
        device_id=device_id, code=accounts.start_enrolment(device_id=device_id)
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}"), token


@pytest.fixture
def raised(night, event):  # type: ignore[no-untyped-def]
    segment = PerimeterSegment.objects.get(event=event, code="canal-n")
    section = AlarmSection.objects.get(segment=segment, code="s2")
    return services.trigger(
        event=event,
        source_type="intrusion",
        source_key="section:canal-n/s2",
        at=night.now(),
        segment=segment,
        section=section,
        lon=120.4990,
        lat=30.7540,
        details={"confirmed": True},
    ).alarm


def test_console_list_ack_take_note_close(night, event, raised, client_for):  # type: ignore[no-untyped-def]
    commander = client_for(Role.COMMANDER)
    rows = commander.get("/api/alarms/alarms").json()
    assert [r["number"] for r in rows] == [raised.number]
    assert rows[0]["condition"] == "active"
    assert rows[0]["title"].startswith("周界入侵")
    refused = commander.post(
        f"/api/alarms/alarms/{raised.pk}/acknowledge", {}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "alarms.source_active"
    forced = commander.post(
        f"/api/alarms/alarms/{raised.pk}/acknowledge",
        {"force": True, "note": "patrol dispatched"},
        content_type="application/json",
    )
    assert forced.status_code == 200
    assert forced.json()["workflow"] == "acknowledged"
    assert commander.post(f"/api/alarms/alarms/{raised.pk}/take").json()["owner"]
    note = commander.post(
        f"/api/alarms/alarms/{raised.pk}/notes", {"text": "on the bank"}, "application/json"
    )
    assert note.status_code == 201
    bad = commander.post(
        f"/api/alarms/alarms/{raised.pk}/close", {"disposition": "maybe"}, "application/json"
    )
    assert bad.status_code == 422
    services.clear(
        event=event, source_type="intrusion", source_key="section:canal-n/s2", at=night.now()
    )
    closed = commander.post(
        f"/api/alarms/alarms/{raised.pk}/close", {"disposition": "real"}, "application/json"
    )
    assert closed.status_code == 200
    assert closed.json()["disposition"] == "real"
    assert commander.get("/api/alarms/alarms").json() == []
    detail = commander.get(f"/api/alarms/alarms/{raised.pk}").json()
    assert [e["action"] for e in detail["entries"]] == [
        "raised",
        "forced_ack",
        "owned",
        "note",
        "cleared",
        "closed",
    ]
    assert AuditEntry.objects.filter(action="alarm.forced_ack").exists()


def test_detail_offers_the_cameras_with_pan_and_tilt(night, raised, client_for):  # type: ignore[no-untyped-def]
    detail = client_for(Role.COMMANDER).get(f"/api/alarms/alarms/{raised.pk}").json()
    assert detail["cameras"], "no camera covers the canal bank"
    best = detail["cameras"][0]
    assert best["kind"] == "ptz"
    assert best["tilt_deg"] < 0
    assert -180 < best["pan_deg"] <= 180


def test_alarm_as_cap(night, raised, client_for):  # type: ignore[no-untyped-def]
    response = client_for(Role.POLICE_LIAISON).get(f"/api/alarms/alarms/{raised.pk}/cap")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/cap+xml")
    root = ET.fromstring(response.content)  # noqa: S314 -- our own output
    assert root.tag == f"{CAP_NS}alert"
    assert root.findtext(f"{CAP_NS}identifier") == f"anbao-wic2026-alarm-{raised.number}"
    infos = root.findall(f"{CAP_NS}info")
    assert [i.findtext(f"{CAP_NS}language") for i in infos] == ["zh-CN", "en-US"]
    assert infos[1].findtext(f"{CAP_NS}certainty") == "Observed"
    circle = infos[0].find(f"{CAP_NS}area/{CAP_NS}circle")
    assert circle is not None
    assert circle.text is not None
    assert circle.text.startswith("30.754")


def test_police_liaison_reads_but_cannot_act(night, raised, client_for):  # type: ignore[no-untyped-def]
    police = client_for(Role.POLICE_LIAISON)
    assert police.get("/api/alarms/alarms").status_code == 200
    response = police.post(f"/api/alarms/alarms/{raised.pk}/take")
    assert response.status_code == 403
    assert Alarm.objects.get(pk=raised.pk).owner_id is None


def test_definitions_overrides_walk_tests_over_the_api(night, event, client_for):  # type: ignore[no-untyped-def]
    commander = client_for(Role.COMMANDER)
    defs = commander.get("/api/alarms/definitions").json()
    assert {d["source_type"] for d in defs} >= {"intrusion", "fence_cut", "drone", "panic"}
    changed = commander.put(
        "/api/alarms/definitions",
        {
            "source_type": "intrusion",
            "segment_code": "canal-s",
            "priority": 1,
            "colour": "#ff0000",
            "sound": "siren",
            "suppression_s": 30,
            "momentary_clear_s": 20,
            "auto_ack": "never",
            "arming": [{"start": "18:00", "end": "06:00"}],
            "ack_within_s": 45,
        },
        "application/json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["segment"] == "canal-s"
    bad = commander.put(
        "/api/alarms/definitions",
        {**changed.json(), "segment_code": None, "arming": [{"start": "7", "end": "8"}]},
        "application/json",
    )
    assert bad.status_code == 422
    ends = (night.now() + timedelta(hours=2)).isoformat()
    made = commander.post(
        "/api/alarms/overrides",
        {"source_key": "segment:canal-s", "mode": "bypass", "ends_at": ends, "reason": "repair"},
        "application/json",
    )
    assert made.status_code == 201
    assert made.json()["active"] is True
    ended = commander.post(f"/api/alarms/overrides/{made.json()['id']}/end")
    assert ended.json()["active"] is False
    walk = commander.post(
        "/api/alarms/walk-tests",
        {"segment_code": "canal-s", "section_code": "s1", "detected": [True] * 50},
        "application/json",
    )
    assert walk.status_code == 201
    pd = {
        (r["segment"], r["section"]): r for r in commander.get("/api/alarms/stats/detection").json()
    }
    assert pd[("canal-s", "s1")]["accepted"] is True
    day = night.now().date().isoformat()
    assert commander.get(f"/api/alarms/stats/nuisance?day={day}").status_code == 200
    assert (
        client_for(Role.CHECKPOINT_LEADER)
        .post(
            "/api/alarms/walk-tests",
            {"segment_code": "canal-s", "section_code": "s1", "detected": [True]},
            "application/json",
        )
        .status_code
        == 403
    )


def test_a_device_posts_its_messages_over_http(night, event):  # type: ignore[no-untyped-def]
    panic, token = device_client("PB-wicc-01")
    body = {"id": "http-1", "ts": night.now().isoformat(), "state": "pressed"}
    first = panic.post("/api/alarms/devices/messages/panic", json.dumps(body), "application/json")
    assert first.status_code == 202, first.json()
    assert first.json()["outcome"] == "raised"
    again = panic.post("/api/alarms/devices/messages/panic", json.dumps(body), "application/json")
    assert again.status_code == 202
    assert again.json()["duplicate"] is True
    assert Alarm.objects.filter(source_type="panic").count() == 1
    assert SensorEvent.objects.filter(message_id="http-1").count() == 1
    wrong_kind = panic.post(
        "/api/alarms/devices/messages/door", json.dumps(body), "application/json"
    )
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["code"] == "topic.kind_not_allowed"
    broken = panic.post("/api/alarms/devices/messages/panic", b"{nope", "application/json")
    assert broken.status_code == 422
    assert broken.json()["code"] == "payload.not_json"
    assert DeadLetter.objects.filter(code="payload.not_json").count() == 1
    # The broker gets the same token as the device's MQTT password.
    cred = DeviceCredential.objects.get(device__external_id="PB-wicc-01")
    assert mosquitto.verify_password(token, cred.broker_hash)
    assert (
        Client().post("/api/alarms/devices/messages/panic", b"{}", "application/json").status_code
        == 401
    )


def test_dead_letters_and_device_health_pages_of_the_api(night, event, client_for):  # type: ignore[no-untyped-def]
    panic, _ = device_client("PB-wicc-01")
    panic.post("/api/alarms/devices/messages/panic", b"[]", "application/json")
    commander = client_for(Role.COMMANDER)
    page = commander.get("/api/alarms/dead-letters").json()
    assert page["total"] == 1
    assert page["by_code"] == {"payload.schema": 1}
    assert page["items"][0]["topic"] == "anbao/wic2026/panic_button/PB-wicc-01/panic"
    health = {d["external_id"]: d for d in commander.get("/api/alarms/devices").json()}
    assert "LCP-canal-n" in health
    # A malformed message is no sign of life.
    assert health["PB-wicc-01"]["online"] is False
    assert "GS-wicc-n-l1" not in health


def test_drone_actions_are_recorded_and_locate_pilot_answers(night, event, client_for):  # type: ignore[no-untyped-def]
    track = DroneTrack.objects.create(
        event=event,
        track_id="T0001",
        serial="1596F3A2B4C5D6E7F8",
        first_seen=night.now(),
        last_seen=night.now(),
        status="confirmed",
        lon=120.49,
        lat=30.75,
        alt_m=80,
        score=62,
        level="high",
        snapshot={
            "pilot": {"known": True, "lon": 120.5, "lat": 30.74, "location_type": "live_gnss"}
        },
    )
    commander = client_for(Role.COMMANDER)
    made = commander.post(
        "/api/alarms/drones/T0001/actions",
        {"action": "locate_pilot", "note": "send a team"},
        "application/json",
    )
    assert made.status_code == 201
    assert made.json()["result"]["lon"] == 120.5
    bad = commander.post("/api/alarms/drones/T0001/actions", {"action": "jam"}, "application/json")
    assert bad.status_code == 422
    missing = commander.post(
        "/api/alarms/drones/T9999/actions", {"action": "observe"}, "application/json"
    )
    assert missing.status_code == 404
    listed = commander.get("/api/alarms/drones").json()
    assert listed[0]["actions"][0]["action"] == "locate_pilot"
    assert DroneAction.objects.filter(track=track).count() == 1


def test_section_settings_and_the_drone_whitelist(night, event, client_for):  # type: ignore[no-untyped-def]
    commander = client_for(Role.COMMANDER)
    made = commander.put(
        "/api/alarms/section-settings",
        {
            "segment_code": "canal-n",
            "section_code": "s2",
            "sensitivity_offset": 6,
            "unconfirmed": "hold",
            "wind_sensitive": True,
        },
        "application/json",
    )
    assert made.status_code == 200, made.json()
    assert made.json()["unconfirmed"] == "hold"
    listed = commander.get("/api/alarms/section-settings").json()
    assert [(r["segment"], r["section"]) for r in listed] == [("canal-n", "s2")]
    unknown = commander.put(
        "/api/alarms/section-settings",
        {"segment_code": "canal-n", "section_code": "s9"},
        "application/json",
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "alarms.unknown_section"
    bad = commander.put(
        "/api/alarms/section-settings",
        {"segment_code": "canal-n", "unconfirmed": "ignore"},
        "application/json",
    )
    assert bad.status_code == 422
    ok = commander.put(
        "/api/alarms/drone-whitelist",
        {"serial": "1596F3A2B4C5D6E7F8", "owner": "CCTV"},
        "application/json",
    )
    assert ok.status_code == 200
    assert commander.get("/api/alarms/drone-whitelist").json()[0]["owner"] == "CCTV"
    refused = commander.put(
        "/api/alarms/drone-whitelist", {"serial": "bad serial!", "owner": "x"}, "application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "alarms.bad_serial"
    assert (
        client_for(Role.POLICE_LIAISON)
        .put(
            "/api/alarms/drone-whitelist", {"serial": "ABCD1234", "owner": "x"}, "application/json"
        )
        .status_code
        == 403
    )
