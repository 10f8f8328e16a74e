"""Perimeter intrusion engine: leaky cable and pulse fence reports to explained decisions.

Pure Python, no Django. The alarm services fill :class:`SegmentGeo` (``perimeter_map``) and
:class:`SectionConfig` (``perimeter_decisions``) from the site models, feed device messages
(``perimeter_inputs``) in, and store the :class:`Decision` objects that come out. Every
decision carries the reason codes for each adjustment it underwent; the rules, their settings
and the codes are in docs/perimeter.md. The state the handlers share (weather, arming
period, swinger counts, grading) is in ``perimeter_core``.

Windows and periods run on the server's clock (``now``), not the device's ``ts``: device
clocks drift, and a replayed message must not reopen a closed window.
"""

from __future__ import annotations

from datetime import datetime

from anbao.alarms.perimeter_core import PerimeterEngineCore, _Evidence, _Open, _plain
from anbao.alarms.perimeter_decisions import Action, AlarmType, Decision, Reason, WeatherContext
from anbao.alarms.perimeter_inputs import (
    FENCE_EVENTS,
    AnalyticsEvent,
    FenceEvent,
    IntrusionReport,
)
from anbao.alarms.perimeter_map import GEOD, Location
from anbao.alarms.ptz import CameraChoice, check_camera

# Shorts and sags are what vegetation and rain cause, so they count towards the swinger limit.
_FENCE_SWINGER_TYPES = frozenset({AlarmType.FENCE_SHORT, AlarmType.FENCE_VOLTAGE_DROP})
CONFIRMING_RULES = frozenset({"line_crossing", "intrusion"})


class PerimeterEngine(PerimeterEngineCore):
    """Stateful, pure perimeter engine; every handler returns a list of decisions."""

    # public handlers

    def handle_intrusion(self, report: IntrusionReport, now: datetime) -> list[Decision]:
        """Decide on a leaky-cable (or fence vibration) intrusion report."""
        out = self._housekeeping(now)
        location = self.map.locate(report.cable, report.position_m)
        config = self.config_for(location.segment, location.section)
        weather = self.weather_context(now)
        alarm_id = report.id or self._next_id()
        reasons: list[Reason] = []
        if location.clamped:
            reasons.append(
                Reason(
                    "position.clamped",
                    f"position {report.position_m:g} m clamped to {location.position_m:g} m",
                )
            )
        if location.section is None:
            reasons.append(Reason("position.no_section", "position lies in no alarm section"))
        required = report.threshold + config.sensitivity_offset
        if report.magnitude < required:
            reasons.append(
                Reason(
                    "sensitivity.below_threshold",
                    f"magnitude {report.magnitude:g} < threshold {report.threshold:g} "
                    f"+ offset {config.sensitivity_offset:g}",
                )
            )
            out.append(
                _plain(
                    Action.RECORD,
                    alarm_id,
                    AlarmType.INTRUSION,
                    location,
                    weather,
                    reasons,
                    side=report.side,
                    source_id=report.id,
                )
            )
            return out
        if config.sensitivity_offset:
            reasons.append(
                Reason(
                    "sensitivity.offset_applied",
                    f"magnitude {report.magnitude:g} >= threshold {report.threshold:g} "
                    f"+ offset {config.sensitivity_offset:g}",
                )
            )
        swinger, swinger_reasons = self._count_swinger(location, config)
        reasons.extend(swinger_reasons)
        evidence = self._find_confirmation(location, now)
        # This alarm is itself evidence for earlier alarms in the neighbouring sections.
        out.extend(self._confirm_open(now, location=location, source=alarm_id))
        self._evidence.append(_Evidence("alarm", now, alarm_id, location=location))
        if evidence is not None:
            reasons.append(evidence)
        decision = self._graded(
            Action.RAISE,
            alarm_id,
            AlarmType.INTRUSION,
            location,
            config,
            weather,
            base=config.base_priority,
            confirmed=evidence is not None,
            swinger=swinger,
            reasons=reasons,
            side=report.side,
            source_id=report.id,
        )
        out.append(decision)
        if evidence is None:
            self._open[alarm_id] = _Open(
                alarm_id,
                AlarmType.INTRUSION,
                location,
                config,
                swinger,
                decision.pending,
                now,
                report.side,
                report.id,
                tuple(r for r in reasons if not r.code.startswith("confirm.")),
            )
        return out

    def handle_analytics(self, event: AnalyticsEvent, now: datetime) -> list[Decision]:
        """Take a video analytics event as evidence that can confirm perimeter alarms."""
        out = self._housekeeping(now)
        if (
            event.rule not in CONFIRMING_RULES
            or event.state != "start"
            or event.confidence < self.settings.analytics_min_confidence
        ):
            return out
        source = event.id or f"{event.camera}:{event.rule}"
        self._evidence.append(_Evidence("video", now, source, event=event))
        out.extend(self._confirm_open(now, video=event, source=source))
        return out

    def handle_fence(self, event: FenceEvent, now: datetime) -> list[Decision]:
        """Decide on a pulse fence event: an alarm per condition; restore clears."""
        out = self._housekeeping(now)
        location, reasons = self._fence_location(event)
        weather = self.weather_context(now)
        if event.event == "restore":
            out.extend(self._fence_restore(event, location, weather, reasons))
            return out
        alarm_type, base = FENCE_EVENTS[event.event]
        if event.voltage_kv is not None:
            reasons.append(Reason("fence.voltage", f"fence voltage {event.voltage_kv:g} kV"))
        key = (location.segment, location.section, alarm_type)
        config = self.config_for(location.segment, location.section)
        if key in self._fence_active:
            reasons.append(Reason("fence.still_active", f"{event.event} already active"))
            out.append(
                self._graded(
                    Action.UPDATE,
                    self._fence_active[key][0],
                    alarm_type,
                    location,
                    config,
                    weather,
                    base=base,
                    confirmed=True,
                    swinger=self.is_swinger(location.segment, location.section)
                    and alarm_type in _FENCE_SWINGER_TYPES,
                    reasons=reasons,
                    source_id=event.id,
                )
            )
            return out
        swinger = False
        if alarm_type in _FENCE_SWINGER_TYPES:
            swinger, swinger_reasons = self._count_swinger(location, config)
            reasons.extend(swinger_reasons)
        reasons.append(
            Reason("fence.self_confirming", f"{event.event} is measured on the fence circuit")
        )
        alarm_id = event.id or self._next_id()
        self._fence_active[key] = (alarm_id, location)
        out.append(
            self._graded(
                Action.RAISE,
                alarm_id,
                alarm_type,
                location,
                config,
                weather,
                base=base,
                confirmed=True,
                swinger=swinger,
                reasons=reasons,
                source_id=event.id,
            )
        )
        return out

    # internals

    def _video_covers(self, event: AnalyticsEvent, location: Location) -> bool:
        if event.point is not None:
            _az, _back, distance = GEOD.inv(
                event.point[0], event.point[1], location.lon, location.lat
            )
            return float(distance) <= self.settings.analytics_match_m
        coverage = self._coverage.get(event.camera)
        if coverage is not None:
            return (
                location.segment in coverage or f"{location.segment}/{location.section}" in coverage
            )
        camera = self._cameras.get(event.camera)
        if camera is None:
            return False
        result = check_camera(
            camera, location.lon, location.lat, max_range_m=self.settings.camera_max_range_m
        )
        return isinstance(result, CameraChoice)

    def _find_confirmation(self, location: Location, now: datetime) -> Reason | None:
        neighbours = self.map.adjacent(location.segment, location.section)
        for evidence in reversed(self._evidence):
            if evidence.kind == "alarm" and evidence.location is not None:
                other = evidence.location
                if (other.segment, other.section) in neighbours:
                    return Reason(
                        "confirm.adjacent_section",
                        f"alarm {evidence.source} in adjacent section "
                        f"{other.segment}/{other.section} "
                        f"{(now - evidence.at).total_seconds():g} s earlier",
                    )
            elif evidence.event is not None and self._video_covers(evidence.event, location):
                return Reason(
                    "confirm.video_analytics",
                    f"{evidence.event.rule} on camera {evidence.event.camera} "
                    f"{(now - evidence.at).total_seconds():g} s earlier",
                )
        return None

    def _confirm_open(
        self,
        now: datetime,
        *,
        source: str,
        location: Location | None = None,
        video: AnalyticsEvent | None = None,
    ) -> list[Decision]:
        out: list[Decision] = []
        weather = self.weather_context(now)
        for alarm_id, item in list(self._open.items()):
            if location is not None:
                neighbours = self.map.adjacent(location.segment, location.section)
                if (item.location.segment, item.location.section) not in neighbours:
                    continue
                reason = Reason(
                    "confirm.upgraded_by_adjacent",
                    f"alarm {source} in adjacent section {location.segment}/{location.section} "
                    f"{(now - item.raised_at).total_seconds():g} s later",
                )
            elif video is not None and self._video_covers(video, item.location):
                reason = Reason(
                    "confirm.upgraded_by_video",
                    f"{video.rule} on camera {video.camera} "
                    f"{(now - item.raised_at).total_seconds():g} s later",
                )
            else:
                continue
            del self._open[alarm_id]
            out.append(
                self._graded(
                    Action.UPDATE,
                    alarm_id,
                    item.alarm_type,
                    item.location,
                    item.config,
                    weather,
                    base=item.config.base_priority,
                    confirmed=True,
                    swinger=item.swinger,
                    reasons=[*item.base_reasons, reason],
                    side=item.side,
                    source_id=item.source_id,
                )
            )
        return out

    def _fence_location(self, event: FenceEvent) -> tuple[Location, list[Reason]]:
        reasons: list[Reason] = []
        if event.position_m is not None:
            location = self.map.locate(event.fence, event.position_m)
            if location.clamped:
                reasons.append(
                    Reason(
                        "position.clamped",
                        f"position {event.position_m:g} m clamped to {location.position_m:g} m",
                    )
                )
            if event.section is not None and event.section != location.section:
                self.map.section(event.fence, event.section)
                reasons.append(
                    Reason(
                        "fence.section_mismatch",
                        f"controller named {event.section}; position lies in {location.section}",
                    )
                )
            return location, reasons
        if event.section is not None:
            return self.map.locate_section(event.fence, event.section), reasons
        segment = self.map.segment(event.fence)
        middle = segment.length_m / 2.0
        lon, lat = self.map.point_at(segment.code, middle)
        reasons.append(Reason("position.segment_only", "no section or position; segment midpoint"))
        return Location(segment.code, None, middle, lon, lat), reasons

    def _fence_restore(
        self,
        event: FenceEvent,
        location: Location,
        weather: WeatherContext,
        reasons: list[Reason],
    ) -> list[Decision]:
        whole = event.section is None and event.position_m is None
        cleared = [
            (key, active)
            for key, active in self._fence_active.items()
            if key[0] == location.segment and (whole or key[1] == location.section)
        ]
        out: list[Decision] = []
        for key, (alarm_id, where) in cleared:
            del self._fence_active[key]
            # Cleared at the spot where the condition was raised, not where the restore points.
            out.append(
                _plain(
                    Action.CLEAR,
                    alarm_id,
                    key[2],
                    where,
                    weather,
                    [*reasons, Reason("fence.restored", f"{key[2].value} restored")],
                    confirmed=True,
                    source_id=event.id,
                )
            )
        if not out:
            out.append(
                _plain(
                    Action.CLEAR,
                    event.id or self._next_id(),
                    AlarmType.FENCE_RESTORE,
                    location,
                    weather,
                    [
                        *reasons,
                        Reason("fence.restore_nothing_active", "no active fence condition here"),
                    ],
                    confirmed=True,
                    source_id=event.id,
                )
            )
        return out
