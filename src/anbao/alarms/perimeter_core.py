"""The perimeter engine's state: settings, weather, arming periods, swingers and grading.

Pure Python, no Django. :class:`anbao.alarms.perimeter.PerimeterEngine` builds its device
message handlers on :class:`PerimeterEngineCore`; the rules are in docs/perimeter.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from anbao.alarms.perimeter_decisions import (
    PRIORITY_MAX,
    Action,
    AlarmType,
    Decision,
    EngineSettings,
    Reason,
    SectionConfig,
    Unconfirmed,
    WeatherContext,
)
from anbao.alarms.perimeter_inputs import AnalyticsEvent, WeatherReport
from anbao.alarms.perimeter_map import Location, PerimeterMap, SegmentGeo
from anbao.alarms.ptz import CameraPose


@dataclass(slots=True)
class _Open:
    # An alarm still inside its confirmation window and not yet confirmed.
    alarm_id: str
    alarm_type: AlarmType
    location: Location
    config: SectionConfig
    swinger: bool
    pending: bool
    raised_at: datetime
    side: str | None
    source_id: str
    base_reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class _Evidence:
    kind: str  # "alarm" or "video"
    at: datetime
    source: str
    location: Location | None = None  # for alarms
    event: AnalyticsEvent | None = None  # for video


@dataclass(slots=True)
class _SwingerState:
    count: int = 0
    flagged: bool = False


class PerimeterEngineCore:
    """The engine's state and the rules every handler shares; see PerimeterEngine."""

    def __init__(
        self,
        segments: Iterable[SegmentGeo],
        section_config: Mapping[str, SectionConfig] | None = None,
        settings: EngineSettings | None = None,
        *,
        cameras: Sequence[CameraPose] = (),
        camera_coverage: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self.map = PerimeterMap(
            segments, tolerance_m=self.settings.position_tolerance_m, join_m=self.settings.join_m
        )
        self._config = dict(section_config or {})
        self._cameras = {camera.code: camera for camera in cameras}
        self._coverage = {code: frozenset(keys) for code, keys in (camera_coverage or {}).items()}
        self._weather: WeatherReport | None = None
        self._evidence: list[_Evidence] = []
        self._open: dict[str, _Open] = {}
        self._swinger: dict[tuple[str, str | None], _SwingerState] = {}
        self._fence_active: dict[tuple[str, str | None, AlarmType], tuple[str, Location]] = {}
        self._period_start: datetime | None = None
        self._serial = itertools.count(1)

    # configuration

    def set_section_config(self, section_config: Mapping[str, SectionConfig]) -> None:
        """Replace the per-section settings; windows, counts and weather are kept."""
        self._config = dict(section_config)

    def config_for(self, segment: str, section: str | None) -> SectionConfig:
        """Return a section's settings: ``seg/sec``, ``seg``, ``*``, then the defaults."""
        for key in (f"{segment}/{section}", segment, "*"):
            if key in self._config:
                return self._config[key]
        return SectionConfig()

    @property
    def period_start(self) -> datetime | None:
        """When the current arming period began."""
        return self._period_start

    def swinger_count(self, segment: str, section: str | None) -> int:
        """Alarms counted in this section during the current period."""
        return self._swinger.get((segment, section), _SwingerState()).count

    def is_swinger(self, segment: str, section: str | None) -> bool:
        """Whether this section is flagged as a swinger in the current period."""
        return self._swinger.get((segment, section), _SwingerState()).flagged

    # public handlers

    def handle_weather(self, report: WeatherReport, now: datetime) -> list[Decision]:
        """Keep the newest weather observation; older ones arriving late are ignored."""
        out = self._housekeeping(now)
        if self._weather is None or report.ts >= self._weather.ts:
            self._weather = report
        return out

    def weather_context(self, now: datetime) -> WeatherContext:
        """Return the weather as a decision made now would carry it."""
        _aware(now)
        if self._weather is None:
            return WeatherContext("none")
        report = self._weather
        age = max((now - report.ts).total_seconds(), 0.0)
        if age > self.settings.weather_max_age.total_seconds():
            return WeatherContext("stale", observed_at=report.ts, age_s=age)
        return WeatherContext(
            "current",
            wind_mps=report.wind_mps,
            gust_mps=report.gust_mps,
            wind_dir_deg=report.wind_dir_deg,
            rain_mmph=report.rain_mmph,
            observed_at=report.ts,
            age_s=age,
        )

    def start_period(self, now: datetime) -> list[Decision]:
        """Begin a new arming period: swinger counts and flags start again."""
        _aware(now)
        out: list[Decision] = []
        weather = self.weather_context(now)
        for (segment, section), state in sorted(
            self._swinger.items(), key=lambda item: (item[0][0], item[0][1] or "")
        ):
            if state.flagged:
                out.append(
                    self._note(
                        segment,
                        section,
                        weather,
                        Reason("swinger.period_ended", "arming period ended; swinger cleared"),
                    )
                )
        self._swinger.clear()
        self._period_start = now
        return out

    def reset_swinger(self, segment: str, section: str | None, now: datetime) -> list[Decision]:
        """Clear a section's swinger flag and count at an operator's request."""
        _aware(now)
        self.map.segment(segment)
        if section is not None:
            self.map.section(segment, section)
        was = self._swinger.pop((segment, section), _SwingerState())
        return [
            self._note(
                segment,
                section,
                self.weather_context(now),
                Reason(
                    "swinger.reset_by_operator",
                    f"operator reset the section ({was.count} alarms counted, "
                    f"{'flagged' if was.flagged else 'not flagged'})",
                ),
            )
        ]

    def tick(self, now: datetime) -> list[Decision]:
        """Close expired confirmation windows and roll the arming period if it is due."""
        return self._housekeeping(now)

    # internals

    def _next_id(self) -> str:
        return f"perimeter-{next(self._serial):06d}"

    def _housekeeping(self, now: datetime) -> list[Decision]:
        _aware(now)
        out: list[Decision] = []
        period = self.settings.arming_period
        if self._period_start is None:
            self._period_start = now
        elif period is not None and now >= self._period_start + period:
            # Roll whole periods so that a long quiet spell does not shift the boundaries.
            elapsed = (now - self._period_start) // period
            out.extend(self.start_period(self._period_start + elapsed * period))
        horizon = now - self.settings.confirmation_window
        self._evidence = [e for e in self._evidence if e.at >= horizon]
        weather = self.weather_context(now)
        for alarm_id, item in list(self._open.items()):
            if item.raised_at >= horizon:
                continue
            del self._open[alarm_id]
            if item.pending:
                # A held alarm is never dropped: it is raised, unconfirmed, when its window ends.
                reasons = [
                    *item.base_reasons,
                    Reason(
                        "confirm.window_expired",
                        "no second source within "
                        f"{self.settings.confirmation_window.total_seconds():g} s",
                    ),
                ]
                out.append(
                    self._graded(
                        Action.UPDATE,
                        alarm_id,
                        item.alarm_type,
                        item.location,
                        item.config,
                        weather,
                        base=item.config.base_priority,
                        confirmed=False,
                        swinger=item.swinger,
                        reasons=reasons,
                        side=item.side,
                        source_id=item.source_id,
                        hold=False,
                    )
                )
        return out

    def _count_swinger(
        self, location: Location, config: SectionConfig
    ) -> tuple[bool, list[Reason]]:
        state = self._swinger.setdefault((location.segment, location.section), _SwingerState())
        state.count += 1
        limit = config.swinger_limit
        if limit is None:
            return False, []
        if state.flagged:
            return True, [
                Reason(
                    "swinger.flagged",
                    f"alarm {state.count} in this period; the limit is {limit}",
                )
            ]
        if state.count >= limit:
            state.flagged = True
            return False, [
                Reason(
                    "swinger.limit_reached",
                    f"alarm {state.count} reaches the limit of {limit} for this period; "
                    "later alarms are downgraded",
                )
            ]
        return False, []

    def _graded(
        self,
        action: Action,
        alarm_id: str,
        alarm_type: AlarmType,
        location: Location,
        config: SectionConfig,
        weather: WeatherContext,
        *,
        base: int,
        confirmed: bool,
        swinger: bool,
        reasons: Sequence[Reason],
        side: str | None = None,
        source_id: str = "",
        hold: bool = True,
    ) -> Decision:
        priority = base
        out = list(reasons)
        pending = False
        if not confirmed:
            priority += 1
            if hold and config.unconfirmed is Unconfirmed.HOLD:
                pending = True
                out.append(Reason("confirm.pending", "held until a second source confirms"))
            else:
                out.append(Reason("confirm.unconfirmed_lowered", "no second source yet"))
            if config.wind_sensitive:
                if not weather.known:
                    out.append(
                        Reason("wind.weather_unknown", f"weather {weather.status}; no wind rule")
                    )
                elif weather.gust_mps is not None and weather.gust_mps > config.gust_threshold_mps:
                    priority += 1
                    out.append(
                        Reason(
                            "wind.gust_downgrade",
                            f"gust {weather.gust_mps:g} m/s above {config.gust_threshold_mps:g}"
                            " m/s on a wind-sensitive section",
                        )
                    )
        if swinger:
            priority = max(priority, config.swinger_priority)
            out.append(
                Reason("swinger.downgraded", f"swinger section: priority {priority} at most")
            )
        if priority > PRIORITY_MAX:
            priority = PRIORITY_MAX
        return Decision(
            action,
            alarm_id,
            alarm_type,
            location.segment,
            location.section,
            location.lon,
            location.lat,
            priority,
            confirmed=confirmed,
            pending=pending,
            suppressed_as_swinger=swinger,
            weather=weather,
            reasons=tuple(out),
            position_m=location.position_m,
            side=side,
            source_id=source_id,
        )

    def _note(
        self, segment: str, section: str | None, weather: WeatherContext, reason: Reason
    ) -> Decision:
        return _plain(
            Action.NOTE,
            self._next_id(),
            AlarmType.SWINGER_RESET,
            (segment, section),
            weather,
            [reason],
        )


def _plain(
    action: Action,
    alarm_id: str,
    alarm_type: AlarmType,
    where: Location | tuple[str, str | None],
    weather: WeatherContext,
    reasons: Sequence[Reason],
    *,
    confirmed: bool = False,
    side: str | None = None,
    source_id: str = "",
) -> Decision:
    # Records, clears and notes carry no graded priority: they raise nothing new.
    if isinstance(where, Location):
        segment, section = where.segment, where.section
        lon, lat, position = where.lon, where.lat, where.position_m
    else:
        (segment, section), lon, lat, position = where, None, None, None
    return Decision(
        action,
        alarm_id,
        alarm_type,
        segment,
        section,
        lon,
        lat,
        PRIORITY_MAX,
        confirmed=confirmed,
        pending=False,
        suppressed_as_swinger=False,
        weather=weather,
        reasons=tuple(reasons),
        position_m=position,
        side=side,
        source_id=source_id,
    )


def _aware(now: datetime) -> None:
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
