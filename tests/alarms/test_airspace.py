"""No-fly volumes: inside/outside, floor and ceiling, windows, time to breach, whitelist."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anbao.alarms.airspace import Airspace, NoFlyVolume, Whitelist, WhitelistEntry
from anbao.alarms.tracker_types import LocalFrame, TrackSnapshot

REF_LON, REF_LAT = 120.4855, 30.7496804
FRAME = LocalFrame(REF_LON, REF_LAT)
T = datetime(2026, 11, 8, 2, 0, tzinfo=UTC)
SITE = Path(__file__).resolve().parents[2] / "src/anbao/sites/demo/wuzhen"


def square(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    """A rectangle given in local metres, as lon/lat vertices."""
    out = []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        lon, lat = FRAME.to_lonlat(x, y)
        out.append((float(lon), float(lat)))
    return tuple(out)


def box(floor: float = 0.0, ceiling: float = 500.0, **kwargs: object) -> Airspace:
    volume = NoFlyVolume("box", square(500, -500, 1500, 500), floor, ceiling, **kwargs)  # type: ignore[arg-type]
    return Airspace([volume], FRAME)


def test_inside_and_outside() -> None:
    space = box()
    (inside,) = space.check(1000, 0, 100, 0, 0, 0, T)
    assert inside.inside
    assert inside.distance_m == 0.0
    assert inside.time_to_breach_s == 0.0
    (outside,) = space.check(0, 0, 100, 0, 0, 0, T)
    assert not outside.inside
    assert outside.horizontal_distance_m == pytest.approx(500.0, abs=1e-6)
    assert outside.time_to_breach_s is None  # hovering outside never breaches


def test_floor_and_ceiling() -> None:
    space = box(floor=200.0, ceiling=400.0)
    (below,) = space.check(1000, 0, 150, 0, 0, 0, T)
    assert not below.inside
    assert below.inside_horizontal
    assert below.vertical_distance_m == pytest.approx(50.0)
    (above,) = space.check(1000, 0, 450, 0, 0, 0, T)
    assert not above.inside
    assert above.vertical_distance_m == pytest.approx(50.0)
    (band,) = space.check(1000, 0, 300, 0, 0, 0, T)
    assert band.inside
    (corner,) = space.check(0, 0, 100, 0, 0, 0, T)
    assert corner.distance_m == pytest.approx(math.hypot(500.0, 100.0), abs=1e-6)


def test_inactive_window_is_not_a_breach() -> None:
    windows = ((T + timedelta(hours=1), T + timedelta(hours=2)),)
    space = box(windows=windows)
    (now,) = space.check(1000, 0, 100, 0, 0, 0, T)
    assert not now.active
    assert not now.inside
    assert now.inside_horizontal
    assert now.time_to_breach_s is None  # the window opens beyond the 600 s horizon
    (later,) = space.check(1000, 0, 100, 0, 0, 0, T + timedelta(minutes=90))
    assert later.active
    assert later.inside
    (after,) = space.check(1000, 0, 100, 0, 0, 0, T + timedelta(hours=2))
    assert not after.active  # the end is exclusive


def test_window_opening_soon_gives_time_to_breach() -> None:
    windows = ((T + timedelta(seconds=30), T + timedelta(hours=2)),)
    (check,) = box(windows=windows).check(1000, 0, 100, 0, 0, 0, T)
    assert check.time_to_breach_s == pytest.approx(30.0)


def test_time_to_breach_horizontal_hand_computed() -> None:
    # 500 m west of the west edge at 10 m/s east: 500 / 10 = 50 s.
    (check,) = box().check(0, 0, 100, 10, 0, 0, T)
    assert check.time_to_breach_s == pytest.approx(50.0, abs=1e-6)
    assert check.closing_speed_mps == pytest.approx(10.0)
    # Diagonal: from (0, -1000) at (6, 8) m/s the path meets y = -500 at t = 62.5 s, x = 375
    # (still west of the box), then x = 500 at t = 83.33 s with y = -333: entry at 83.33 s.
    (diag,) = box().check(0, -1000, 100, 6, 8, 0, T)
    assert diag.time_to_breach_s == pytest.approx(500 / 6, abs=1e-6)


def test_time_to_breach_vertical_hand_computed() -> None:
    space = box(floor=200.0, ceiling=400.0)
    # Under the box at 100 m climbing 2.5 m/s: reaches the floor after 40 s.
    (climb,) = space.check(1000, 0, 100, 0, 0, 2.5, T)
    assert climb.time_to_breach_s == pytest.approx(40.0)
    # Horizontally over the box from 50 s to 150 s, vertically in the band from 100 s: 100 s.
    (both,) = space.check(0, 0, 100, 10, 0, 1.0, T)
    assert both.time_to_breach_s == pytest.approx(100.0)
    # Climbing 0.5 m/s it reaches the floor at 200 s, after leaving the box at 150 s.
    (miss,) = space.check(0, 0, 100, 10, 0, 0.5, T)
    assert miss.time_to_breach_s is None
    # Descending from 600 m at 2 m/s: the ceiling at 100 s.
    (down,) = space.check(1000, 0, 600, 0, 0, -2.0, T)
    assert down.time_to_breach_s == pytest.approx(100.0)


def test_moving_away_never_breaches_and_closes_negative() -> None:
    (check,) = box().check(0, 0, 100, -10, 0, 0, T)
    assert check.time_to_breach_s is None
    assert check.closing_speed_mps == pytest.approx(-10.0)


def test_check_track_extrapolates_from_last_update() -> None:
    snap = TrackSnapshot(
        track_id="T000001",
        status="confirmed",
        lon=REF_LON,
        lat=REF_LAT,
        alt_m=100.0,
        x_m=0.0,
        y_m=0.0,
        velocity_east_mps=10.0,
        velocity_north_mps=0.0,
        velocity_up_mps=0.0,
        speed_mps=10.0,
        heading_deg=90.0,
        position_sd_m=5.0,
        altitude_sd_m=5.0,
        sources=("radar",),
        first_seen=T,
        last_update=T,
        hits=10,
    )
    (check,) = box().check_track(snap, T + timedelta(seconds=20))
    assert check.horizontal_distance_m == pytest.approx(300.0, abs=1e-6)
    assert check.time_to_breach_s == pytest.approx(30.0, abs=1e-6)


def test_wuzhen_no_fly_zone_from_the_site_file() -> None:
    features = json.loads((SITE / "geometry.geojson").read_text())["features"]
    ring = next(f for f in features if f["id"] == "airspace:nfz-wicc")["geometry"]["coordinates"][0]
    tz = datetime.fromisoformat("2026-11-08T06:00:00+08:00").tzinfo
    windows = ((datetime(2026, 11, 8, 6, tzinfo=tz), datetime(2026, 11, 9, 0, tzinfo=tz)),)
    volume = NoFlyVolume("nfz-wicc", tuple((p[0], p[1]) for p in ring[:-1]), 0.0, 500.0, windows)
    space = Airspace([volume], FRAME)
    noon = datetime(2026, 11, 8, 12, tzinfo=tz)
    (over_radar,) = space.check_lonlat(REF_LON, REF_LAT, 80.0, noon)
    assert over_radar.inside
    (high,) = space.check_lonlat(REF_LON, REF_LAT, 600.0, noon)
    assert not high.inside
    (night,) = space.check_lonlat(REF_LON, REF_LAT, 80.0, datetime(2026, 11, 9, 3, tzinfo=tz))
    assert not night.inside
    (far,) = space.check_lonlat(120.52, 30.75, 80.0, noon)
    assert not far.inside
    assert far.horizontal_distance_m > 1000.0


def test_bad_volumes_raise() -> None:
    with pytest.raises(ValueError, match=r"floor 500\.0 m must be below"):
        NoFlyVolume("v", square(0, 0, 10, 10), 500.0, 100.0)
    with pytest.raises(ValueError, match="at least 3 points"):
        NoFlyVolume("v", ((REF_LON, REF_LAT), (REF_LON, REF_LAT + 0.01)), 0.0, 100.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        NoFlyVolume(
            "v",
            square(0, 0, 10, 10),
            0.0,
            100.0,
            ((datetime(2026, 11, 8), datetime(2026, 11, 9)),),  # noqa: DTZ001
        )
    with pytest.raises(ValueError, match="latitude must be finite"):
        NoFlyVolume("v", ((REF_LON, float("nan")), (1.0, 1.0), (2.0, 1.0)), 0.0, 100.0)
    bow_tie = square(0, 0, 10, 10)
    with pytest.raises(ValueError, match="not valid"):
        Airspace([NoFlyVolume("v", (bow_tie[0], bow_tie[2], bow_tie[1], bow_tie[3]), 0, 10)], FRAME)
    with pytest.raises(ValueError, match="must be finite"):
        box().check(float("nan"), 0, 0, 0, 0, 0, T)
    with pytest.raises(ValueError, match="timezone-aware"):
        box().check(0, 0, 0, 0, 0, 0, datetime(2026, 11, 8))  # noqa: DTZ001


def test_whitelist_validity_window() -> None:
    whitelist = Whitelist(
        [
            WhitelistEntry("MEDIA-01", "Xinhua media pool", T, T + timedelta(hours=8)),
            WhitelistEntry("POLICE-01", "Tongxiang police"),
        ]
    )
    assert whitelist.authorised("POLICE-01", T) is not None
    entry = whitelist.authorised("MEDIA-01", T + timedelta(hours=1))
    assert entry is not None
    assert entry.owner == "Xinhua media pool"
    assert whitelist.authorised("MEDIA-01", T - timedelta(seconds=1)) is None
    assert whitelist.authorised("MEDIA-01", T + timedelta(hours=8)) is None
    assert whitelist.authorised("UNKNOWN", T) is None
    assert whitelist.authorised(None, T) is None
    whitelist.remove("POLICE-01")
    assert whitelist.authorised("POLICE-01", T) is None
    with pytest.raises(ValueError, match="valid_from must be before"):
        WhitelistEntry("X", "x", T, T)
    with pytest.raises(ValueError, match="timezone-aware"):
        whitelist.authorised("MEDIA-01", datetime(2026, 11, 8))  # noqa: DTZ001


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(-3000, 3000),
    y=st.floats(-3000, 3000),
    z=st.floats(0, 800),
    ve=st.floats(-25, 25),
    vn=st.floats(-25, 25),
    vu=st.floats(-5, 5),
)
def test_predicted_breach_point_is_inside(
    x: float, y: float, z: float, ve: float, vn: float, vu: float
) -> None:
    space = box(floor=100.0, ceiling=400.0)
    (check,) = space.check(x, y, z, ve, vn, vu, T)
    if check.inside:
        assert check.time_to_breach_s == 0.0
    if check.time_to_breach_s is None:
        # Sample the path: no sampled point may lie inside the volume.
        for k in range(0, 601, 5):
            px, py, pz = x + ve * k, y + vn * k, z + vu * k
            inside = 500 < px < 1500 and -500 < py < 500 and 100 < pz < 400
            assert not inside
    else:
        tau = check.time_to_breach_s + 1e-3
        px, py, pz = x + ve * tau, y + vn * tau, z + vu * tau
        assert 500 - 0.1 <= px <= 1500 + 0.1
        assert -500 - 0.1 <= py <= 500 + 0.1
        assert 100 - 0.1 <= pz <= 400 + 0.1
