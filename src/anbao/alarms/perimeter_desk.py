"""The perimeter engine fed from the site models, its decisions turned into stored alarms."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from anbao.alarms import callup, payloads, services
from anbao.alarms.models import Alarm, SectionSettings, SourceType
from anbao.alarms.perimeter import PerimeterEngine
from anbao.alarms.perimeter_decisions import (
    Action,
    AlarmType,
    Decision,
    EngineSettings,
    SectionConfig,
    Unconfirmed,
    WeatherContext,
)
from anbao.alarms.perimeter_inputs import AnalyticsEvent, FenceEvent, IntrusionReport, WeatherReport
from anbao.alarms.perimeter_map import SectionGeo, SegmentGeo
from anbao.sites.models import AlarmSection, Event, PerimeterSegment

_SOURCE = {
    AlarmType.INTRUSION: SourceType.INTRUSION,
    AlarmType.FENCE_CUT: SourceType.FENCE_CUT,
    AlarmType.FENCE_SHORT: SourceType.FENCE_SHORT,
    AlarmType.FENCE_VOLTAGE_DROP: SourceType.FENCE_VOLTAGE,
    AlarmType.FENCE_TAMPER: SourceType.FENCE_TAMPER,
}
ARMING_PERIOD = timedelta(hours=12)
RELOAD_S = 30.0  # settings changed through the API reach a running worker within this


def _weather(w: WeatherContext) -> dict[str, Any]:
    out = asdict(w)
    if w.observed_at is not None:
        out["observed_at"] = w.observed_at.isoformat()
    return out


def section_configs(event: Event) -> dict[str, SectionConfig]:
    """Return the stored nuisance settings keyed as the engine wants them (seg or seg/sec)."""
    out = {}
    for s in SectionSettings.objects.filter(segment__event=event).select_related(
        "segment", "section"
    ):
        key = s.segment.code + (f"/{s.section.code}" if s.section else "")
        out[key] = SectionConfig(
            sensitivity_offset=s.sensitivity_offset,
            unconfirmed=Unconfirmed(s.unconfirmed),
            swinger_limit=s.swinger_limit,
            wind_sensitive=s.wind_sensitive,
            gust_threshold_mps=s.gust_threshold_mps,
            base_priority=s.base_priority,
        )
    return out


class PerimeterDesk:
    """One event's perimeter engine and the map from its alarm ids to stored alarms."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.segments: dict[str, PerimeterSegment] = {}
        self.sections: dict[tuple[str, str], AlarmSection] = {}
        geos = []
        for seg in PerimeterSegment.objects.filter(event=event).prefetch_related("sections"):
            self.segments[seg.code] = seg
            secs = []
            for sec in seg.sections.all():
                self.sections[(seg.code, sec.code)] = sec
                secs.append(SectionGeo(sec.code, sec.start_m, sec.end_m))
            geos.append(
                SegmentGeo.from_geojson(
                    seg.code,
                    seg.geometry,
                    length_m=seg.length_m,
                    sections=secs,
                    technology=seg.technology,
                )
            )
        self.engine = PerimeterEngine(
            geos,
            section_configs(event),
            EngineSettings(arming_period=ARMING_PERIOD),
            cameras=callup.camera_poses(event),
        )
        self._reloaded = time.monotonic()
        # The engine names its alarms; this maps them to the stored ones.
        self.stored: dict[str, int] = {}

    def reload_settings(self) -> None:
        """Take changed nuisance settings without losing the engine's windows and counts."""
        self.engine.set_section_config(section_configs(self.event))
        self._reloaded = time.monotonic()

    # -- inputs ----------------------------------------------------------------------------

    def intrusion(
        self, body: payloads.Intrusion, device: Any, at: datetime
    ) -> tuple[str, Alarm | None]:
        """Handle a leaky-cable report."""
        report = IntrusionReport(
            cable=body.cable,
            side=body.side,
            position_m=body.position_m,
            magnitude=body.magnitude,
            threshold=body.threshold,
            id=f"{device.external_id}:{body.id}",
            ts=body.ts,
        )
        if device.segment_code is not None and body.cable != device.segment_code:
            raise ValueError(f"{device.external_id} serves {device.segment_code}, not {body.cable}")
        return self._apply(self.engine.handle_intrusion(report, at), at)

    def fence(self, body: payloads.Fence, device: Any, at: datetime) -> tuple[str, Alarm | None]:
        """Handle a pulse-fence event."""
        if device.segment_code is not None and body.fence != device.segment_code:
            raise ValueError(f"{device.external_id} serves {device.segment_code}, not {body.fence}")
        event = FenceEvent.from_payload(
            {
                **body.model_dump(mode="json", exclude_none=True),
                "id": f"{device.external_id}:{body.id}",
            }
        )
        return self._apply(self.engine.handle_fence(event, at), at)

    def analytics(self, body: payloads.Analytics, device: Any, at: datetime) -> Alarm | None:
        """Offer a video event as confirmation; return the perimeter alarm it confirmed."""
        event = AnalyticsEvent.from_payload(
            {
                **body.model_dump(mode="json", exclude_none=True),
                "id": f"{device.external_id}:{body.id}",
            }
        )
        _outcome, alarm = self._apply(self.engine.handle_analytics(event, at), at)
        return alarm

    def weather(self, body: payloads.Weather, at: datetime) -> None:
        """Keep the weather for the decisions that follow."""
        report = WeatherReport.from_payload(body.model_dump(mode="json"))
        self._apply(self.engine.handle_weather(report, at), at)

    def tick(self, now: datetime) -> int:
        """Close confirmation windows and roll the arming period; return alarms changed."""
        if time.monotonic() - self._reloaded > RELOAD_S:
            self.reload_settings()
        return len(self._apply_all(self.engine.tick(now), now))

    # -- decisions to alarms ---------------------------------------------------------------

    def _apply(self, decisions: list[Decision], at: datetime) -> tuple[str, Alarm | None]:
        results = self._apply_all(decisions, at)
        return results[-1] if results else ("recorded", None)

    def _apply_all(self, decisions: list[Decision], at: datetime) -> list[tuple[str, Alarm | None]]:
        out = []
        for d in decisions:
            out.append(self._one(d, at))
        return out

    def _one(self, d: Decision, at: datetime) -> tuple[str, Alarm | None]:
        source_type = _SOURCE.get(d.alarm_type)
        details = {
            "engine_alarm": d.alarm_id,
            "reasons": [{"code": r.code, "text": r.text} for r in d.reasons],
            "weather": _weather(d.weather),
            "confirmed": d.confirmed,
            "pending": d.pending,
            "swinger": d.suppressed_as_swinger,
            "position_m": d.position_m,
            "side": d.side,
        }
        if d.action == Action.RECORD:
            code = d.reason_codes[-1] if d.reason_codes else "recorded"
            return code.split(".")[-1], None
        if d.action == Action.NOTE or source_type is None:
            return "noted", None
        key = self._key(d)
        if d.action == Action.CLEAR:
            services.clear(event=self.event, source_type=source_type, source_key=key, at=at)
            self.stored.pop(d.alarm_id, None)
            return "cleared", None
        if d.pending:
            # Held until a second source confirms it or its window closes.
            return "pending_confirmation", None
        stored = self.stored.get(d.alarm_id)
        if d.action == Action.UPDATE and stored is not None:
            alarm = services.update_from_engine(
                alarm_id=stored, priority=d.priority, details=details, at=at
            )
            return ("confirmed" if d.confirmed else "updated"), alarm
        segment = self.segments.get(d.segment or "")
        section = self.sections.get((d.segment or "", d.section or ""))
        result = services.trigger(
            event=self.event,
            source_type=source_type,
            source_key=key,
            at=at,
            segment=segment,
            section=section,
            lon=d.lon,
            lat=d.lat,
            priority=d.priority,
            details=details,
        )
        if result.alarm is not None:
            self.stored[d.alarm_id] = result.alarm.pk
            while len(self.stored) > 10_000:  # only recent engine alarms can still change
                self.stored.pop(next(iter(self.stored)))
        return result.outcome, result.alarm

    @staticmethod
    def _key(d: Decision) -> str:
        if d.section:
            return f"section:{d.segment}/{d.section}"
        return f"segment:{d.segment}"
