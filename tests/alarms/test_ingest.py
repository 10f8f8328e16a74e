"""The ingestion pipeline fed by the device simulators: alarms, replays, dead letters, drones."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from anbao.alarms import devicesim, payloads
from anbao.alarms.ingest import Incoming, Pipeline
from anbao.alarms.models import (
    Alarm,
    Condition,
    DeadLetter,
    DroneTrack,
    DroneWhitelist,
    SectionSettings,
    SensorEvent,
)
from anbao.sites.demo import DEMO_SITE_PATH
from anbao.sites.models import AlarmSection, Device, PerimeterSegment

EVENT = "wic2026"


@pytest.fixture(scope="module")
def sim_site() -> devicesim.SimSite:
    return devicesim.load_site(DEMO_SITE_PATH)


@pytest.fixture
def pipeline(night, event):  # type: ignore[no-untyped-def]
    return Pipeline(event)


def feed(pipeline: Pipeline, messages, night=None, batch: int = 50):  # type: ignore[no-untyped-def]
    """Feed simulated messages in time order, batch by batch, moving the clock along."""
    results = []
    chunk: list[Incoming] = []
    for m in messages:
        chunk.append(Incoming(m.topic, m.payload, m.at))
        if len(chunk) >= batch:
            if night is not None:
                night.current = chunk[-1].received_at
            results.append(pipeline.handle(chunk))
            chunk = []
    if chunk:
        if night is not None:
            night.current = chunk[-1].received_at
        results.append(pipeline.handle(chunk))
    return results


def msg(kind: str, device_type: str, device: str, body: dict, at):  # type: ignore[no-untyped-def]
    topic = payloads.topic_for(EVENT, device_type, device, kind)
    return Incoming(topic, json.dumps({"ts": at.isoformat(), **body}).encode(), at)


def test_intruders_raise_confirmed_section_alarms(night, pipeline, sim_site):  # type: ignore[no-untyped-def]
    stream = devicesim.intruders(sim_site, start=night.now(), seed=7, count=3)
    results = feed(pipeline, stream, night)
    assert sum(r.dead for r in results) == 0
    alarms = list(Alarm.objects.filter(source_type="intrusion").order_by("raised_at"))
    assert len(alarms) >= 3
    assert all(a.source_key.startswith("section:canal-") for a in alarms)
    assert all(a.section_id is not None and a.lon is not None for a in alarms)
    # Each crossing is confirmed by the camera or by the neighbouring section.
    assert all(a.details.get("confirmed") for a in alarms), [a.details for a in alarms]
    recorded = [m for m in stream if payloads.decode(m.topic, m.payload).kind == "intrusion"]
    assert SensorEvent.objects.filter(kind="intrusion").count() == len(recorded)
    assert SensorEvent.objects.filter(kind="intrusion", alarm__isnull=True).count() == 0


def test_a_replayed_stream_changes_nothing(night, pipeline, sim_site):  # type: ignore[no-untyped-def]
    stream = devicesim.intruders(sim_site, start=night.now(), seed=3, count=2)
    feed(pipeline, stream, night)
    before = list(Alarm.objects.values_list("pk", "trigger_count", "priority"))
    events_before = SensorEvent.objects.count()
    results = feed(pipeline, stream, night)
    assert sum(r.duplicates for r in results) == events_before
    assert list(Alarm.objects.values_list("pk", "trigger_count", "priority")) == before
    assert SensorEvent.objects.count() == events_before


BAD = [
    ("anbao/wic2026/leaky_cable_processor/LCP-canal-n", b"{}", "topic.malformed"),
    ("anbao/other/leaky_cable_processor/LCP-canal-n/intrusion", b"{}", "topic.wrong_event"),
    ("anbao/wic2026/toaster/T-1/heartbeat", b"{}", "topic.unknown_device_type"),
    ("anbao/wic2026/leaky_cable_processor/LCP-canal-n/fence", b"{}", "topic.kind_not_allowed"),
    ("anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion", b"\xff\xfe", "payload.not_utf8"),
    ("anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion", b"{oops", "payload.not_json"),
    (
        "anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion",
        b'{"id":"x1","ts":"2026-11-08T23:30:00+08:00","cable":"canal-n","side":"up",'
        b'"position_m":1,"magnitude":40,"threshold":30}',
        "payload.schema",
    ),
    (
        "anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion",
        b'{"id":"x2","ts":"2026-11-08T23:30:00","cable":"canal-n","side":"outer",'
        b'"position_m":1,"magnitude":40,"threshold":30}',
        "payload.naive_time",
    ),
    ("anbao/wic2026/remote_id_receiver/RID-01/rid", b"RID0" + b"\0" * 40, "rid.frame"),
    (
        "anbao/wic2026/radar/GHOST-9/heartbeat",
        b'{"id":"h","ts":"2026-11-08T23:30:00Z"}',
        "device.unknown",
    ),
    (
        "anbao/wic2026/radar/WX-01/heartbeat",
        b'{"id":"h","ts":"2026-11-08T23:30:00Z"}',
        "device.wrong_type",
    ),
    (
        "anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion",
        b'{"id":"x3","ts":"2026-11-08T23:30:00+08:00","cable":"canal-n","side":"outer",'
        b'"position_m":5000,"magnitude":40,"threshold":30}',
        "intrusion.rejected",
    ),
    (
        "anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion",
        b'{"id":"x4","ts":"2026-11-08T23:30:00+08:00","cable":"canal-s","side":"outer",'
        b'"position_m":5,"magnitude":40,"threshold":30}',
        "intrusion.rejected",
    ),
]


def test_malformed_messages_are_dead_lettered_and_the_batch_goes_on(night, pipeline):  # type: ignore[no-untyped-def]
    good = msg(
        "panic", "panic_button", "PB-wicc-01", {"id": "p-1", "state": "pressed"}, night.now()
    )
    batch = [Incoming(t, p, night.now()) for t, p, _ in BAD] + [good]
    result = pipeline.handle(batch)
    assert result.dead == len(BAD)
    assert result.accepted == 1
    codes = list(DeadLetter.objects.order_by("id").values_list("code", flat=True))
    assert codes == [c for _, _, c in BAD]
    assert all(d.reason for d in DeadLetter.objects.all())
    assert Alarm.objects.filter(source_type="panic").count() == 1
    assert pipeline.totals.dead == len(BAD)
    assert pipeline.totals.dead_codes["payload.schema"] == 1


def test_fence_cut_is_critical_and_restore_clears(night, pipeline, sim_site):  # type: ignore[no-untyped-def]
    stream = devicesim.fence_cut(sim_site, start=night.now(), seed=1, restore_after_s=300)
    feed(pipeline, stream, night)
    alarm = Alarm.objects.get(source_type="fence_cut")
    assert alarm.priority == 1
    assert alarm.condition == Condition.CLEARED
    assert alarm.source_key.startswith(("section:xizha-", "section:wicc-w", "segment:"))


def test_panic_and_door(night, pipeline):  # type: ignore[no-untyped-def]
    t = night.now()
    pipeline.handle(
        [msg("panic", "panic_button", "PB-wicc-01", {"id": "p1", "state": "pressed"}, t)]
    )
    panic = Alarm.objects.get(source_type="panic")
    assert panic.priority == 1
    assert panic.condition == Condition.ACTIVE
    pipeline.handle(
        [
            msg("panic", "panic_button", "PB-wicc-01", {"id": "p2", "state": "reset"}, t),
            msg(
                "door",
                "door_controller",
                "DC-wicc-01",
                {"id": "d1", "door": "vip-1", "event": "forced"},
                t,
            ),
        ]
    )
    panic.refresh_from_db()
    assert panic.condition == Condition.CLEARED
    door = Alarm.objects.get(source_type="door_forced")
    assert door.source_key == "door:DC-wicc-01/vip-1"
    pipeline.handle(
        [
            msg(
                "door",
                "door_controller",
                "DC-wicc-01",
                {"id": "d2", "door": "vip-1", "event": "closed"},
                t,
            )
        ]
    )
    door.refresh_from_db()
    assert door.condition == Condition.CLEARED


def test_a_silent_device_raises_an_offline_alarm(
    night, pipeline, sim_site, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    start = night.now()
    silent_at = start + timedelta(seconds=120)
    stream = devicesim.heartbeats(
        sim_site, start=start, seed=2, duration_s=600, period_s=30, silent={"WX-01": silent_at}
    )
    with django_capture_on_commit_callbacks(execute=True):
        for chunk_end in range(60, 660, 60):
            part = [
                m for m in stream if chunk_end - 60 <= (m.at - start).total_seconds() < chunk_end
            ]
            feed(pipeline, part, night)
            night.current = start + timedelta(seconds=chunk_end)
            pipeline.tick(night.now())
    wx = Device.objects.get(external_id="WX-01")
    assert not wx.online
    alarm = Alarm.objects.get(source_type="device_offline")
    assert alarm.source_key == "device:WX-01"
    assert alarm.details["last_seen"] is not None
    assert Device.objects.get(external_id="RADAR-01").online
    # Gate scanners that never spoke went offline too, but their silence raises no alarm.
    assert not Alarm.objects.filter(source_key__startswith="device:GS-").exists()
    # The station speaks again: the condition clears.
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.handle([msg("heartbeat", "weather_station", "WX-01", {"id": "back"}, night.now())])
    alarm.refresh_from_db()
    assert alarm.condition == Condition.CLEARED
    assert Device.objects.get(external_id="WX-01").online


def test_gusts_downgrade_unconfirmed_alarms_on_wind_sensitive_sections(night, pipeline, sim_site):  # type: ignore[no-untyped-def]
    for code in ("canal-n", "canal-s"):
        SectionSettings.objects.create(
            segment=PerimeterSegment.objects.get(code=code), wind_sensitive=True, swinger_limit=3
        )
    pipeline = Pipeline(pipeline.event)
    stream = devicesim.wind_gusts(
        sim_site, start=night.now(), seed=5, duration_s=1800, gust_start_s=300, gust_end_s=1500
    )
    feed(pipeline, stream, night)
    alarms = list(Alarm.objects.filter(source_type="intrusion"))
    assert alarms, "the gusts produced no alarm at all"
    reasons = {r["code"] for a in alarms for r in a.details.get("reasons", [])}
    assert any(c.startswith("wind.") for c in reasons), reasons
    assert all(a.priority >= 3 for a in alarms if not a.details.get("confirmed"))
    assert any(c.startswith("swinger.") for c in reasons), reasons


def test_a_drone_with_remote_id_is_tracked_scored_and_alarmed(night, pipeline, sim_site):  # type: ignore[no-untyped-def]
    stream = devicesim.drone_with_remote_id(sim_site, start=night.now(), seed=11)
    results = feed(pipeline, stream, night, batch=20)
    assert sum(r.dead for r in results) == 0
    tracks = list(DroneTrack.objects.exclude(serial=""))
    assert len(tracks) == 1
    track = tracks[0]
    assert track.serial == "1596F3A2B4C5D6E7F8"
    assert track.snapshot["remote_id_compliance"] == "full"
    assert len(track.trail) > 10
    assert track.snapshot["pilot"]["known"] is True
    alarm = Alarm.objects.get(source_type="drone", source_key=f"drone:{track.track_id}")
    factors = {f[0] for f in alarm.details["factors"]}
    # Every factor of the score is stored with its contribution, so the alarm explains itself.
    assert factors == {
        "distance",
        "time_to_breach",
        "closing_speed",
        "altitude",
        "remote_id",
        "authorisation",
    }


def test_a_whitelisted_drone_raises_no_alarm(night, pipeline, sim_site, event):  # type: ignore[no-untyped-def]
    DroneWhitelist.objects.create(event=event, serial="1596F3A2B4C5D6E7F8", owner="CCTV media")
    pipeline = Pipeline(event)
    feed(pipeline, devicesim.drone_with_remote_id(sim_site, start=night.now(), seed=11), night, 20)
    track = DroneTrack.objects.get(serial="1596F3A2B4C5D6E7F8")
    assert track.authorised
    assert not Alarm.objects.filter(source_type="drone").exists()


def test_a_dark_drone_is_tracked_by_radar_alone(night, pipeline, sim_site):  # type: ignore[no-untyped-def]
    stream = devicesim.drone_without_remote_id(sim_site, start=night.now(), seed=13)
    results = feed(pipeline, stream, night, batch=20)
    assert sum(r.dead for r in results) == 0
    tracks = list(DroneTrack.objects.all())
    assert tracks
    assert all(t.serial == "" for t in tracks)
    best = max(tracks, key=lambda t: len(t.trail))
    assert best.snapshot["remote_id_compliance"] == "none"
    assert best.score > 0
    assert Alarm.objects.filter(source_type="drone").exists()


def test_sections_are_stored_as_the_perimeter_engine_maps_them(night, pipeline):  # type: ignore[no-untyped-def]
    section = AlarmSection.objects.get(segment__code="canal-n", code="s2")
    body = {
        "id": "edge-1",
        "cable": "canal-n",
        "side": "outer",
        "position_m": (section.start_m + section.end_m) / 2,
        "magnitude": 80.0,
        "threshold": 30.0,
    }
    pipeline.handle([msg("intrusion", "leaky_cable_processor", "LCP-canal-n", body, night.now())])
    alarm = Alarm.objects.get(source_type="intrusion")
    assert alarm.section_id == section.pk
    assert alarm.source_key == "section:canal-n/s2"
    below = {**body, "id": "weak-1", "magnitude": 10.0}
    result = pipeline.handle(
        [msg("intrusion", "leaky_cable_processor", "LCP-canal-n", below, night.now())]
    )
    assert result.outcomes["below_threshold"] == 1
    assert Alarm.objects.count() == 1
    assert SensorEvent.objects.get(message_id="weak-1").outcome == "below_threshold"
