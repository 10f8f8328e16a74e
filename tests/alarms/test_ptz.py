"""Camera call-up: known pan/tilt answers, wrap-around, limits, fixed fields of view, zoom."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from anbao.alarms.ptz import (
    CameraChoice,
    CameraKind,
    CameraPose,
    CameraRejection,
    Intrinsics,
    Rejection,
    aim,
    check_camera,
    pan_command,
    select_cameras,
    suggest_zoom,
    wrap_deg,
)

GEOD = Geod(ellps="WGS84")
LON, LAT = 120.4990770, 30.7522053  # cam-18 on the canal bank
DOME = Intrinsics(fx=1380, fy=1380, cx=960, cy=540, width=1920, height=1080)
BOX = Intrinsics(fx=2050, fy=2050, cx=1280, cy=720, width=2560, height=1440)


def ptz(**kw: object) -> CameraPose:
    base: dict[str, object] = {
        "code": "ptz-1",
        "kind": CameraKind.PTZ,
        "lon": LON,
        "lat": LAT,
        "height_m": 68.0,
        "heading_deg": 0.0,
        "pan_min_deg": -170.0,
        "pan_max_deg": 170.0,
        "tilt_min_deg": -90.0,
        "tilt_max_deg": 15.0,
        "zoom_max": 23.0,
        "intrinsics": DOME,
    }
    base.update(kw)
    return CameraPose(**base)  # type: ignore[arg-type]


def fixed(**kw: object) -> CameraPose:
    base: dict[str, object] = {
        "code": "box-1",
        "kind": CameraKind.FIXED,
        "lon": LON,
        "lat": LAT,
        "height_m": 6.0,
        "heading_deg": 90.0,
        "intrinsics": BOX,
    }
    base.update(kw)
    return CameraPose(**base)  # type: ignore[arg-type]


def target(
    azimuth: float, distance: float, lon: float = LON, lat: float = LAT
) -> tuple[float, float]:
    out_lon, out_lat, _back = GEOD.fwd(lon, lat, azimuth, distance)
    return out_lon, out_lat


def test_known_answer_100_m_due_east_of_a_68_m_camera() -> None:
    result = aim(ptz(), *target(90.0, 100.0))
    assert result.pan_deg == pytest.approx(90.0, abs=1e-6)
    assert result.tilt_deg == pytest.approx(-34.2, abs=0.05)
    assert result.tilt_deg == pytest.approx(-math.degrees(math.atan2(68.0, 100.0)), abs=1e-6)
    assert result.ground_distance_m == pytest.approx(100.0, abs=1e-6)
    assert result.slant_range_m == pytest.approx(math.hypot(68.0, 100.0), abs=1e-6)
    assert result.east_m == pytest.approx(100.0, abs=0.01)
    assert result.north_m == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize(
    ("heading", "azimuth", "pan"),
    [
        (90.0, 90.0, 0.0),
        (0.0, 270.0, -90.0),
        (270.0, 90.0, 180.0),  # -180 wraps to +180
        (0.0, 180.0, 180.0),
        (0.0, 179.0, 179.0),
        (0.0, 181.0, -179.0),
        (350.0, 10.0, 20.0),
        (10.0, 350.0, -20.0),
    ],
)
def test_pan_is_relative_to_pan_zero_and_wraps_into_half_open_range(
    heading: float, azimuth: float, pan: float
) -> None:
    result = aim(ptz(heading_deg=heading), *target(azimuth, 150.0))
    assert result.pan_deg == pytest.approx(pan, abs=1e-6)
    assert -180.0 < result.pan_deg <= 180.0


@pytest.mark.parametrize(
    ("angle", "wrapped"),
    [
        (0.0, 0.0),
        (180.0, 180.0),
        (-180.0, 180.0),
        (540.0, 180.0),
        (190.0, -170.0),
        (-190.0, 170.0),
        (359.5, -0.5),
        (-720.0, 0.0),
    ],
)
def test_wrap_deg(angle: float, wrapped: float) -> None:
    assert wrap_deg(angle) == pytest.approx(wrapped)


def test_target_height_changes_the_tilt() -> None:
    point = target(0.0, 100.0)
    assert aim(ptz(), *point, target_height_m=68.0).tilt_deg == pytest.approx(0.0, abs=1e-9)
    assert aim(ptz(), *point, target_height_m=1.0).tilt_deg == pytest.approx(
        -math.degrees(math.atan2(67.0, 100.0))
    )
    assert aim(ptz(height_m=2.0), *point, target_height_m=102.0).tilt_deg == pytest.approx(45.0)


def test_zoom_makes_a_person_span_the_chosen_share_of_the_image() -> None:
    camera = ptz(height_m=10.0)
    result = aim(camera, *target(45.0, 40.0), image_share=0.4, person_height_m=2.0)
    assert result.zoom is not None
    assert not result.zoom_clamped
    person_px = result.zoom * DOME.fy * 2.0 / result.slant_range_m
    assert person_px == pytest.approx(0.4 * DOME.height)


def test_zoom_is_clamped_to_the_lens() -> None:
    near, near_clamped = suggest_zoom(DOME, 2.0, 23.0)
    assert (near, near_clamped) == (1.0, True)
    far, far_clamped = suggest_zoom(DOME, 5000.0, 23.0)
    assert (far, far_clamped) == (23.0, True)
    assert aim(ptz(intrinsics=None), *target(0.0, 50.0)).zoom is None
    with pytest.raises(ValueError, match="image_share"):
        suggest_zoom(DOME, 10.0, 23.0, image_share=0.0)
    with pytest.raises(ValueError, match="person_height_m"):
        suggest_zoom(DOME, 10.0, 23.0, person_height_m=-2.0)


def test_ptz_pan_limits_reject_the_dead_zone() -> None:
    camera = ptz(heading_deg=0.0)
    inside = check_camera(camera, *target(169.0, 100.0))
    assert isinstance(inside, CameraChoice)
    assert inside.pan_command_deg == pytest.approx(169.0)
    dead = check_camera(camera, *target(175.0, 100.0))
    assert isinstance(dead, CameraRejection)
    assert dead.reason is Rejection.PAN_LIMIT
    assert "pan 175.0 deg outside [-170, 170]" in dead.detail
    other_side = check_camera(camera, *target(186.0, 100.0))
    assert isinstance(other_side, CameraRejection)
    assert other_side.reason is Rejection.PAN_LIMIT


def test_pan_command_uses_the_equivalent_angle_inside_the_limits() -> None:
    camera = ptz(pan_min_deg=0.0, pan_max_deg=350.0)
    assert pan_command(camera, -90.0) == pytest.approx(270.0)
    assert pan_command(camera, -5.0) is None
    endless = ptz(pan_min_deg=0.0, pan_max_deg=360.0)
    assert pan_command(endless, -5.0) == pytest.approx(355.0)
    assert pan_command(endless, 180.0) == pytest.approx(180.0)


def test_ptz_tilt_limits() -> None:
    high = check_camera(ptz(height_m=2.0), *target(0.0, 20.0), target_height_m=30.0)
    assert isinstance(high, CameraRejection)
    assert high.reason is Rejection.TILT_LIMIT
    steep = check_camera(ptz(tilt_min_deg=-45.0), *target(0.0, 20.0))
    assert isinstance(steep, CameraRejection)
    assert steep.reason is Rejection.TILT_LIMIT
    assert isinstance(check_camera(ptz(tilt_min_deg=-45.0), *target(0.0, 80.0)), CameraChoice)


def test_fixed_camera_field_of_view_from_fx_and_width() -> None:
    camera = fixed(heading_deg=90.0)
    half = math.degrees(math.atan(BOX.width / (2 * BOX.fx)))
    assert BOX.horizontal_fov_deg == pytest.approx(2 * half)
    edge_in = check_camera(camera, *target(90.0 + half - 0.5, 100.0))
    assert isinstance(edge_in, CameraChoice)
    assert edge_in.pan_command_deg is None
    edge_out = check_camera(camera, *target(90.0 - half - 0.5, 100.0))
    assert isinstance(edge_out, CameraRejection)
    assert edge_out.reason is Rejection.OUTSIDE_FOV
    behind = check_camera(camera, *target(260.0, 100.0))
    assert isinstance(behind, CameraRejection)
    assert behind.reason is Rejection.BEHIND
    blind = check_camera(fixed(intrinsics=None), *target(90.0, 100.0))
    assert isinstance(blind, CameraRejection)
    assert blind.reason is Rejection.NO_INTRINSICS


def test_fixed_camera_view_wraps_across_north() -> None:
    camera = fixed(heading_deg=350.0)
    assert isinstance(check_camera(camera, *target(15.0, 100.0)), CameraChoice)
    assert isinstance(check_camera(camera, *target(330.0, 100.0)), CameraChoice)
    assert isinstance(check_camera(camera, *target(30.0, 100.0)), CameraRejection)


def test_select_ranks_ptz_first_then_by_distance_and_explains_rejections() -> None:
    point = target(90.0, 120.0)
    near_fixed = fixed(code="box-near", **_pose_at(270.0, 40.0, point), heading_deg=90.0)
    far_ptz = ptz(code="ptz-far", **_pose_at(0.0, 300.0, point), heading_deg=180.0)
    near_ptz = ptz(code="ptz-near", **_pose_at(180.0, 150.0, point))
    wrong_way = fixed(code="box-back", **_pose_at(270.0, 30.0, point), heading_deg=270.0)
    distant = ptz(code="ptz-away", **_pose_at(0.0, 900.0, point))
    result = select_cameras(
        [far_ptz, near_fixed, wrong_way, distant, near_ptz], *point, max_range_m=400.0
    )
    assert [c.code for c in result.chosen] == ["ptz-near", "ptz-far", "box-near"]
    assert result.best is not None
    assert result.best.code == "ptz-near"
    assert {(r.code, r.reason) for r in result.rejected} == {
        ("box-back", Rejection.BEHIND),
        ("ptz-away", Rejection.OUT_OF_RANGE),
    }
    assert select_cameras([], *point).best is None
    with pytest.raises(ValueError, match="max_range_m"):
        select_cameras([far_ptz], *point, max_range_m=0.0)


def _pose_at(azimuth: float, distance: float, point: tuple[float, float]) -> dict[str, float]:
    lon, lat = target(azimuth, distance, *point)
    return {"lon": lon, "lat": lat}


def test_bad_camera_definitions_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        ptz(lat=95.0)
    with pytest.raises(ValueError, match="minimum above its maximum"):
        ptz(pan_min_deg=10.0, pan_max_deg=-10.0)
    with pytest.raises(ValueError, match="zoom_max"):
        ptz(zoom_max=0.5)
    with pytest.raises(ValueError, match="positive fx"):
        Intrinsics(fx=0, fy=1, cx=0, cy=0, width=10, height=10)
    with pytest.raises(ValueError, match="lack 'fy'"):
        Intrinsics.from_mapping({"fx": 1, "width": 10, "height": 10})
    assert Intrinsics.from_mapping({}) is None
    with pytest.raises(ValueError, match="non-numeric"):
        Intrinsics.from_mapping({"fx": "wide", "fy": 1, "width": 10, "height": 10})
    assert (
        Intrinsics.from_mapping(
            {"fx": 2050, "fy": 2050, "cx": 1280, "cy": 720, "width": 2560, "height": 1440}
        )
        == BOX
    )


@settings(max_examples=80, deadline=None)
@given(
    azimuth=st.floats(0.0, 359.999),
    distance=st.floats(5.0, 2000.0),
    heading=st.floats(0.0, 359.999),
    height=st.floats(0.0, 120.0),
)
def test_aim_recovers_bearing_and_elevation(
    azimuth: float, distance: float, heading: float, height: float
) -> None:
    result = aim(ptz(heading_deg=heading, height_m=height), *target(azimuth, distance))
    expected_pan = (azimuth - heading + 180.0) % 360.0 - 180.0
    diff = (result.pan_deg - expected_pan + 180.0) % 360.0 - 180.0
    assert abs(diff) < 1e-6
    assert -180.0 < result.pan_deg <= 180.0
    assert result.tilt_deg == pytest.approx(-math.degrees(math.atan2(height, distance)), abs=1e-6)
    assert math.hypot(result.east_m, result.north_m) == pytest.approx(distance, rel=1e-6)


def test_demo_site_canal_alarm_calls_up_the_canal_dome_first() -> None:
    import json
    from pathlib import Path

    import yaml

    demo = Path(__file__).resolve().parents[2] / "src" / "anbao" / "sites" / "demo" / "wuzhen"
    site = yaml.safe_load((demo / "site.yaml").read_text(encoding="utf-8"))
    features = json.loads((demo / "geometry.geojson").read_text(encoding="utf-8"))["features"]
    points = {
        f["properties"]["ref"]: f["geometry"]["coordinates"]
        for f in features
        if f["properties"]["kind"] == "camera"
    }
    line = next(
        f["geometry"]["coordinates"]
        for f in features
        if f["properties"]["kind"] == "segment" and f["properties"]["ref"] == "canal-n"
    )
    cameras = []
    for item in site["cameras"]:
        intr = item.get("intrinsics") or {}
        cameras.append(
            CameraPose(
                code=item["code"],
                kind=CameraKind(item["kind"]),
                lon=points[item["code"]][0],
                lat=points[item["code"]][1],
                height_m=float(item["height_m"]),
                heading_deg=float(item.get("heading_deg", 0)),
                pan_min_deg=float(item.get("pan_min_deg", 0)),
                pan_max_deg=float(item.get("pan_max_deg", 0)),
                tilt_min_deg=float(item.get("tilt_min_deg", 0)),
                tilt_max_deg=float(item.get("tilt_max_deg", 0)),
                zoom_max=float(item.get("zoom_max", 1)),
                intrinsics=Intrinsics.from_mapping(intr),
            )
        )
    # The second vertex of the canal north line, about 100 m north of cam-18.
    lon, lat = line[1]
    result = select_cameras(cameras, lon, lat, max_range_m=400.0)
    assert result.best is not None
    assert result.best.code == "cam-18"
    assert all(c.camera.kind is CameraKind.PTZ for c in result.chosen[:1])
    rejected = {r.code: r.reason for r in result.rejected}
    assert rejected["cam-01"] is Rejection.OUT_OF_RANGE
    assert len(result.chosen) + len(result.rejected) == len(cameras)
    best = result.best
    # cam-18's pan 0 faces east (heading 90), so a point north-north-east is a left pan.
    azimuth, _back, distance = GEOD.inv(best.camera.lon, best.camera.lat, lon, lat)
    assert best.aim.pan_deg == pytest.approx(azimuth - 90.0)
    assert -90.0 < best.aim.pan_deg < -60.0
    assert best.aim.tilt_deg == pytest.approx(-math.degrees(math.atan2(16.0, distance)))
