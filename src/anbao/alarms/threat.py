"""Explainable drone threat score: each factor's value and contribution is kept.

Pure Python, no Django.  The score is a sum of bounded factor contributions, clipped to
0..100, then mapped to a level.  Weights, ramps and thresholds are in :class:`ThreatConfig`
and documented, with the formulas, in docs/counter-drone.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from anbao.alarms.airspace import Airspace, AirspaceCheck, Whitelist
from anbao.alarms.tracker_types import TrackSnapshot, require_aware, require_finite

Level = Literal["low", "medium", "high", "critical"]

FACTOR_DISTANCE = "distance"
FACTOR_TIME_TO_BREACH = "time_to_breach"
FACTOR_CLOSING_SPEED = "closing_speed"
FACTOR_ALTITUDE = "altitude"
FACTOR_REMOTE_ID = "remote_id"
FACTOR_AUTHORISATION = "authorisation"


@dataclass(frozen=True, slots=True)
class ThreatConfig:
    """Weights (points at most per factor), ramps and level thresholds of the threat score."""

    w_distance: float = 30.0
    distance_ramp_m: float = 2000.0  # full points inside, none from this far out
    w_time_to_breach: float = 20.0
    time_to_breach_ramp_s: float = 300.0
    w_closing_speed: float = 15.0
    closing_speed_full_mps: float = 20.0
    w_altitude: float = 10.0
    altitude_low_m: float = 10.0  # below this the aircraft is landed or taking off
    altitude_band_top_m: float = 150.0
    altitude_zero_m: float = 500.0
    w_remote_id_spoofed: float = 25.0
    w_remote_id_none: float = 20.0
    w_remote_id_partial: float = 10.0
    authorised_discount: float = 0.8  # share of the other points removed when whitelisted
    medium_from: float = 25.0
    high_from: float = 50.0
    critical_from: float = 75.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if require_finite(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0.0 <= self.authorised_discount <= 1.0:
            raise ValueError("authorised_discount must be in [0, 1]")
        if not self.medium_from < self.high_from < self.critical_from <= 100.0:
            raise ValueError("level thresholds must rise: medium < high < critical <= 100")
        if not self.altitude_low_m < self.altitude_band_top_m < self.altitude_zero_m:
            raise ValueError("altitude ramps must rise: low < band top < zero")


@dataclass(frozen=True, slots=True)
class Factor:
    """One factor of the score: its name, the measured value, and the points it added."""

    factor: str
    value: float | str | None
    contribution: float

    def as_tuple(self) -> tuple[str, float | str | None, float]:
        """Return ``(factor, value, contribution)``."""
        return (self.factor, self.value, self.contribution)


@dataclass(frozen=True, slots=True)
class ThreatAssessment:
    """A track's threat: score 0..100, level, the factors, and the volume it was judged by."""

    track_id: str
    score: float
    level: Level
    factors: tuple[Factor, ...]
    volume: str | None
    authorised_by: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; factors as ``[factor, value, contribution]`` lists."""
        return {
            "track_id": self.track_id,
            "score": self.score,
            "level": self.level,
            "factors": [list(f.as_tuple()) for f in self.factors],
            "volume": self.volume,
            "authorised_by": self.authorised_by,
        }


def _ramp_down(value: float, full_at: float, zero_at: float) -> float:
    """1 at or below ``full_at``, 0 at or beyond ``zero_at``, linear between."""
    if value <= full_at:
        return 1.0
    if value >= zero_at:
        return 0.0
    return (zero_at - value) / (zero_at - full_at)


def level_for(score: float, config: ThreatConfig | None = None) -> Level:
    """Map a score to low / medium / high / critical by the configured thresholds."""
    cfg = config or ThreatConfig()
    if score >= cfg.critical_from:
        return "critical"
    if score >= cfg.high_from:
        return "high"
    if score >= cfg.medium_from:
        return "medium"
    return "low"


def score_factors(
    *,
    distance_m: float | None,
    time_to_breach_s: float | None,
    closing_speed_mps: float,
    altitude_m: float,
    compliance: str,
    spoofed: bool,
    authorised: bool,
    config: ThreatConfig | None = None,
) -> tuple[float, tuple[Factor, ...]]:
    """Score raw factor values; return the clipped score and every factor's contribution.

    ``distance_m`` None means no volume is active or defined: the distance factor adds 0.
    """
    cfg = config or ThreatConfig()
    require_finite(closing_speed_mps, "closing speed")
    require_finite(altitude_m, "altitude")
    if compliance not in ("none", "partial", "full"):
        raise ValueError(f"compliance must be none, partial or full, got {compliance!r}")
    factors: list[Factor] = []
    if distance_m is None:
        factors.append(Factor(FACTOR_DISTANCE, None, 0.0))
    else:
        if require_finite(distance_m, "distance") < 0:
            raise ValueError(f"distance must be >= 0 m, got {distance_m}")
        share = _ramp_down(distance_m, 0.0, cfg.distance_ramp_m)
        factors.append(Factor(FACTOR_DISTANCE, distance_m, cfg.w_distance * share))
    if time_to_breach_s is None:
        factors.append(Factor(FACTOR_TIME_TO_BREACH, None, 0.0))
    else:
        if require_finite(time_to_breach_s, "time to breach") < 0:
            raise ValueError(f"time to breach must be >= 0 s, got {time_to_breach_s}")
        share = _ramp_down(time_to_breach_s, 0.0, cfg.time_to_breach_ramp_s)
        factors.append(
            Factor(FACTOR_TIME_TO_BREACH, time_to_breach_s, cfg.w_time_to_breach * share)
        )
    closing_share = min(max(closing_speed_mps / cfg.closing_speed_full_mps, 0.0), 1.0)
    factors.append(
        Factor(FACTOR_CLOSING_SPEED, closing_speed_mps, cfg.w_closing_speed * closing_share)
    )
    if altitude_m < cfg.altitude_low_m:
        alt_share = max(altitude_m, 0.0) / cfg.altitude_low_m
    else:
        alt_share = _ramp_down(altitude_m, cfg.altitude_band_top_m, cfg.altitude_zero_m)
    factors.append(Factor(FACTOR_ALTITUDE, altitude_m, cfg.w_altitude * alt_share))
    if spoofed:
        rid_value, rid_points = "spoofed", cfg.w_remote_id_spoofed
    elif compliance == "none":
        rid_value, rid_points = "none", cfg.w_remote_id_none
    elif compliance == "partial":
        rid_value, rid_points = "partial", cfg.w_remote_id_partial
    else:
        rid_value, rid_points = "full", 0.0
    factors.append(Factor(FACTOR_REMOTE_ID, rid_value, rid_points))
    subtotal = sum(f.contribution for f in factors)
    if authorised and spoofed:
        # A whitelisted serial on a spoofed broadcast is the classic impersonation: no discount.
        factors.append(Factor(FACTOR_AUTHORISATION, "whitelisted_but_spoofed", 0.0))
    elif authorised:
        discount = -cfg.authorised_discount * subtotal
        factors.append(Factor(FACTOR_AUTHORISATION, "whitelisted", discount))
    else:
        factors.append(Factor(FACTOR_AUTHORISATION, "not_whitelisted", 0.0))
    total = sum(f.contribution for f in factors)
    score = round(min(max(total, 0.0), 100.0), 2)
    return score, tuple(Factor(f.factor, f.value, round(f.contribution, 3)) for f in factors)


def _governing(checks: list[AirspaceCheck]) -> AirspaceCheck | None:
    """Pick the volume that matters most: breached, soonest breached, else nearest active."""
    live = [c for c in checks if c.active or c.time_to_breach_s is not None]
    if not live:
        return None
    return min(
        live,
        key=lambda c: (
            not c.inside,
            c.time_to_breach_s if c.time_to_breach_s is not None else float("inf"),
            c.distance_m,
        ),
    )


def assess(
    track: TrackSnapshot,
    airspace: Airspace,
    whitelist: Whitelist,
    t: datetime,
    config: ThreatConfig | None = None,
) -> ThreatAssessment:
    """Score one track against the airspace and whitelist at ``t``, with every factor kept."""
    cfg = config or ThreatConfig()
    ts = require_aware(t, "assessment time")
    checks = airspace.check_track(track, t)
    governing = _governing(checks)
    entry = whitelist.authorised(track.serial, t)
    dt = max(ts - track.last_update.timestamp(), 0.0)
    altitude = track.alt_m + dt * track.velocity_up_mps
    score, factors = score_factors(
        distance_m=governing.distance_m if governing and governing.active else None,
        time_to_breach_s=governing.time_to_breach_s if governing else None,
        closing_speed_mps=governing.closing_speed_mps if governing else 0.0,
        altitude_m=altitude,
        compliance=track.remote_id_compliance,
        spoofed=track.spoofed,
        authorised=entry is not None,
        config=cfg,
    )
    return ThreatAssessment(
        track_id=track.track_id,
        score=score,
        level=level_for(score, cfg),
        factors=factors,
        volume=governing.code if governing else None,
        authorised_by=entry.owner if entry else None,
    )
