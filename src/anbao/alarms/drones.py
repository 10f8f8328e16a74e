"""Counter-drone desk: the tracker fed from the pipeline, tracks scored and stored.

Operator decisions are recorded; the system records them and transmits nothing.
"""

from __future__ import annotations

import time as _time
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Field

from anbao.accounts.models import User
from anbao.alarms import airspace, events, payloads, services, threat, tracker, tracker_types
from anbao.alarms.models import DroneAction, DroneActionKind, DroneTrack, DroneWhitelist, SourceType
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, NotFound
from anbao.sites.models import AirspaceVolume, Device, DeviceKind, Event, Venue

FLUSH_EVERY = timedelta(seconds=1)
WHITELIST_RELOAD_S = 30.0
TICK_LAG = timedelta(seconds=5)
TRAIL_POINTS = 120
ALARM_LEVELS = frozenset({"high", "critical"})
_ALARM_PRIORITY = {"high": 2, "critical": 1}


def _reference(event: Event) -> tuple[float, float]:
    radar = Device.objects.filter(event=event, kind=DeviceKind.RADAR, lon__isnull=False).first()
    if radar is not None and radar.lon is not None and radar.lat is not None:
        return radar.lon, radar.lat
    venue = Venue.objects.filter(event=event, geometry__isnull=False).first()
    if venue is not None and venue.geometry:
        ring = venue.geometry["coordinates"][0]
        return (
            sum(p[0] for p in ring) / len(ring),
            sum(p[1] for p in ring) / len(ring),
        )
    return 120.4855, 30.7495  # nothing placed yet: the frame only needs to be near the site


def _volumes(event: Event) -> list[airspace.NoFlyVolume]:
    out = []
    for v in AirspaceVolume.objects.filter(event=event):
        ring = v.geometry["coordinates"][0]
        windows = tuple(
            (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]))
            for w in v.active_windows
        )
        out.append(
            airspace.NoFlyVolume(
                code=v.code,
                polygon=tuple((float(p[0]), float(p[1])) for p in ring[:-1] or ring),
                floor_m=v.floor_m,
                ceiling_m=v.ceiling_m,
                windows=windows,
            )
        )
    return out


def whitelist_of(event: Event) -> airspace.Whitelist:
    """Return the event's authorised drones."""
    return airspace.Whitelist(
        airspace.WhitelistEntry(
            serial=w.serial, owner=w.owner, valid_from=w.valid_from, valid_until=w.valid_until
        )
        for w in DroneWhitelist.objects.filter(event=event)
    )


class DroneDesk:
    """One event's tracker, airspace and whitelist, and the tracks stored from them."""

    def __init__(self, event: Event) -> None:
        self.event = event
        lon, lat = _reference(event)
        self.tracker = tracker.Tracker(lon, lat)
        self.airspace = airspace.Airspace(_volumes(event), self.tracker.frame)
        self.whitelist = whitelist_of(event)
        self._whitelist_at = _time.monotonic()
        self._last_flush: datetime | None = None
        self._latest: datetime | None = None
        self._stepped: datetime | None = None
        self._alarms: dict[str, int] = {}
        # The stored rows of live tracks: reading 200 rows and their trails back every
        # second cost more than writing them.
        self._rows: dict[str, DroneTrack] = {}

    def _fresh(self, t: datetime) -> bool:
        # The tracker takes measurements in time order; a late or replayed one changes nothing.
        newest = max((x for x in (self._latest, self._stepped) if x is not None), default=None)
        if newest is not None and t < newest - timedelta(
            seconds=self.tracker.config.max_lateness_s
        ):
            return False
        self._latest = t if self._latest is None else max(self._latest, t)
        return True

    def radar(self, body: payloads.Plots, t: datetime) -> str:
        """Feed one radar scan's plots."""
        if not self._fresh(t):
            return "stale"
        o = body.origin
        plots = [
            tracker_types.RadarPlot(
                t=t,
                origin_lon=o.lon,
                origin_lat=o.lat,
                origin_alt_m=o.alt_m,
                range_m=p.range_m,
                azimuth_deg=p.azimuth_deg % 360.0,
                elevation_deg=p.elevation_deg,
                radial_speed_mps=p.radial_speed_mps,
            )
            for p in body.plots
        ]
        if plots:
            self.tracker.update_radar(plots)
        return "tracked"

    def bearing(self, body: payloads.Bearing, t: datetime) -> str:
        """Feed one RF line of bearing."""
        if not self._fresh(t):
            return "stale"
        result = self.tracker.update_rf(
            tracker_types.RfBearing(
                t=t,
                origin_lon=body.origin.lon,
                origin_lat=body.origin.lat,
                bearing_deg=body.bearing_deg % 360.0,
                bearing_sd_deg=max(body.bearing_sd_deg, 0.1),
                frequency_mhz=body.frequency_mhz,
                rssi_dbm=body.rssi_dbm,
            )
        )
        return "rf_corroborated" if result.corroborated else "rf_only"

    def remote_id(self, frame: payloads.RidFrame, device: Any) -> str:
        """Feed one Remote ID reception from a receiver at its registered position."""
        if device.lon is None or device.lat is None:
            raise ValueError(f"receiver {device.external_id} has no registered position")
        if not self._fresh(frame.received):
            return "stale"
        snap = self.tracker.update_remote_id(
            frame.received, frame.messages, (device.lon, device.lat), transmitter=None
        )
        return "tracked" if snap is not None else "identity"

    def flush(self, now: datetime) -> None:
        """Store the tracks, scored, at most once a second; raise or fold drone alarms."""
        if self._last_flush is not None and now - self._last_flush < FLUSH_EVERY:
            return
        self._last_flush = now
        snaps = self.tracker.tracks()
        if not snaps:
            return
        try:
            self._store(snaps, self._latest or now)
        except Exception:
            self._rows.clear()  # a rolled-back row must be read again, not trusted
            raise

    def _store(self, snaps: list[tracker_types.TrackSnapshot], at: datetime) -> None:
        existing = self._rows
        missing = [s.track_id for s in snaps if s.track_id not in existing]
        if missing:
            for stored in DroneTrack.objects.filter(event=self.event, track_id__in=missing):
                existing[stored.track_id] = stored
        changed: list[DroneTrack] = []
        for snap in snaps:
            assessment = threat.assess(snap, self.airspace, self.whitelist, at)
            row = existing.get(snap.track_id)
            point = [
                round(snap.lon, 7),
                round(snap.lat, 7),
                round(snap.alt_m, 1),
                snap.last_update.isoformat(),
            ]
            data = {
                "serial": snap.serial or "",
                "last_seen": snap.last_update,
                "status": snap.status,
                "lon": snap.lon,
                "lat": snap.lat,
                "alt_m": snap.alt_m,
                "score": assessment.score,
                "level": str(assessment.level),
                "authorised": assessment.authorised_by is not None,
                "snapshot": {
                    **snap.to_dict(),
                    "threat": assessment.to_dict(),
                    "pilot": tracker_types.pilot_location(snap).to_dict(),
                },
            }
            if row is None:
                row = existing[snap.track_id] = DroneTrack.objects.create(
                    event=self.event,
                    track_id=snap.track_id,
                    first_seen=snap.first_seen,
                    trail=[point],
                    **data,
                )
            else:
                for k, v in data.items():
                    setattr(row, k, v)
                row.trail = [*row.trail[-(TRAIL_POINTS - 1) :], point]
                changed.append(row)
            if str(assessment.level) in ALARM_LEVELS and assessment.authorised_by is None:
                result = services.trigger(
                    event=self.event,
                    source_type=SourceType.DRONE,
                    source_key=f"drone:{snap.track_id}",
                    at=at,
                    lon=snap.lon,
                    lat=snap.lat,
                    priority=_ALARM_PRIORITY[str(assessment.level)],
                    details={
                        "serial": snap.serial,
                        "score": assessment.score,
                        "level": str(assessment.level),
                        "factors": [list(f.as_tuple()) for f in assessment.factors],
                        "volume": assessment.volume,
                        "spoof": [f.to_dict() for f in snap.spoof_flags],
                    },
                )
                if result.alarm is not None and row.alarm_id != result.alarm.pk:
                    row.alarm = result.alarm
                    row.save(update_fields=["alarm"])
            bus.publish(
                events.DroneTrackUpdated(
                    track_id=snap.track_id,
                    event=self.event.code,
                    serial=snap.serial or "",
                    lon=snap.lon,
                    lat=snap.lat,
                    alt_m=snap.alt_m,
                    score=assessment.score,
                    level=str(assessment.level),
                    authorised=assessment.authorised_by is not None,
                )
            )
        _write_tracks(changed)

    def tick(self, now: datetime) -> dict[str, int]:
        """Age the tracks; mark the ones the tracker dropped as lost; re-read the whitelist."""
        if _time.monotonic() - self._whitelist_at > WHITELIST_RELOAD_S:
            self.whitelist = whitelist_of(self.event)
            self._whitelist_at = _time.monotonic()
        # The clock moves the tracker on only as far as a lagging worker may still be behind:
        # measurements queued up to TICK_LAG ago are still tracked, not refused as late.
        at = now - TICK_LAG
        if self._latest is not None:
            at = max(at, self._latest)
        if self._stepped is not None and at <= self._stepped:
            return {"tracks_lost": 0}
        self._stepped = at
        try:
            gone = self.tracker.step(at)
        except ValueError:  # a device clock ahead of ours; the next message moves time on
            return {"tracks_lost": 0}
        if gone:
            DroneTrack.objects.filter(event=self.event, track_id__in=gone).update(status="lost")
            for track_id in gone:
                self._rows.pop(track_id, None)
        return {"tracks_lost": len(gone)}


# What a flush changes on a stored track (the alarm link is written on its own, when it moves).
_TRACK_FIELDS = (
    "serial",
    "last_seen",
    "status",
    "lon",
    "lat",
    "alt_m",
    "score",
    "level",
    "authorised",
    "snapshot",
    "trail",
)


def _write_tracks(rows: list[DroneTrack]) -> None:
    """Update stored tracks with one ``executemany``; ``save`` per row was most of a flush."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = DroneTrack._meta
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in _TRACK_FIELDS]
    sets = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    pk = quote(str(cast("Field[Any, Any]", meta.get_field("id")).column))
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {pk} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def record_action(
    *, event: Event, track_id: str, user: User, action: str, note: str = ""
) -> DroneAction:
    """Record an operator's decision on a drone; for locate_pilot, store where the pilot is."""
    if action not in DroneActionKind.values:
        raise DomainError("alarms.bad_drone_action", f"action is one of {DroneActionKind.values}")
    with transaction.atomic():
        track = (
            DroneTrack.objects.select_for_update().filter(event=event, track_id=track_id).first()
        )
        if track is None:
            raise NotFound("alarms.unknown_track", f"no drone track {track_id}")
        result: dict[str, Any] = {}
        if action == DroneActionKind.LOCATE_PILOT:
            result = track.snapshot.get("pilot") or {"known": False, "reason": "not_tracked"}
        row = DroneAction.objects.create(
            track=track, at=clock.now(), action=action, user=user, note=note[:500], result=result
        )
        audit.record(f"drone.{action}", obj=track, after={"note": note, **result})
    return row
