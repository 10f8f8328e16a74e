"""Threat score: each factor moves the score the right way; whitelist; levels; bad input."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anbao.alarms.airspace import Airspace, NoFlyVolume, Whitelist, WhitelistEntry
from anbao.alarms.threat import (
    FACTOR_ALTITUDE,
    FACTOR_AUTHORISATION,
    FACTOR_CLOSING_SPEED,
    FACTOR_DISTANCE,
    FACTOR_REMOTE_ID,
    FACTOR_TIME_TO_BREACH,
    ThreatConfig,
    assess,
    level_for,
    score_factors,
)
from anbao.alarms.tracker_types import LocalFrame, SpoofFlag, TrackSnapshot

REF_LON, REF_LAT = 120.4855, 30.7496804
FRAME = LocalFrame(REF_LON, REF_LAT)
T = datetime(2026, 11, 8, 2, 0, tzinfo=UTC)


def _square() -> tuple[tuple[float, float], ...]:
    out = []
    for x, y in ((500, -500), (1500, -500), (1500, 500), (500, 500)):
        lon, lat = FRAME.to_lonlat(x, y)
        out.append((float(lon), float(lat)))
    return tuple(out)


SPACE = Airspace([NoFlyVolume("box", _square(), 0.0, 400.0)], FRAME)


def snap(**changes: Any) -> TrackSnapshot:
    base = TrackSnapshot(
        track_id="T000001",
        status="confirmed",
        lon=REF_LON,
        lat=REF_LAT,
        alt_m=100.0,
        x_m=-500.0,
        y_m=0.0,
        velocity_east_mps=5.0,
        velocity_north_mps=0.0,
        velocity_up_mps=0.0,
        speed_mps=5.0,
        heading_deg=90.0,
        position_sd_m=5.0,
        altitude_sd_m=5.0,
        sources=("radar", "remote_id"),
        first_seen=T,
        last_update=T,
        hits=10,
        serial="1596F3A2B4C5D6E7",
        operator_id="CHN-OP-0001",
        remote_id_compliance="partial",
    )
    return dataclasses.replace(base, **changes)


def score(track: TrackSnapshot, whitelist: Whitelist | None = None) -> float:
    return assess(track, SPACE, whitelist or Whitelist(), T).score


def factor(track: TrackSnapshot, name: str) -> tuple[object, float]:
    result = assess(track, SPACE, Whitelist(), T)
    (found,) = [f for f in result.factors if f.factor == name]
    return found.value, found.contribution


def test_factors_are_all_reported_and_sum_to_the_score() -> None:
    result = assess(snap(), SPACE, Whitelist(), T)
    names = [f.factor for f in result.factors]
    assert names == [
        FACTOR_DISTANCE,
        FACTOR_TIME_TO_BREACH,
        FACTOR_CLOSING_SPEED,
        FACTOR_ALTITUDE,
        FACTOR_REMOTE_ID,
        FACTOR_AUTHORISATION,
    ]
    assert result.score == pytest.approx(sum(f.contribution for f in result.factors), abs=0.01)
    assert result.volume == "box"
    distance, _ = factor(snap(), FACTOR_DISTANCE)
    assert distance == pytest.approx(1000.0, abs=1e-6)
    ttb, _ = factor(snap(), FACTOR_TIME_TO_BREACH)
    assert ttb == pytest.approx(200.0, abs=1e-6)
    data = result.to_dict()
    assert data["factors"][0][0] == FACTOR_DISTANCE
    assert data["level"] == result.level


def test_closer_scores_higher() -> None:
    assert score(snap(x_m=200.0)) > score(snap(x_m=-500.0)) > score(snap(x_m=-1500.0))


def test_faster_closing_scores_higher() -> None:
    slow = snap(velocity_east_mps=2.0)
    fast = snap(velocity_east_mps=15.0)
    away = snap(velocity_east_mps=-15.0)
    assert score(fast) > score(slow) > score(away)
    assert factor(away, FACTOR_CLOSING_SPEED)[1] == 0.0


def test_sooner_breach_scores_higher() -> None:
    # Same distance and closing speed; a climb decides whether and when it enters the band.
    base = snap(x_m=1000.0, y_m=0.0, alt_m=450.0, velocity_east_mps=0.0)
    soon = dataclasses.replace(base, velocity_up_mps=-5.0)  # ceiling in 10 s
    late = dataclasses.replace(base, velocity_up_mps=-0.25)  # ceiling in 200 s
    never = dataclasses.replace(base, velocity_up_mps=1.0)
    ttb_soon, c_soon = factor(soon, FACTOR_TIME_TO_BREACH)
    ttb_late, c_late = factor(late, FACTOR_TIME_TO_BREACH)
    assert ttb_soon == pytest.approx(10.0)
    assert ttb_late == pytest.approx(200.0)
    assert c_soon > c_late > factor(never, FACTOR_TIME_TO_BREACH)[1] == 0.0
    assert score(soon) > score(late) > score(never)


def test_altitude_band_scores_highest() -> None:
    in_band = score(snap(alt_m=80.0))
    assert in_band > score(snap(alt_m=2.0))  # landed or taking off
    assert in_band > score(snap(alt_m=450.0))
    assert score(snap(alt_m=450.0)) > score(snap(alt_m=800.0))


def test_remote_id_compliance_and_spoofing() -> None:
    full = score(snap(remote_id_compliance="full"))
    partial = score(snap(remote_id_compliance="partial"))
    none = score(snap(remote_id_compliance="none", serial=None))
    flag = SpoofFlag("radar_mismatch", "claimed position 500 m from the radar track", T)
    spoofed = score(snap(spoof_flags=(flag,)))
    assert spoofed > none > partial > full
    assert factor(snap(spoof_flags=(flag,)), FACTOR_REMOTE_ID)[0] == "spoofed"


def test_whitelisted_drone_scores_low() -> None:
    inside = snap(x_m=1000.0, remote_id_compliance="full")
    whitelist = Whitelist([WhitelistEntry("1596F3A2B4C5D6E7", "organiser")])
    plain = assess(inside, SPACE, Whitelist(), T)
    allowed = assess(inside, SPACE, whitelist, T)
    assert plain.level in ("high", "critical")
    assert allowed.level == "low"
    assert allowed.authorised_by == "organiser"
    (auth,) = [f for f in allowed.factors if f.factor == FACTOR_AUTHORISATION]
    assert auth.value == "whitelisted"
    assert auth.contribution < 0


def test_expired_whitelist_entry_does_not_help() -> None:
    inside = snap(x_m=1000.0)
    whitelist = Whitelist(
        [WhitelistEntry("1596F3A2B4C5D6E7", "media", valid_until=T - timedelta(minutes=1))]
    )
    assert score(inside, whitelist) == score(inside)


def test_spoofed_whitelisted_serial_gets_no_discount() -> None:
    flag = SpoofFlag("implausible_jump", "claimed position moved 2000 m in 1.0 s", T)
    track = snap(x_m=1000.0, spoof_flags=(flag,))
    whitelist = Whitelist([WhitelistEntry("1596F3A2B4C5D6E7", "police")])
    result = assess(track, SPACE, whitelist, T)
    assert result.score == score(track)
    assert result.level in ("high", "critical")
    (auth,) = [f for f in result.factors if f.factor == FACTOR_AUTHORISATION]
    assert auth.value == "whitelisted_but_spoofed"


def test_no_active_volume_gives_no_distance_points() -> None:
    tomorrow = ((T + timedelta(days=1), T + timedelta(days=2)),)
    space = Airspace([NoFlyVolume("later", _square(), 0.0, 400.0, tomorrow)], FRAME)
    result = assess(snap(x_m=1000.0), space, Whitelist(), T)
    (distance,) = [f for f in result.factors if f.factor == FACTOR_DISTANCE]
    assert distance.value is None
    assert distance.contribution == 0.0


def test_documented_example_unidentified_drone_inside() -> None:
    cfg = ThreatConfig()
    inside = snap(
        x_m=1000.0, alt_m=80.0, remote_id_compliance="none", serial=None, velocity_east_mps=5.0
    )
    result = assess(inside, SPACE, Whitelist(), T)
    expected = (
        cfg.w_distance
        + cfg.w_time_to_breach
        + cfg.w_closing_speed * 5.0 / cfg.closing_speed_full_mps
        + cfg.w_altitude
        + cfg.w_remote_id_none
    )
    assert result.score == pytest.approx(expected)
    assert result.level == "critical"


def test_levels_follow_thresholds() -> None:
    cfg = ThreatConfig()
    assert level_for(0.0) == "low"
    assert level_for(cfg.medium_from - 0.01) == "low"
    assert level_for(cfg.medium_from) == "medium"
    assert level_for(cfg.high_from) == "high"
    assert level_for(cfg.critical_from) == "critical"
    assert level_for(100.0) == "critical"


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="compliance"):
        score_factors(
            distance_m=0.0,
            time_to_breach_s=None,
            closing_speed_mps=0.0,
            altitude_m=10.0,
            compliance="most",
            spoofed=False,
            authorised=False,
        )
    with pytest.raises(ValueError, match="distance must be finite"):
        score_factors(
            distance_m=float("nan"),
            time_to_breach_s=None,
            closing_speed_mps=0.0,
            altitude_m=10.0,
            compliance="none",
            spoofed=False,
            authorised=False,
        )
    with pytest.raises(ValueError, match="time to breach must be >= 0"):
        score_factors(
            distance_m=10.0,
            time_to_breach_s=-1.0,
            closing_speed_mps=0.0,
            altitude_m=10.0,
            compliance="none",
            spoofed=False,
            authorised=False,
        )
    with pytest.raises(ValueError, match="thresholds must rise"):
        ThreatConfig(high_from=10.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        assess(snap(), SPACE, Whitelist(), datetime(2026, 11, 8))  # noqa: DTZ001


@settings(max_examples=100, deadline=None)
@given(
    distance=st.one_of(st.none(), st.floats(0, 10_000)),
    ttb=st.one_of(st.none(), st.floats(0, 1000)),
    closing=st.floats(-50, 50),
    altitude=st.floats(-50, 2000),
    compliance=st.sampled_from(["none", "partial", "full"]),
    spoofed=st.booleans(),
    authorised=st.booleans(),
)
def test_score_bounded_and_monotone_in_distance(
    distance: float | None,
    ttb: float | None,
    closing: float,
    altitude: float,
    compliance: str,
    spoofed: bool,
    authorised: bool,
) -> None:
    kwargs: dict[str, Any] = {
        "time_to_breach_s": ttb,
        "closing_speed_mps": closing,
        "altitude_m": altitude,
        "compliance": compliance,
        "spoofed": spoofed,
        "authorised": authorised,
    }
    value, factors = score_factors(distance_m=distance, **kwargs)
    assert 0.0 <= value <= 100.0
    assert value == pytest.approx(min(max(sum(f.contribution for f in factors), 0), 100), abs=0.01)
    if distance is not None:
        nearer, _ = score_factors(distance_m=distance / 2, **kwargs)
        assert nearer >= value
