"""What each kind of device message does: the handlers behind the ingestion pipeline.

Heartbeats and sensor fixes stay in memory and are flushed periodically; alarm-bearing
messages go through the perimeter engine or straight to the alarm lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection

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
TRACKS_AFTER_SEEN = timedelta(milliseconds=400)


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
    stored_seen: datetime | None = None  # the last-seen time the database holds


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
        # The devices whose last-seen time changed since the last write: a fleet of tens of
        # thousands must not be walked every second to find them.
        self._dirty: list[DeviceInfo] = []

    def handle(self, decoded: payloads.Decoded, device: DeviceInfo, received: datetime) -> Outcome:
        """Handle one accepted message; raise ``ValueError`` for one that cannot be placed."""
        self.seen(device, received)
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

    def seen(self, device: DeviceInfo, at: datetime) -> None:
        """Note that a device was heard from (kept in memory, written by ``flush``)."""
        if device.last_seen is None or at > device.last_seen:
            device.last_seen = at
            if not device.dirty:
                device.dirty = True
                self._dirty.append(device)
        if not device.online:
            # Back from silence: it must come online (and clear its alarm) in this batch.
            device.online = True
            self._seen_urgent = True

    def flush(self, now: datetime, *, force: bool = False) -> None:
        """Store what is kept in memory: last-seen times (each at most once a second) and tracks.

        A device's time is written in the first batch after it moved a full
        ``seen_flush_every`` past the stored one, so a fleet's writes spread over the batches
        instead of one large write a second (a stall every alarm behind it waited out); a
        device heard from more often is held in memory in between. The tick writes them all.
        """
        if force or self._seen_urgent or not self.seen_flush_every:
            self._flush_seen(now)
        elif self._dirty:
            self._flush_seen_due()
        # A worker writes the tracks about half a second away from the last-seen times: the
        # two once-a-second writes in one batch made a stall that every alarm behind it felt.
        if (
            not self.seen_flush_every
            or self._seen_flushed is None
            or not timedelta(0) <= now - self._seen_flushed < TRACKS_AFTER_SEEN
        ):
            self.drones.flush(now)

    def _flush_seen(self, now: datetime) -> None:
        self._seen_flushed, self._seen_urgent = now, False
        dirty, self._dirty = self._dirty, []
        self._write_seen(dirty)

    def _flush_seen_due(self) -> None:
        every = self.seen_flush_every
        due, held = [], []
        for d in self._dirty:
            if d.stored_seen is None or d.last_seen is None or d.last_seen - d.stored_seen >= every:
                due.append(d)
            else:
                held.append(d)
        self._dirty = held
        self._write_seen(due)

    def _write_seen(self, dirty: list[DeviceInfo]) -> None:
        seen = {}
        for d in dirty:
            d.dirty = False
            if d.last_seen is not None:
                seen[d.pk] = d.last_seen
        try:
            write_last_seen(seen)
        except Exception:
            # The times must still be written on the next try.
            for d in dirty:
                if not d.dirty:
                    d.dirty = True
                    self._dirty.append(d)
            raise
        for d in dirty:
            if d.last_seen is not None:
                d.stored_seen = d.last_seen

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


def _db_times(values: list[datetime]) -> list[Any]:
    """Return datetimes as the database takes them, as Django's adapter would, only faster.

    SQLite keeps naive UTC text, ``str`` of the naive datetime; Django's adapter (and the
    connection proxy behind it) spent more per value than the update itself. Any other
    set-up goes through Django.
    """
    adapt = connection.ops.adapt_datetimefield_value
    if not (connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone is UTC):
        return [adapt(v) for v in values]
    # A transport stamps a whole read with one time: many devices share each value.
    memo: dict[datetime, Any] = {}
    out = []
    for v in values:
        text = memo.get(v)
        if text is None:
            if v.tzinfo is None:
                text = adapt(v)
            else:
                text = str((v if v.tzinfo is UTC else v.astimezone(UTC)).replace(tzinfo=None))
            memo[v] = text
        out.append(text)
    return out


def write_last_seen(seen: dict[int, datetime]) -> None:
    """Store last-seen times (by pk) with one statement; offline devices come back online.

    Django's ``bulk_update`` builds a CASE expression per row, tens of microseconds a device:
    at twenty thousand heartbeats a second that was half the worker. Online devices only move
    their time, in one ``executemany``; a device the database holds offline goes through
    ``devices.mark_seen``, which brings it back online and announces it.
    """
    if not seen:
        return
    table = connection.ops.quote_name(Device._meta.db_table)
    column = connection.ops.quote_name(Device._meta.get_field("last_seen").column)
    online = connection.ops.quote_name(Device._meta.get_field("online").column)
    pk = connection.ops.quote_name(Device._meta.pk.column)
    rows = list(zip(_db_times(list(seen.values())), seen, strict=True))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {online}",  # noqa: S608
            rows,
        )
        updated = cursor.rowcount
    if updated == len(rows):
        return
    offline = Device.objects.filter(pk__in=list(seen), online=False).values_list("pk", flat=True)
    back = {key: seen[key] for key in offline}
    if back:
        devices.mark_seen(back)
