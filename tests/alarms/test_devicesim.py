"""Device simulators: every message decodes, and each scenario's facts hold on the Wuzhen site."""

from __future__ import annotations

import itertools
import math
import time
import types
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import Point, Polygon

from anbao.alarms import devicesim, remoteid
from anbao.alarms.devicesim import SimMessage, SimSite
from anbao.alarms.payloads import (
    Analytics,
    Bearing,
    Decoded,
    Fence,
    Heartbeat,
    Intrusion,
    Plots,
    RidFrame,
    Weather,
    decode,
)
from anbao.sites.demo import DEMO_SITE_PATH

NIGHT = datetime(2026, 11, 8, 18, 30, tzinfo=UTC)  # 02:30 in Wuzhen


@pytest.fixture(scope="module")
def site() -> SimSite:
    return devicesim.load_site(DEMO_SITE_PATH)


def decode_all(site: SimSite, messages: list[SimMessage]) -> list[Decoded]:
    decoded = [decode(m.topic, m.payload, event_code=site.event) for m in messages]
    assert [m.at for m in messages] == sorted(m.at for m in messages)
    ids = [d.message_id for d in decoded]
    assert len(ids) == len(set(ids)), "message ids repeat"
    return decoded


def test_the_demo_site_loads(site: SimSite) -> None:
    assert site.event == "wic2026"
    cables = {s.code: s for s in site.segments_of("leaky_cable_processor")}
    assert set(cables) == {"canal-n", "canal-s"}
    assert cables["canal-n"].device_id == "LCP-canal-n"
    assert [s.code for s in cables["canal-n"].sections] == ["s1", "s2", "s3", "s4"]
    assert abs(cables["canal-n"].length_m() - 800) < 20
    fences = {s.code: s.device_id for s in site.segments_of("fence_controller")}
    assert fences["xizha-n"] == "FC-xizha-n"
    assert site.analytics_device == "VA-canal"
    assert (site.radar.device_id, site.rf.device_id, site.weather_station) == (
        "RADAR-01",
        "RF-01",
        "WX-01",
    )
    assert Polygon(site.no_fly).contains(Point(site.target))
    assert len(site.devices) > 50


def test_segment_geometry_helpers(site: SimSite) -> None:
    cable = site.segment("canal-n")
    assert cable.point_at(0) == pytest.approx(cable.line[0])
    assert cable.point_at(10_000) == cable.line[-1]
    midway = cable.point_at(300.0)
    assert devicesim.distance_m(cable.line[0], midway) == pytest.approx(300.0, abs=2.0)
    assert cable.section_at(399.9) is not None
    assert cable.section_at(300.0).code == "s2"  # type: ignore[union-attr]
    assert cable.section_at(900.0) is None
    with pytest.raises(KeyError):
        site.segment("nowhere")


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_intruders(site: SimSite, seed: int) -> None:
    messages = devicesim.intruders(site, start=NIGHT, seed=seed, count=6, two_sections_every=3)
    decoded = decode_all(site, messages)
    cables = [d for d in decoded if isinstance(d.body, Intrusion)]
    videos = [d for d in decoded if isinstance(d.body, Analytics)]
    assert len(videos) == 12  # one start and one end per intruder
    assert len(cables) == 6 + 2  # intruders 3 and 6 show on two sections
    for d in cables:
        assert isinstance(d.body, Intrusion)
        assert d.device_type == "leaky_cable_processor"
        segment = site.segment(d.body.cable)
        assert d.device_id == segment.device_id
        assert segment.section_at(d.body.position_m) is not None
        assert d.body.magnitude > d.body.threshold
    # The two reports of one crossing are on adjacent sections of the same cable.
    pairs = [(a, b) for a, b in itertools.pairwise(cables) if b.ts - a.ts < timedelta(seconds=2)]
    assert len(pairs) == 2
    for a, b in pairs:
        assert isinstance(a.body, Intrusion)
        assert isinstance(b.body, Intrusion)
        segment = site.segment(a.body.cable)
        codes = [s.code for s in segment.sections]
        first = segment.section_at(a.body.position_m)
        second = segment.section_at(b.body.position_m)
        assert first is not None
        assert second is not None
        assert codes.index(second.code) == codes.index(first.code) + 1
    starts = [d for d in videos if isinstance(d.body, Analytics) and d.body.state == "start"]
    for start in starts:
        assert isinstance(start.body, Analytics)
        assert start.device_id == "VA-canal"
        cause = max((c for c in cables if c.ts <= start.ts), key=lambda c: c.ts)
        assert isinstance(cause.body, Intrusion)
        assert timedelta(seconds=2) <= start.ts - cause.ts <= timedelta(seconds=9)
        assert start.body.point is not None
        point = (start.body.point.lon, start.body.point.lat)
        on_cable = site.segment(cause.body.cable).point_at(cause.body.position_m)
        assert devicesim.distance_m(point, on_cable) < 20
        nearest = min(site.cameras, key=lambda c: devicesim.distance_m((c.lon, c.lat), point))
        assert start.body.camera == nearest.code
        ends = [
            v
            for v in videos
            if isinstance(v.body, Analytics)
            and v.body.state == "end"
            and v.body.region == start.body.region
            and v.ts > start.ts
        ]
        assert ends


def test_intruders_are_reproducible_and_seed_dependent(site: SimSite) -> None:
    once = devicesim.intruders(site, start=NIGHT, seed=3)
    again = devicesim.intruders(site, start=NIGHT, seed=3)
    other = devicesim.intruders(site, start=NIGHT, seed=4)
    assert once == again
    assert [m.payload for m in once] != [m.payload for m in other]


@pytest.mark.parametrize("seed", [11, 12])
def test_wind_gusts(site: SimSite, seed: int) -> None:
    messages = devicesim.wind_gusts(
        site, start=NIGHT, seed=seed, duration_s=3600, gust_start_s=600, gust_end_s=2400
    )
    decoded = decode_all(site, messages)
    weather = [d for d in decoded if isinstance(d.body, Weather)]
    assert len(weather) == 60
    assert all(b.ts - a.ts == timedelta(seconds=60) for a, b in itertools.pairwise(weather))
    gust_from, gust_to = NIGHT + timedelta(seconds=600), NIGHT + timedelta(seconds=2400)
    for d in weather:
        assert isinstance(d.body, Weather)
        assert d.body.ts.utcoffset() == timedelta(hours=8)  # the station keeps local time
        if gust_from <= d.ts < gust_to:
            assert d.body.gust_mps > 15
        else:
            assert d.body.gust_mps <= 15
    nuisance = [d for d in decoded if isinstance(d.body, Intrusion)]
    assert len(nuisance) >= 10
    for d in nuisance:
        assert isinstance(d.body, Intrusion)
        assert gust_from <= d.ts < gust_to
        assert 0 < d.body.magnitude - d.body.threshold <= 4.0
        assert 0 <= d.body.position_m <= site.segment(d.body.cable).length_m()
    assert len({d.body.cable for d in nuisance if isinstance(d.body, Intrusion)}) == 2


def test_wind_gusts_rejects_a_bad_window(site: SimSite) -> None:
    with pytest.raises(ValueError, match="gust_start_s"):
        devicesim.wind_gusts(site, start=NIGHT, seed=1, gust_start_s=500, gust_end_s=100)


def test_fence_cut(site: SimSite) -> None:
    messages = devicesim.fence_cut(site, start=NIGHT, seed=5, fence="xizha-n", restore_after_s=600)
    cut, restore = decode_all(site, messages)
    assert isinstance(cut.body, Fence)
    assert isinstance(restore.body, Fence)
    assert (cut.body.event, restore.body.event) == ("cut", "restore")
    assert cut.device_id == "FC-xizha-n"
    assert restore.ts - cut.ts == timedelta(seconds=600)
    segment = site.segment("xizha-n")
    assert cut.body.position_m is not None
    section = segment.section_at(cut.body.position_m)
    assert section is not None
    assert cut.body.section == section.code == restore.body.section
    assert cut.body.voltage_kv == 0.0
    with pytest.raises(ValueError, match="no fence"):
        devicesim.fence_cut(site, start=NIGHT, seed=5, fence="canal-n")


def plot_positions(
    site: SimSite, decoded: list[Decoded]
) -> list[tuple[datetime, float, float, float]]:
    out = []
    for d in decoded:
        if isinstance(d.body, Plots):
            assert d.device_id == site.radar.device_id
            assert (d.body.origin.lon, d.body.origin.lat) == (site.radar.lon, site.radar.lat)
            for plot in d.body.plots:
                lon, lat, alt = devicesim.polar_to_point(
                    site.radar, plot.range_m, plot.azimuth_deg, plot.elevation_deg
                )
                out.append((d.ts, lon, lat, alt))
    return out


@dataclass(frozen=True)
class RidFix:
    ts: datetime
    lon: float
    lat: float
    alt_m: float
    direction_deg: float
    system: remoteid.System


def rid_fixes(decoded: list[Decoded]) -> list[RidFix]:
    fixes = []
    for d in decoded:
        if not isinstance(d.body, RidFrame):
            continue
        assert d.device_id == "RID-01"
        types_ = [type(m) for m in d.body.messages]
        assert types_ == [remoteid.BasicId, remoteid.Location, remoteid.System, remoteid.OperatorId]
        basic, location, system, operator = d.body.messages
        assert isinstance(basic, remoteid.BasicId)
        assert basic.uas_id == "1596F3A2B4C5D6E7F8"
        assert isinstance(operator, remoteid.OperatorId)
        assert operator.operator_id
        assert isinstance(location, remoteid.Location)
        assert isinstance(system, remoteid.System)
        assert location.latitude is not None
        assert location.longitude is not None
        assert location.altitude_geo_m is not None
        assert location.direction_deg is not None
        assert location.timestamp_s is not None
        after_hour = d.ts.minute * 60 + d.ts.second + d.ts.microsecond / 1e6
        assert abs(location.timestamp_s - after_hour) < 0.2
        fixes.append(
            RidFix(
                d.ts,
                location.longitude,
                location.latitude,
                location.altitude_geo_m,
                location.direction_deg,
                system,
            )
        )
    return fixes


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_drone_with_remote_id(site: SimSite, seed: int) -> None:
    messages = devicesim.drone_with_remote_id(site, start=NIGHT, seed=seed)
    decoded = decode_all(site, messages)
    fixes = rid_fixes(decoded)
    assert len(fixes) > 60
    gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(fixes)]
    assert all(0.9 <= gap <= 1.1 for gap in gaps)  # 1 Hz
    # The track heads for the convention centre and ends inside the no-fly zone.
    distances = [devicesim.distance_m((f.lon, f.lat), site.target) for f in fixes]
    assert all(b < a for a, b in itertools.pairwise(distances))
    assert distances[0] > 1000
    assert distances[-1] < 30
    for fix in fixes[:-3]:
        heading = devicesim.azimuth_deg((fix.lon, fix.lat), site.target)
        assert abs((fix.direction_deg - heading + 180) % 360 - 180) < 3
    no_fly = Polygon(site.no_fly)
    assert not no_fly.contains(Point(fixes[0].lon, fixes[0].lat))
    assert no_fly.contains(Point(fixes[-1].lon, fixes[-1].lat))
    # The operator stands where the drone took off, by the canal.
    system = fixes[0].system
    assert system.operator_latitude is not None
    assert system.operator_longitude is not None
    operator = (system.operator_longitude, system.operator_latitude)
    assert devicesim.distance_m(operator, (fixes[0].lon, fixes[0].lat)) < 20
    canal = site.segment("canal-n").line + site.segment("canal-s").line
    assert min(devicesim.distance_m(operator, p) for p in canal) < 150
    # Radar: 4 scans a second, each within noise of the Remote ID track.
    plots = plot_positions(site, decoded)
    per_second = Counter(int((ts - NIGHT).total_seconds()) for ts, *_ in plots)
    assert all(count == 4 for second, count in per_second.items() if second < max(per_second))
    for fix in fixes:
        nearest = min(plots, key=lambda p: abs((p[0] - fix.ts).total_seconds()))
        assert abs((nearest[0] - fix.ts).total_seconds()) < 0.3
        assert devicesim.distance_m((nearest[1], nearest[2]), (fix.lon, fix.lat)) < 40
        assert abs(nearest[3] - fix.alt_m) < 25


@pytest.mark.parametrize("seed", [33, 34, 35])
def test_drone_without_remote_id(site: SimSite, seed: int) -> None:
    messages = devicesim.drone_without_remote_id(site, start=NIGHT, seed=seed)
    decoded = decode_all(site, messages)
    assert not any(d.kind == "rid" for d in decoded)
    plots = plot_positions(site, decoded)
    assert len(plots) > 200
    track = [devicesim.distance_m((p[1], p[2]), site.target) for p in plots]
    assert track[0] > 1000
    assert track[-1] < 60
    # Averaged over each second (4 scans), the range noise is well below the 14 m flown.
    seconds: dict[int, list[float]] = {}
    for (ts, *_), distance in zip(plots, track, strict=True):
        seconds.setdefault(int((ts - NIGHT).total_seconds()), []).append(distance)
    means = [sum(v) / len(v) for _k, v in sorted(seconds.items())]
    assert all(b < a for a, b in itertools.pairwise(means))
    bearings = [d for d in decoded if isinstance(d.body, Bearing)]
    gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(bearings)]
    assert all(0.9 <= gap <= 1.1 for gap in gaps)
    rf = (site.rf.lon, site.rf.lat)
    for bearing in bearings:
        assert isinstance(bearing.body, Bearing)
        assert bearing.device_id == "RF-01"
        _ts, lon, lat, _alt = min(plots, key=lambda p: abs((p[0] - bearing.ts).total_seconds()))
        if devicesim.distance_m(rf, (lon, lat)) < 150:
            continue  # close to the receiver the bearing swings with every metre
        truth = devicesim.azimuth_deg(rf, (lon, lat))
        assert abs((bearing.body.bearing_deg - truth + 180) % 360 - 180) < 12
    rssi = [b.body.rssi_dbm for b in bearings if isinstance(b.body, Bearing)]
    assert rssi[-1] > rssi[0]  # louder as it closes in


def test_clutter_adds_plots(site: SimSite) -> None:
    messages = devicesim.drone_without_remote_id(site, start=NIGHT, seed=33, clutter=0.5)
    scans = [d.body for d in decode_all(site, messages) if isinstance(d.body, Plots)]
    assert any(len(scan.plots) == 2 for scan in scans)
    assert all(1 <= len(scan.plots) <= 2 for scan in scans)


def test_heartbeats_and_a_device_going_silent(site: SimSite) -> None:
    silent_at = NIGHT + timedelta(seconds=400)
    messages = devicesim.heartbeats(
        site, start=NIGHT, seed=2, duration_s=900, period_s=30, silent={"RADAR-01": silent_at}
    )
    decoded = decode_all(site, messages)
    by_device: dict[str, list[Decoded]] = {}
    for d in decoded:
        assert isinstance(d.body, Heartbeat)
        by_device.setdefault(d.device_id, []).append(d)
    assert set(by_device) == {device.device_id for device in site.devices}
    end = NIGHT + timedelta(seconds=900)
    for device_id, beats in by_device.items():
        gaps = {(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(beats)}
        assert gaps == {30.0}
        uptimes = [b.body.uptime_s for b in beats if isinstance(b.body, Heartbeat)]
        assert None not in uptimes
        assert uptimes == sorted(u or 0 for u in uptimes)
        if device_id == "RADAR-01":
            assert silent_at - timedelta(seconds=30) <= beats[-1].ts < silent_at
        else:
            assert end - timedelta(seconds=30) <= beats[-1].ts < end
    panic = by_device["PB-wicc-01"][0].body
    assert isinstance(panic, Heartbeat)
    assert panic.battery_pct is not None


def test_scenarios_merge_in_time_order_with_unique_ids(site: SimSite) -> None:
    streams = [
        devicesim.intruders(site, start=NIGHT, seed=1),
        devicesim.wind_gusts(site, start=NIGHT, seed=1),
        devicesim.fence_cut(site, start=NIGHT, seed=1),
        devicesim.drone_with_remote_id(site, start=NIGHT, seed=1),
        devicesim.drone_without_remote_id(site, start=NIGHT, seed=1),
        devicesim.heartbeats(site, start=NIGHT, seed=1, duration_s=300),
    ]
    merged = list(devicesim.merge(*streams))
    assert len(merged) == sum(len(s) for s in streams)
    decode_all(site, merged)


def test_mix_is_a_fast_lazy_stream(site: SimSite) -> None:
    stream = devicesim.mix(site, start=NIGHT, seed=9, rate_per_s=2000)
    assert isinstance(stream, types.GeneratorType)
    count = 20_000
    began = time.perf_counter()
    messages = list(itertools.islice(stream, count))
    elapsed = time.perf_counter() - began
    assert messages[-1].at - messages[0].at == timedelta(seconds=(count - 1) / 2000)
    decoded = decode_all(site, messages)
    kinds = Counter(d.kind for d in decoded)
    seconds = count / 2000
    # One radar message per scan at 4 Hz, carrying the plots of the 200 drones it sees.
    assert kinds["plots"] == 4 * seconds
    scans = [d.body for d in decoded if d.kind == "plots"]
    assert all(180 <= len(s.plots) <= 215 for s in scans)  # type: ignore[union-attr]
    # Remote ID at 1 Hz from each of the 120 broadcasting drones, RF for the 80 silent ones.
    assert kinds["rid"] == 120 * seconds
    assert kinds["bearing"] == 80 * seconds
    perimeter = kinds["intrusion"] + kinds["analytics"] + kinds["weather"]
    assert 5 * seconds < perimeter < 16 * seconds
    assert 0.85 < kinds["heartbeat"] / count < 0.92
    # Generation alone must outpace any realistic broker load on one core.
    assert count / elapsed > 5_000


def test_mix_sends_heartbeats_for_the_fleet_and_keeps_drones_to_half_a_slow_stream(
    site: SimSite,
) -> None:
    fleet = devicesim.fleet(500)
    assert {d.device_type for d in fleet} == set(devicesim.FLEET_TYPES)
    messages = list(
        devicesim.mix(site, start=NIGHT, seed=3, rate_per_s=100, count=2000, devices=fleet)
    )
    senders = {m.topic.split("/")[3] for m in messages if m.topic.endswith("/heartbeat")}
    assert {d.device_id for d in fleet} <= senders
    drones = Counter(m.topic.rsplit("/", 1)[1] for m in messages)
    assert drones["rid"] + drones["bearing"] <= 0.5 * len(messages)


def test_mix_parts_share_one_stream(site: SimSite) -> None:
    whole = list(devicesim.mix(site, start=NIGHT, seed=4, rate_per_s=1000, count=3000))
    parts = [
        list(devicesim.mix(site, start=NIGHT, seed=4, rate_per_s=1000, count=3000, part=i, parts=2))
        for i in range(2)
    ]
    assert [len(p) for p in parts] == [1500, 1500]
    together = sorted((m for p in parts for m in p), key=lambda m: m.at)
    # The same topics at the same moments; the ids differ by part, so none repeats.
    assert [(m.at, m.topic) for m in together] == [(m.at, m.topic) for m in whole]
    ids = [d.message_id for d in decode_all(site, together)]
    assert len(set(ids)) == len(ids)


def test_mix_count_and_determinism(site: SimSite) -> None:
    first = list(devicesim.mix(site, start=NIGHT, seed=5, rate_per_s=100, count=500))
    second = list(devicesim.mix(site, start=NIGHT, seed=5, rate_per_s=100, count=500))
    assert len(first) == 500
    assert first == second
    assert first[1].at - first[0].at == timedelta(milliseconds=10)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: devicesim.intruders(s, start=datetime(2026, 11, 8), seed=1),  # noqa: DTZ001
        lambda s: devicesim.heartbeats(s, start=NIGHT, seed=1, duration_s=60, period_s=0),
        lambda s: next(devicesim.mix(s, start=NIGHT, seed=1, rate_per_s=0)),
    ],
)
def test_bad_arguments(site: SimSite, call: object) -> None:
    with pytest.raises(ValueError, match=r"aware|positive"):
        call(site)  # type: ignore[operator]


def test_geometry_helpers_invert() -> None:
    radar = devicesim.Sensor("R", 120.4855, 30.7497, 40.0)
    lon, lat, alt = devicesim.polar_to_point(radar, 1000.0, 90.0, 5.0)
    ground = devicesim.distance_m((radar.lon, radar.lat), (lon, lat))
    assert ground == pytest.approx(1000.0 * math.cos(math.radians(5.0)), abs=0.01)
    assert devicesim.azimuth_deg((radar.lon, radar.lat), (lon, lat)) == pytest.approx(
        90.0, abs=0.01
    )
    assert alt == pytest.approx(40.0 + 1000.0 * math.sin(math.radians(5.0)))
