"""Perimeter engine: demo-site mapping, every nuisance rule in and out, fences, weather."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point

from anbao.alarms.perimeter import PerimeterEngine
from anbao.alarms.perimeter_decisions import (
    Action,
    AlarmType,
    Decision,
    EngineSettings,
    SectionConfig,
    Unconfirmed,
)
from anbao.alarms.perimeter_inputs import AnalyticsEvent, FenceEvent, IntrusionReport, WeatherReport
from anbao.alarms.perimeter_map import PerimeterMap, SectionGeo, SegmentGeo
from anbao.alarms.ptz import CameraKind, CameraPose, Intrinsics

DEMO = Path(__file__).resolve().parents[2] / "src" / "anbao" / "sites" / "demo" / "wuzhen"
GEOD = Geod(ellps="WGS84")
T0 = datetime(2026, 11, 8, 1, 0, tzinfo=UTC)


def _demo() -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    site = yaml.safe_load((DEMO / "site.yaml").read_text(encoding="utf-8"))
    features = json.loads((DEMO / "geometry.geojson").read_text(encoding="utf-8"))["features"]
    shapes = {(f["properties"]["kind"], f["properties"]["ref"]): f["geometry"] for f in features}
    return site, shapes


SITE, SHAPES = _demo()


def demo_segments() -> list[SegmentGeo]:
    """Segments and sections from the demo site, read straight from its files."""
    out = []
    for item in SITE["perimeter_segments"]:
        geometry = SHAPES[("segment", item["code"])]
        coords = geometry["coordinates"]
        length = sum(GEOD.inv(a[0], a[1], b[0], b[1])[2] for a, b in itertools.pairwise(coords))
        sections = [
            SectionGeo(s["code"], float(s["start_m"]), float(s["end_m"]))
            for s in item.get("sections", [])
        ]
        out.append(
            SegmentGeo.from_geojson(
                item["code"],
                geometry,
                length_m=length,
                sections=sections,
                technology=item["technology"],
            )
        )
    return out


def demo_cameras() -> list[CameraPose]:
    """Camera poses from the demo site."""
    out = []
    for item in SITE["cameras"]:
        lon, lat = SHAPES[("camera", item["code"])]["coordinates"]
        intr = item.get("intrinsics")
        out.append(
            CameraPose(
                code=item["code"],
                kind=CameraKind(item["kind"]),
                lon=lon,
                lat=lat,
                height_m=float(item["height_m"]),
                heading_deg=float(item.get("heading_deg", 0)),
                pan_min_deg=float(item.get("pan_min_deg", 0)),
                pan_max_deg=float(item.get("pan_max_deg", 0)),
                tilt_min_deg=float(item.get("tilt_min_deg", 0)),
                tilt_max_deg=float(item.get("tilt_max_deg", 0)),
                zoom_max=float(item.get("zoom_max", 1)),
                intrinsics=Intrinsics(
                    intr["fx"], intr["fy"], intr["cx"], intr["cy"], intr["width"], intr["height"]
                )
                if intr
                else None,
            )
        )
    return out


SEGMENTS = demo_segments()


def engine(config: dict[str, SectionConfig] | None = None, **settings_kw: Any) -> PerimeterEngine:
    return PerimeterEngine(
        SEGMENTS, config or {}, EngineSettings(**settings_kw), cameras=demo_cameras()
    )


def cable(
    position: float, magnitude: float = 40.0, *, segment: str = "canal-n", id: str = ""
) -> IntrusionReport:
    return IntrusionReport(segment, "outer", position, magnitude, 30.0, id=id)


def along(segment: SegmentGeo, lon: float, lat: float) -> tuple[float, float]:
    """Distance along the line and off it (metres), in a local projection, via shapely."""
    lon0, lat0 = segment.coordinates[0]
    frame = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84", always_xy=True
    )
    line = LineString([frame.transform(x, y) for x, y in segment.coordinates])
    point = Point(frame.transform(lon, lat))
    return line.project(point), line.distance(point)


def spot(decision: Decision) -> tuple[float, float]:
    """The decision's map point, which every intrusion decision has."""
    assert decision.lon is not None
    assert decision.lat is not None
    return decision.lon, decision.lat


# --- mapping --------------------------------------------------------------------------------


def test_demo_site_has_the_segments_the_rules_need() -> None:
    codes = {s.code for s in SEGMENTS}
    assert {"canal-n", "canal-s", "xizha-n", "xizha-s"} <= codes
    assert all(s.sections for s in SEGMENTS if s.code != "hotels-e")


@pytest.mark.parametrize("segment", [s for s in SEGMENTS if s.sections], ids=lambda s: s.code)
def test_section_boundaries_map_to_the_section_that_starts_there(segment: SegmentGeo) -> None:
    pmap = PerimeterMap(SEGMENTS)
    ordered = sorted(segment.sections, key=lambda s: s.start_m)
    for before, after in itertools.pairwise(ordered):
        at = pmap.locate(segment.code, after.start_m)
        assert at.section == after.code
        assert pmap.locate(segment.code, after.start_m - 0.01).section == before.code
        measured, off = along(segment, at.lon, at.lat)
        assert off < 0.5
        assert measured == pytest.approx(after.start_m, abs=0.5)
    first = pmap.locate(segment.code, 0.0)
    assert (first.lon, first.lat) == pytest.approx(segment.coordinates[0], abs=1e-9)
    assert first.section == ordered[0].code
    last = pmap.locate(segment.code, segment.length_m)
    assert (last.lon, last.lat) == pytest.approx(segment.coordinates[-1], abs=1e-7)
    assert last.section == ordered[-1].code


def test_positions_a_little_past_the_ends_clamp_and_say_so() -> None:
    pmap = PerimeterMap(SEGMENTS, tolerance_m=5.0)
    length = pmap.segment("canal-n").length_m
    low = pmap.locate("canal-n", -3.0)
    assert low.clamped
    assert low.position_m == 0.0
    assert low.section == "s1"
    high = pmap.locate("canal-n", length + 4.0)
    assert high.clamped
    assert high.position_m == length
    assert high.section == "s4"
    decisions = engine().handle_intrusion(cable(-3.0), T0)
    assert "position.clamped" in decisions[-1].reason_codes


@pytest.mark.parametrize("position", [-5.5, 806.0, 1e6, -1e6])
def test_positions_far_past_the_ends_are_refused(position: float) -> None:
    pmap = PerimeterMap(SEGMENTS, tolerance_m=5.0)
    with pytest.raises(ValueError, match=r"position .* outside segment canal-n \(length 800"):
        pmap.locate("canal-n", position)


def test_unknown_segment_and_section_are_refused() -> None:
    pmap = PerimeterMap(SEGMENTS)
    with pytest.raises(ValueError, match="unknown perimeter segment 'moat'"):
        pmap.locate("moat", 1.0)
    with pytest.raises(ValueError, match="no section 's9'"):
        pmap.locate_section("canal-n", "s9")


def test_segments_laid_end_to_end_are_adjacent_across_the_join() -> None:
    pmap = PerimeterMap(SEGMENTS)
    assert ("canal-s", "s1") in pmap.adjacent("canal-n", "s4")
    assert ("canal-n", "s4") in pmap.adjacent("canal-s", "s1")
    assert pmap.adjacent("canal-n", "s2") == {("canal-n", "s1"), ("canal-n", "s3")}
    assert ("canal-s", "s1") not in pmap.adjacent("canal-n", "s3")


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match="LineString"):
        SegmentGeo.from_geojson("x", {"type": "Point", "coordinates": [120.0, 30.0]})
    with pytest.raises(ValueError, match="two points"):
        SegmentGeo("x", ((120.0, 30.0),), 10.0)
    with pytest.raises(ValueError, match="start_m must be below end_m"):
        SectionGeo("s1", 10.0, 10.0)
    with pytest.raises(ValueError, match="given twice"):
        PerimeterMap([SEGMENTS[0], SEGMENTS[0]])


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, len(SEGMENTS) - 1),
    share=st.floats(0.0, 1.0, allow_nan=False),
)
def test_every_position_lands_on_the_line_in_a_section_that_holds_it(
    index: int, share: float
) -> None:
    segment = SEGMENTS[index]
    pmap = PerimeterMap(SEGMENTS)
    position = share * segment.length_m
    at = pmap.locate(segment.code, position)
    measured, off = along(segment, at.lon, at.lat)
    assert off < 0.5
    assert measured == pytest.approx(position, abs=0.5)
    if segment.sections:
        section = next(s for s in segment.sections if s.code == at.section)
        assert section.start_m - 5.0 <= position <= section.end_m + 5.0


# --- sensitivity ----------------------------------------------------------------------------


def test_below_threshold_plus_offset_is_recorded_and_raises_nothing() -> None:
    eng = engine({"canal-n/s2": SectionConfig(sensitivity_offset=5.0)})
    (decision,) = eng.handle_intrusion(cable(300.0, magnitude=34.9), T0)
    assert decision.action is Action.RECORD
    assert decision.reason_codes == ("sensitivity.below_threshold",)
    assert "34.9 < threshold 30 + offset 5" in decision.reasons[0].text
    assert eng.swinger_count("canal-n", "s2") == 0


def test_at_threshold_plus_offset_the_alarm_counts() -> None:
    eng = engine({"canal-n/s2": SectionConfig(sensitivity_offset=5.0)})
    (decision,) = eng.handle_intrusion(cable(300.0, magnitude=35.0), T0)
    assert decision.action is Action.RAISE
    assert "sensitivity.offset_applied" in decision.reason_codes
    # The offset is per section: the neighbour keeps the processor's threshold.
    (other,) = eng.handle_intrusion(cable(700.0, magnitude=31.0), T0)
    assert other.action is Action.RAISE
    assert other.section == "s4"


def test_negative_offset_makes_a_section_more_sensitive() -> None:
    eng = engine({"canal-n": SectionConfig(sensitivity_offset=-3.0)})
    (decision,) = eng.handle_intrusion(cable(300.0, magnitude=28.0), T0)
    assert decision.action is Action.RAISE
    (below,) = eng.handle_intrusion(cable(300.0, magnitude=26.0), T0)
    assert below.action is Action.RECORD


# --- confirmation ---------------------------------------------------------------------------


def test_unconfirmed_alarm_is_lowered_and_an_adjacent_alarm_confirms_both() -> None:
    eng = engine()
    (first,) = eng.handle_intrusion(cable(300.0, id="a1"), T0)
    assert first.action is Action.RAISE
    assert (first.priority, first.confirmed, first.pending) == (3, False, False)
    assert "confirm.unconfirmed_lowered" in first.reason_codes
    upgrade, second = eng.handle_intrusion(cable(450.0, id="a2"), T0 + timedelta(seconds=30))
    assert (second.alarm_id, second.section, second.confirmed, second.priority) == (
        "a2",
        "s3",
        True,
        2,
    )
    assert "confirm.adjacent_section" in second.reason_codes
    assert upgrade.action is Action.UPDATE
    assert (upgrade.alarm_id, upgrade.confirmed, upgrade.priority) == ("a1", True, 2)
    assert "confirm.upgraded_by_adjacent" in upgrade.reason_codes


def test_adjacent_alarm_after_the_window_confirms_nothing() -> None:
    eng = engine(confirmation_window=timedelta(seconds=60))
    eng.handle_intrusion(cable(300.0, id="a1"), T0)
    decisions = eng.handle_intrusion(cable(450.0, id="a2"), T0 + timedelta(seconds=61))
    assert [d.alarm_id for d in decisions] == ["a2"]
    assert decisions[0].confirmed is False


def test_adjacent_alarm_exactly_at_the_window_edge_confirms() -> None:
    eng = engine(confirmation_window=timedelta(seconds=60))
    eng.handle_intrusion(cable(300.0, id="a1"), T0)
    decisions = eng.handle_intrusion(cable(450.0, id="a2"), T0 + timedelta(seconds=60))
    assert [d.alarm_id for d in decisions] == ["a1", "a2"]


def test_same_or_distant_section_is_no_second_source() -> None:
    eng = engine()
    eng.handle_intrusion(cable(300.0, id="a1"), T0)
    (same,) = eng.handle_intrusion(cable(310.0, id="a2"), T0 + timedelta(seconds=5))
    assert not same.confirmed
    (far,) = eng.handle_intrusion(cable(700.0, id="a3"), T0 + timedelta(seconds=6))
    assert far.section == "s4"
    assert not far.confirmed


def test_confirmation_crosses_the_join_between_segments() -> None:
    eng = engine()
    eng.handle_intrusion(cable(790.0, id="n4"), T0)
    decisions = eng.handle_intrusion(
        cable(10.0, segment="canal-s", id="s1"), T0 + timedelta(seconds=10)
    )
    assert {d.alarm_id: d.confirmed for d in decisions} == {"n4": True, "s1": True}


def test_hold_keeps_the_alarm_pending_until_video_confirms_it() -> None:
    eng = engine({"canal-n": SectionConfig(unconfirmed=Unconfirmed.HOLD)})
    (held,) = eng.handle_intrusion(cable(300.0, id="h1"), T0)
    assert held.pending
    assert not held.confirmed
    assert "confirm.pending" in held.reason_codes
    video = AnalyticsEvent("cam-18", "line_crossing", "start", "human", 0.9, point=spot(held))
    (upgrade,) = eng.handle_analytics(video, T0 + timedelta(seconds=20))
    assert upgrade.action is Action.UPDATE
    assert upgrade.alarm_id == "h1"
    assert (upgrade.confirmed, upgrade.pending, upgrade.priority) == (True, False, 2)
    assert "confirm.upgraded_by_video" in upgrade.reason_codes
    assert eng.tick(T0 + timedelta(minutes=5)) == []


def test_held_alarm_is_raised_when_its_window_ends_unconfirmed() -> None:
    eng = engine(
        {"canal-n": SectionConfig(unconfirmed=Unconfirmed.HOLD)},
        confirmation_window=timedelta(seconds=60),
    )
    eng.handle_intrusion(cable(300.0, id="h1"), T0)
    assert eng.tick(T0 + timedelta(seconds=59)) == []
    (expired,) = eng.tick(T0 + timedelta(seconds=61))
    assert expired.alarm_id == "h1"
    assert expired.action is Action.UPDATE
    assert (expired.pending, expired.confirmed, expired.priority) == (False, False, 3)
    assert "confirm.window_expired" in expired.reason_codes
    late = AnalyticsEvent("cam-18", "intrusion", "start", "human", 0.9, point=spot(expired))
    assert eng.handle_analytics(late, T0 + timedelta(seconds=62)) == []


def test_video_just_before_the_alarm_confirms_it_at_once() -> None:
    eng = engine()
    at = PerimeterMap(SEGMENTS).locate("canal-n", 300.0)
    eng.handle_analytics(
        AnalyticsEvent("cam-18", "intrusion", "start", "human", 0.8, point=(at.lon, at.lat)),
        T0,
    )
    (decision,) = eng.handle_intrusion(cable(300.0), T0 + timedelta(seconds=3))
    assert decision.confirmed
    assert decision.priority == 2
    assert "confirm.video_analytics" in decision.reason_codes


@pytest.mark.parametrize(
    ("rule", "state", "confidence"),
    [("loitering", "start", 0.9), ("intrusion", "end", 0.9), ("intrusion", "start", 0.3)],
)
def test_video_that_is_not_evidence_confirms_nothing(
    rule: str, state: str, confidence: float
) -> None:
    eng = engine()
    (alarm,) = eng.handle_intrusion(cable(300.0), T0)
    event = AnalyticsEvent("cam-18", rule, state, "human", confidence, point=spot(alarm))
    assert eng.handle_analytics(event, T0 + timedelta(seconds=1)) == []


def test_video_point_far_from_the_alarm_confirms_nothing() -> None:
    eng = engine(analytics_match_m=50.0)
    (alarm,) = eng.handle_intrusion(cable(300.0), T0)
    far = PerimeterMap(SEGMENTS).locate("canal-n", 380.0)
    event = AnalyticsEvent("cam-18", "intrusion", "start", "human", 0.9, point=(far.lon, far.lat))
    assert eng.handle_analytics(event, T0 + timedelta(seconds=1)) == []
    near = PerimeterMap(SEGMENTS).locate("canal-n", 330.0)
    event = AnalyticsEvent("cam-18", "intrusion", "start", "human", 0.9, point=(near.lon, near.lat))
    assert [d.alarm_id for d in eng.handle_analytics(event, T0 + timedelta(seconds=2))] == [
        alarm.alarm_id
    ]


def test_video_without_a_point_confirms_by_the_cameras_view() -> None:
    eng = engine()
    (alarm,) = eng.handle_intrusion(cable(300.0), T0)
    # cam-01 is a fixed camera at the convention centre, 1.3 km away.
    away = AnalyticsEvent("cam-01", "intrusion", "start", "human", 0.9)
    assert eng.handle_analytics(away, T0 + timedelta(seconds=1)) == []
    # cam-18 is the PTZ on the canal bank, a few hundred metres from s2.
    near = AnalyticsEvent("cam-18", "intrusion", "start", "human", 0.9)
    (upgrade,) = eng.handle_analytics(near, T0 + timedelta(seconds=2))
    assert upgrade.alarm_id == alarm.alarm_id
    assert upgrade.confirmed


def test_explicit_camera_coverage_wins_over_geometry() -> None:
    eng = PerimeterEngine(
        SEGMENTS, {}, EngineSettings(), camera_coverage={"cam-01": ["canal-n/s2"]}
    )
    (alarm,) = eng.handle_intrusion(cable(300.0), T0)
    (other,) = eng.handle_intrusion(cable(700.0), T0)
    decisions = eng.handle_analytics(
        AnalyticsEvent("cam-01", "line_crossing", "start", "vehicle", 0.9),
        T0 + timedelta(seconds=1),
    )
    assert [d.alarm_id for d in decisions] == [alarm.alarm_id]
    assert other.alarm_id != alarm.alarm_id


# --- swinger --------------------------------------------------------------------------------


def test_swinger_flags_after_the_limit_and_downgrades_but_records() -> None:
    eng = engine({"canal-n/s2": SectionConfig(swinger_limit=3)})
    results = [eng.handle_intrusion(cable(300.0), T0 + timedelta(minutes=i))[-1] for i in range(5)]
    assert [d.suppressed_as_swinger for d in results] == [False, False, False, True, True]
    assert "swinger.limit_reached" in results[2].reason_codes
    assert results[3].action is Action.RAISE
    assert results[3].priority == 4
    assert {"swinger.flagged", "swinger.downgraded"} <= set(results[3].reason_codes)
    assert eng.is_swinger("canal-n", "s2")
    assert eng.swinger_count("canal-n", "s2") == 5
    # Another section keeps its own count.
    (other,) = eng.handle_intrusion(cable(100.0), T0 + timedelta(minutes=6))
    assert not other.suppressed_as_swinger
    assert eng.swinger_count("canal-n", "s1") == 1


def test_operator_reset_clears_the_swinger() -> None:
    eng = engine({"canal-n/s2": SectionConfig(swinger_limit=2)})
    for i in range(3):
        eng.handle_intrusion(cable(300.0), T0 + timedelta(minutes=i))
    (note,) = eng.reset_swinger("canal-n", "s2", T0 + timedelta(minutes=4))
    assert note.action is Action.NOTE
    assert note.reason_codes == ("swinger.reset_by_operator",)
    assert "3 alarms counted, flagged" in note.reasons[0].text
    assert not eng.is_swinger("canal-n", "s2")
    (after,) = eng.handle_intrusion(cable(300.0), T0 + timedelta(minutes=5))
    assert not after.suppressed_as_swinger
    assert eng.swinger_count("canal-n", "s2") == 1
    with pytest.raises(ValueError, match="no section"):
        eng.reset_swinger("canal-n", "s9", T0)


def test_new_period_clears_every_swinger() -> None:
    eng = engine({"canal-n": SectionConfig(swinger_limit=1)})
    eng.handle_intrusion(cable(300.0), T0)
    eng.handle_intrusion(cable(100.0), T0)
    notes = eng.start_period(T0 + timedelta(hours=8))
    assert [(n.section, n.reason_codes) for n in notes] == [
        ("s1", ("swinger.period_ended",)),
        ("s2", ("swinger.period_ended",)),
    ]
    assert eng.period_start == T0 + timedelta(hours=8)
    assert eng.swinger_count("canal-n", "s2") == 0


def test_arming_period_rolls_by_itself() -> None:
    eng = engine({"canal-n": SectionConfig(swinger_limit=2)}, arming_period=timedelta(hours=1))
    for i in range(3):
        eng.handle_intrusion(cable(300.0), T0 + timedelta(minutes=i))
    assert eng.is_swinger("canal-n", "s2")
    decisions = eng.handle_intrusion(cable(300.0), T0 + timedelta(hours=2, minutes=30))
    assert [d.action for d in decisions] == [Action.NOTE, Action.RAISE]
    assert not decisions[-1].suppressed_as_swinger
    assert eng.period_start == T0 + timedelta(hours=2)


def test_swinger_limit_can_be_switched_off() -> None:
    eng = engine({"canal-n": SectionConfig(swinger_limit=None)})
    results = [eng.handle_intrusion(cable(300.0), T0)[-1] for _ in range(20)]
    assert not any(d.suppressed_as_swinger for d in results)


# --- wind -----------------------------------------------------------------------------------


def gusty(gust: float, at: datetime = T0) -> WeatherReport:
    return WeatherReport(wind_mps=gust / 2, gust_mps=gust, wind_dir_deg=45, rain_mmph=0.5, ts=at)


WINDY = {"canal-n": SectionConfig(wind_sensitive=True, gust_threshold_mps=12.0)}


def test_gust_above_the_threshold_downgrades_unconfirmed_wind_sensitive_alarms() -> None:
    eng = engine(WINDY)
    eng.handle_weather(gusty(15.0), T0)
    (decision,) = eng.handle_intrusion(cable(300.0), T0 + timedelta(seconds=30))
    assert decision.priority == 4
    assert "wind.gust_downgrade" in decision.reason_codes
    assert "gust 15 m/s above 12 m/s" in decision.reasons[-1].text
    assert decision.weather.known
    assert decision.weather.gust_mps == 15.0
    assert decision.weather.rain_mmph == 0.5
    assert decision.weather.age_s == 30.0


def test_gust_below_the_threshold_or_insensitive_section_is_not_downgraded() -> None:
    eng = engine(WINDY)
    eng.handle_weather(gusty(11.9), T0)
    (calm,) = eng.handle_intrusion(cable(300.0), T0)
    assert calm.priority == 3
    assert "wind.gust_downgrade" not in calm.reason_codes
    eng.handle_weather(gusty(20.0), T0)
    (insensitive,) = eng.handle_intrusion(cable(300.0, segment="canal-s"), T0)
    assert insensitive.priority == 3
    assert "wind.gust_downgrade" not in insensitive.reason_codes


def test_confirmed_alarms_are_not_downgraded_for_wind() -> None:
    eng = engine(WINDY)
    eng.handle_weather(gusty(20.0), T0)
    eng.handle_intrusion(cable(300.0), T0)
    upgrade, second = eng.handle_intrusion(cable(450.0), T0 + timedelta(seconds=5))
    assert second.confirmed
    assert second.priority == 2
    assert upgrade.confirmed
    assert upgrade.priority == 2
    assert "wind.gust_downgrade" not in second.reason_codes


def test_stale_or_missing_weather_is_unknown_and_disables_the_wind_rule() -> None:
    eng = engine(WINDY, weather_max_age=timedelta(minutes=10))
    (none,) = eng.handle_intrusion(cable(300.0), T0)
    assert none.weather.status == "none"
    assert not none.weather.known
    assert "wind.weather_unknown" in none.reason_codes
    eng.handle_weather(gusty(20.0), T0)
    (stale,) = eng.handle_intrusion(cable(300.0), T0 + timedelta(minutes=11))
    assert stale.weather.status == "stale"
    assert stale.weather.gust_mps is None
    assert stale.priority == 3
    assert "wind.weather_unknown" in stale.reason_codes


def test_late_weather_does_not_replace_newer_weather() -> None:
    eng = engine()
    eng.handle_weather(gusty(8.0, T0), T0)
    eng.handle_weather(gusty(30.0, T0 - timedelta(minutes=1)), T0 + timedelta(seconds=1))
    assert eng.weather_context(T0 + timedelta(seconds=2)).gust_mps == 8.0


# --- fences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "alarm_type", "priority"),
    [
        ("cut", AlarmType.FENCE_CUT, 1),
        ("tamper", AlarmType.FENCE_TAMPER, 1),
        ("short", AlarmType.FENCE_SHORT, 2),
        ("voltage_drop", AlarmType.FENCE_VOLTAGE_DROP, 3),
    ],
)
def test_fence_events_map_to_alarm_types_and_base_priorities(
    event: str, alarm_type: AlarmType, priority: int
) -> None:
    eng = engine()
    (decision,) = eng.handle_fence(FenceEvent("xizha-n", event, section="s3", id="f1"), T0)
    assert decision.action is Action.RAISE
    assert (decision.alarm_type, decision.priority, decision.confirmed) == (
        alarm_type,
        priority,
        True,
    )
    assert decision.section == "s3"
    assert decision.position_m == pytest.approx((428 + 642) / 2)
    assert "fence.self_confirming" in decision.reason_codes


def test_restore_clears_the_active_conditions_of_the_section() -> None:
    eng = engine()
    (cut,) = eng.handle_fence(FenceEvent("xizha-n", "cut", section="s3", id="c1"), T0)
    (short,) = eng.handle_fence(FenceEvent("xizha-n", "short", position_m=100.0, id="c2"), T0)
    (cleared,) = eng.handle_fence(
        FenceEvent("xizha-n", "restore", section="s3"), T0 + timedelta(minutes=2)
    )
    assert cleared.action is Action.CLEAR
    assert (cleared.alarm_id, cleared.alarm_type, cleared.section) == (
        "c1",
        AlarmType.FENCE_CUT,
        "s3",
    )
    assert (cleared.lon, cleared.lat) == (cut.lon, cut.lat)
    assert "fence.restored" in cleared.reason_codes
    (again,) = eng.handle_fence(FenceEvent("xizha-n", "restore", section="s3"), T0)
    assert again.alarm_type is AlarmType.FENCE_RESTORE
    assert again.reason_codes == ("fence.restore_nothing_active",)
    # A restore for the whole fence clears what is left on it.
    (rest,) = eng.handle_fence(FenceEvent("xizha-n", "restore"), T0)
    assert (rest.alarm_id, rest.section, rest.position_m) == ("c2", "s1", 100.0)
    assert (rest.lon, rest.lat) == (short.lon, short.lat)


def test_repeated_fence_condition_updates_the_open_alarm() -> None:
    eng = engine()
    eng.handle_fence(FenceEvent("xizha-s", "cut", position_m=500.0, id="c1"), T0)
    (repeat,) = eng.handle_fence(
        FenceEvent("xizha-s", "cut", position_m=510.0, id="c9", voltage_kv=0.4), T0
    )
    assert repeat.action is Action.UPDATE
    assert repeat.alarm_id == "c1"
    assert {"fence.still_active", "fence.voltage"} <= set(repeat.reason_codes)


def test_fence_shorts_count_towards_the_swinger_but_cuts_never_do() -> None:
    eng = engine({"xizha-n/s1": SectionConfig(swinger_limit=1)})
    eng.handle_fence(FenceEvent("xizha-n", "short", section="s1"), T0)
    eng.handle_fence(FenceEvent("xizha-n", "restore", section="s1"), T0)
    (second,) = eng.handle_fence(FenceEvent("xizha-n", "short", section="s1"), T0)
    assert second.suppressed_as_swinger
    assert second.priority == 4
    (cut,) = eng.handle_fence(FenceEvent("xizha-n", "cut", section="s1"), T0)
    assert not cut.suppressed_as_swinger
    assert cut.priority == 1


def test_fence_event_without_position_or_section_uses_the_segment_midpoint() -> None:
    eng = engine()
    (decision,) = eng.handle_fence(FenceEvent("xizha-s", "tamper"), T0)
    segment = PerimeterMap(SEGMENTS).segment("xizha-s")
    assert decision.section is None
    assert decision.position_m == pytest.approx(segment.length_m / 2)
    assert "position.segment_only" in decision.reason_codes


def test_fence_position_wins_over_a_mismatched_section() -> None:
    eng = engine()
    (decision,) = eng.handle_fence(FenceEvent("xizha-n", "cut", section="s1", position_m=500.0), T0)
    assert decision.section == "s3"
    assert "fence.section_mismatch" in decision.reason_codes


def test_bad_fence_inputs_are_refused() -> None:
    eng = engine()
    with pytest.raises(ValueError, match="fence event must be one of"):
        FenceEvent("xizha-n", "melt")
    with pytest.raises(ValueError, match="no section 's7'"):
        eng.handle_fence(FenceEvent("xizha-n", "cut", section="s7"), T0)
    with pytest.raises(ValueError, match="outside segment xizha-n"):
        eng.handle_fence(FenceEvent("xizha-n", "cut", position_m=2000.0), T0)


# --- payloads and clocks --------------------------------------------------------------------


def test_payloads_parse_and_bad_ones_are_refused() -> None:
    report = IntrusionReport.from_payload(
        {
            "id": "m-1",
            "ts": "2026-11-08T09:00:00+08:00",
            "cable": "canal-n",
            "side": "inner",
            "position_m": 412.5,
            "magnitude": 38.0,
            "threshold": 30,
        }
    )
    assert (report.cable, report.position_m, report.threshold) == ("canal-n", 412.5, 30.0)
    assert report.ts == datetime(2026, 11, 8, 1, 0, tzinfo=UTC)
    good = {"id": "m", "ts": "2026-11-08T01:00:00Z", "cable": "canal-n", "side": "outer"}
    with pytest.raises(ValueError, match="position_m is required"):
        IntrusionReport.from_payload(good)
    with pytest.raises(ValueError, match="magnitude must be a number"):
        IntrusionReport.from_payload({**good, "position_m": 1, "magnitude": "38", "threshold": 30})
    with pytest.raises(ValueError, match="side must be inner or outer"):
        IntrusionReport.from_payload(
            {**good, "side": "up", "position_m": 1, "magnitude": 38, "threshold": 30}
        )
    with pytest.raises(ValueError, match="no UTC offset"):
        IntrusionReport.from_payload(
            {**good, "ts": "2026-11-08T01:00:00", "position_m": 1, "magnitude": 1, "threshold": 1}
        )
    fence = FenceEvent.from_payload(
        {
            "id": "f",
            "ts": "2026-11-08T01:00:00Z",
            "fence": "xizha-n",
            "event": "cut",
            "section": "s3",
        }
    )
    assert (fence.event, fence.section, fence.position_m) == ("cut", "s3", None)
    video = AnalyticsEvent.from_payload(
        {
            "id": "v",
            "ts": "2026-11-08T01:00:00Z",
            "camera": "cam-18",
            "rule": "intrusion",
            "state": "start",
            "object": "human",
            "confidence": 0.7,
            "point": {"lon": 120.5, "lat": 30.75},
        }
    )
    assert video.point == (120.5, 30.75)
    with pytest.raises(ValueError, match=r"confidence must be within 0\.\.1"):
        AnalyticsEvent("cam-18", "intrusion", "start", confidence=1.5)
    weather = WeatherReport.from_payload(
        {
            "id": "w",
            "ts": "2026-11-08T01:00:00Z",
            "wind_mps": 3,
            "gust_mps": 7.5,
            "wind_dir_deg": 90,
            "rain_mmph": 0,
        }
    )
    assert weather.gust_mps == 7.5
    with pytest.raises(ValueError, match="cannot be negative"):
        WeatherReport(1.0, -1.0, 0.0, 0.0, T0)


def test_naive_times_and_bad_settings_are_refused() -> None:
    eng = engine()
    with pytest.raises(ValueError, match="aware"):
        eng.handle_intrusion(cable(300.0), datetime(2026, 11, 8, 1, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match=r"within 1\.\.4"):
        SectionConfig(base_priority=0)
    with pytest.raises(ValueError, match="at least 1"):
        SectionConfig(swinger_limit=0)
    with pytest.raises(ValueError, match="must be positive"):
        EngineSettings(confirmation_window=timedelta(0))


def test_every_decision_explains_its_priority() -> None:
    eng = engine({"canal-n": SectionConfig(wind_sensitive=True, swinger_limit=2, base_priority=1)})
    eng.handle_weather(gusty(18.0), T0)
    decisions = [
        eng.handle_intrusion(cable(300.0), T0 + timedelta(seconds=i))[-1] for i in range(3)
    ]
    for decision in decisions:
        assert decision.reasons, decision
        adjustments = {"confirm.unconfirmed_lowered", "wind.gust_downgrade", "swinger.downgraded"}
        steps = len(adjustments & set(decision.reason_codes))
        # Each step down is named: base 1, one step per reason (capped at 4).
        assert (
            decision.priority == min(1 + steps, 4) or "swinger.downgraded" in decision.reason_codes
        )
    assert decisions[0].priority == 3
    assert decisions[2].priority == 4


# A fresh interpreter: the test process itself has Django loaded by pytest-django.
