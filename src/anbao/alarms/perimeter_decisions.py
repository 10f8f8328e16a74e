"""Perimeter engine vocabulary: alarm types, actions, settings and the decisions it returns.

Pure Python, no Django. The alarm services build :class:`SectionConfig` and
:class:`EngineSettings` from the site models and store the :class:`Decision` objects the
engine (:mod:`anbao.alarms.perimeter`) returns; the reason codes are in docs/perimeter.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

PRIORITY_MIN = 1  # most urgent
PRIORITY_MAX = 4


class AlarmType(StrEnum):
    """What a decision is about."""

    INTRUSION = "intrusion"
    FENCE_CUT = "fence_cut"
    FENCE_SHORT = "fence_short"
    FENCE_VOLTAGE_DROP = "fence_voltage_drop"
    FENCE_TAMPER = "fence_tamper"
    FENCE_RESTORE = "fence_restore"
    SWINGER_RESET = "swinger_reset"


class Action(StrEnum):
    """What the alarm services should do with a decision."""

    RAISE = "raise"  # a new alarm
    RECORD = "record"  # keep for the record, raise nothing
    UPDATE = "update"  # change an alarm raised earlier (same alarm_id)
    CLEAR = "clear"  # the condition behind an alarm has ended
    NOTE = "note"  # an engine state change worth auditing


class Unconfirmed(StrEnum):
    """What a section does with an alarm no second source has confirmed yet."""

    LOWER = "lower"  # raise it at once, one priority step lower
    HOLD = "hold"  # hold it as pending confirmation until the window closes


@dataclass(frozen=True, slots=True)
class SectionConfig:
    """Nuisance-control settings for one section (or a whole segment, or the default)."""

    sensitivity_offset: float = 0.0
    unconfirmed: Unconfirmed = Unconfirmed.LOWER
    swinger_limit: int | None = 5
    swinger_priority: int = PRIORITY_MAX
    wind_sensitive: bool = False
    gust_threshold_mps: float = 12.0
    base_priority: int = 2

    def __post_init__(self) -> None:
        for name in ("swinger_priority", "base_priority"):
            value = getattr(self, name)
            if not PRIORITY_MIN <= value <= PRIORITY_MAX:
                raise ValueError(f"{name} must be within 1..4, got {value}")
        if self.swinger_limit is not None and self.swinger_limit < 1:
            raise ValueError(f"swinger_limit must be at least 1, got {self.swinger_limit}")
        if self.gust_threshold_mps < 0:
            raise ValueError("gust_threshold_mps cannot be negative")


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Engine-wide settings."""

    position_tolerance_m: float = 5.0
    join_m: float = 10.0
    weather_max_age: timedelta = timedelta(minutes=10)
    confirmation_window: timedelta = timedelta(seconds=60)
    analytics_min_confidence: float = 0.5
    analytics_match_m: float = 50.0
    camera_max_range_m: float = 400.0
    arming_period: timedelta | None = None

    def __post_init__(self) -> None:
        if self.confirmation_window <= timedelta(0) or self.weather_max_age <= timedelta(0):
            raise ValueError("confirmation_window and weather_max_age must be positive")
        if self.arming_period is not None and self.arming_period <= timedelta(0):
            raise ValueError("arming_period must be positive")


@dataclass(frozen=True, slots=True)
class Reason:
    """One adjustment: a stable code and the numbers behind it, for people."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class WeatherContext:
    """The weather attached to a decision; unknown when absent or stale."""

    status: str  # "current", "stale" or "none"
    wind_mps: float | None = None
    gust_mps: float | None = None
    wind_dir_deg: float | None = None
    rain_mmph: float | None = None
    observed_at: datetime | None = None
    age_s: float | None = None

    @property
    def known(self) -> bool:
        """Whether the values are current enough to use."""
        return self.status == "current"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine decided about one report, with every reason."""

    action: Action
    alarm_id: str
    alarm_type: AlarmType
    segment: str | None
    section: str | None
    lon: float | None
    lat: float | None
    priority: int
    confirmed: bool
    pending: bool
    suppressed_as_swinger: bool
    weather: WeatherContext
    reasons: tuple[Reason, ...]
    position_m: float | None = None
    side: str | None = None
    source_id: str = ""

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """The reason codes alone, in order."""
        return tuple(reason.code for reason in self.reasons)
