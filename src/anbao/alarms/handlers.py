"""What each kind of device message does: the handlers behind the ingestion pipeline.

Heartbeats and sensor fixes stay in memory and are flushed periodically; alarm-bearing
messages go through the perimeter engine or straight to the alarm lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from anbao.alarms import payloads, services
from anbao.alarms.drones import DroneDesk
from anbao.alarms.models import Alarm, SourceType, WeatherReading
from anbao.alarms.perimeter_desk import PerimeterDesk
from anbao.sites import devices
from anbao.sites.models import Device, Event

_T = TypeVar("_T")

# A worker that ticks every second may keep last-seen times in memory this long between
# writes (they are written before every silence check, and at once for a device that was
# offline); the offline timeout is 90 s.
SEEN_FLUSH_EVERY = timedelta(seconds=1)


@dataclass
class DeviceInfo:
    """A registered device as the pipeline sees it (kept in memory)."""

    pk: int
    external_id: str
    kind: str
    name: str
    lon: float | None
    lat: float | None
    segment_code: str | None
    last_seen: datetime | None
    dirty: bool = False
    online: bool = True


@dataclass(frozen=True)
class Outcome:
    """What handling one message did, and the alarm it touched."""

    name: str
    alarm: Alarm | None = None


_VIDEO = {
    "line_crossing": SourceType.LINE_CROSSING,
    "intrusion": SourceType.VIDEO_INTRUSION,
    "loitering": SourceType.LOITERING,
}
_DOOR = {"forced": SourceType.DOOR_FORCED, "held": SourceType.DOOR_HELD}


def _as(body: object, cls: type[_T]) -> _T:
    if not isinstance(body, cls):  # decode() pairs kinds and bodies; this guards a mismatch
        raise ValueError(f"expected a {cls.__name__} body")
    return body


class Handlers:
    """Per-kind handling for one event's devices."""

    def __init__(self, event: Event, registry: dict[str, DeviceInfo]) -> None:
        self.event = event
        self.registry = registry
        self.perimeter = PerimeterDesk(event)
        self.drones = DroneDesk(event)
        self.devices: dict[int, Device] = {}
        # Zero: every batch writes its last-seen times (a pipeline nobody ticks needs that).
        self.seen_flush_every = timedelta(0)
        self._seen_flushed: datetime | None = None
        self._seen_urgent = False

    def handle(self, decoded: payloads.Decoded, device: DeviceInfo, received: datetime) -> Outcome:
        """Handle one accepted message; raise ``ValueError`` for one that cannot be placed."""
        self._seen(device, received)
        body = decoded.body
        match decoded.kind:
            case "heartbeat":
                return Outcome("heartbeat")
            case "intrusion":
                body = _as(body, payloads.Intrusion)
                return self._alarm_outcome(self.perimeter.intrusion(body, device, received))
            case "fence":
                body = _as(body, payloads.Fence)
                return self._alarm_outcome(self.perimeter.fence(body, device, received))
            case "analytics":
                body = _as(body, payloads.Analytics)
                return self._analytics(body, device, received)
            case "weather":
                body = _as(body, payloads.Weather)
                WeatherReading.objects.get_or_create(
                    device_id=device.pk,
                    at=decoded.ts,
                    defaults={
                        "wind_mps": body.wind_mps,
                        "gust_mps": body.gust_mps,
                        "wind_dir_deg": body.wind_dir_deg,
                        "rain_mmph": body.rain_mmph,
                    },
                )
                self.perimeter.weather(body, received)
                return Outcome("weather")
            case "panic":
                body = _as(body, payloads.Panic)
                return self._switch(SourceType.PANIC, device, received, body.state == "pressed", {})
            case "door":
                body = _as(body, payloads.Door)
                if body.event == "closed":
                    n = sum(
                        services.clear(
                            event=self.event,
                            source_type=st,
                            source_key=f"door:{device.external_id}/{body.door}",
                            at=received,
                        )
                        for st in _DOOR.values()
                    )
                    return Outcome("cleared" if n else "no_alarm")
                return self._switch(
                    _DOOR[body.event],
                    device,
                    received,
                    True,
                    {"door": body.door},
                    key=f"door:{device.external_id}/{body.door}",
                )
            case "plots":
                body = _as(body, payloads.Plots)
                return Outcome(self.drones.radar(body, decoded.ts))
            case "bearing":
                body = _as(body, payloads.Bearing)
                return Outcome(self.drones.bearing(body, decoded.ts))
            case "rid":
                body = _as(body, payloads.RidFrame)
                return Outcome(self.drones.remote_id(body, device))
        raise ValueError(f"no handler for kind {decoded.kind}")

    def _alarm_outcome(self, result: tuple[str, Alarm | None]) -> Outcome:
        return Outcome(result[0], result[1])

    def _analytics(self, body: payloads.Analytics, device: DeviceInfo, at: datetime) -> Outcome:
        source_type = _VIDEO[body.rule]
        key = f"camera:{body.camera}/{body.rule}"
        if body.state == "end":
            n = services.clear(event=self.event, source_type=source_type, source_key=key, at=at)
            return Outcome("cleared" if n else "no_alarm")
        confirmed = self.perimeter.analytics(body, device, at)
        if confirmed is not None:
            # The video confirmed a perimeter alarm: that alarm carries it, no second alarm.
            return Outcome("confirmed_perimeter", confirmed)
        lon = body.point.lon if body.point else device.lon
        lat = body.point.lat if body.point else device.lat
        result = services.trigger(
            event=self.event,
            source_type=source_type,
            source_key=key,
            at=at,
            device=self._device(device),
            lon=lon,
            lat=lat,
            details={"object": body.object, "confidence": body.confidence, "camera": body.camera},
        )
        return Outcome(result.outcome, result.alarm)

    def _switch(
        self,
        source_type: str,
        device: DeviceInfo,
        at: datetime,
        on: bool,
        details: dict[str, Any],
        key: str | None = None,
    ) -> Outcome:
        key = key or f"device:{device.external_id}"
        if not on:
            n = services.clear(event=self.event, source_type=source_type, source_key=key, at=at)
            return Outcome("cleared" if n else "no_alarm")
        result = services.trigger(
            event=self.event,
            source_type=source_type,
            source_key=key,
            at=at,
            device=self._device(device),
            lon=device.lon,
            lat=device.lat,
            details=details,
        )
        return Outcome(result.outcome, result.alarm)

    def _device(self, info: DeviceInfo) -> Device:
        # One query per alarm was a tenth of a busy batch; the registry's reload empties this.
        found = self.devices.get(info.pk)
        if found is None:
            found = self.devices[info.pk] = Device.objects.get(pk=info.pk)
        return found

    def _seen(self, device: DeviceInfo, at: datetime) -> None:
        if device.last_seen is None or at > device.last_seen:
            device.last_seen = at
            device.dirty = True
        if not device.online:
            # Back from silence: it must come online (and clear its alarm) in this batch.
            device.online = True
            self._seen_urgent = True

    def flush(self, now: datetime, *, force: bool = False) -> None:
        """Store what is kept in memory: last-seen times (about once a second) and tracks."""
        due = (
            force
            or self._seen_urgent
            or self._seen_flushed is None
            or not timedelta(0) <= now - self._seen_flushed < self.seen_flush_every
        )
        if due:
            self._flush_seen(now)
        self.drones.flush(now)

    def _flush_seen(self, now: datetime) -> None:
        self._seen_flushed, self._seen_urgent = now, False
        seen = {}
        for d in self.registry.values():
            if d.dirty:
                d.dirty = False
                if d.last_seen is not None:
                    seen[d.pk] = d.last_seen
        devices.mark_seen(seen)

    def tick(self, now: datetime) -> dict[str, int]:
        """Mark silent devices offline (their alarms follow on the bus) and age the tracks."""
        self._flush_seen(now)  # the silence check reads the stored times
        gone = devices.mark_silent_devices_offline()
        for external_id in gone:
            info = self.registry.get(external_id)
            if info is not None:
                info.online = False
        out = {"offline": len(gone)}
        # Held perimeter alarms are released, and the arming period rolls, on the clock too.
        out["perimeter"] = self.perimeter.tick(now)
        out.update(self.drones.tick(now))
        return out
