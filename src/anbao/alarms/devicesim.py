"""Simulated perimeter and counter-drone devices that speak the real MQTT formats.

Pure Python, no Django, no network: each scenario takes plain site data, an event code, a
start time and a seed, and returns the time-ordered messages the devices would publish
(``SimMessage``: when, topic, payload bytes).  The demo and the tests feed them to the same
ingestion code as real devices; ``mix`` yields a long realistic stream for benchmarks.
Distances and bearings are geodesic on WGS 84 (pyproj); radar and RF geometry is local
(flat earth around the sensor), which is exact enough within a few kilometres.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyproj import Geod

from anbao.alarms import ridencode
from anbao.alarms.payloads import rid_frame, topic_for

_GEOD = Geod(ellps="WGS84")
_LOCAL = timedelta(hours=8)  # Asia/Shanghai has no daylight saving time

LonLat = tuple[float, float]


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One simulated publication."""

    at: datetime
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Section:
    """An alarm section of a perimeter segment, metres along the line."""

    code: str
    start_m: float
    end_m: float


@dataclass(frozen=True, slots=True)
class Segment:
    """A perimeter segment: its line (lon, lat), sections and the controller that reports it."""

    code: str
    line: tuple[LonLat, ...]
    sections: tuple[Section, ...]
    device_type: str  # leaky_cable_processor or fence_controller
    device_id: str

    def length_m(self) -> float:
        """Return the geodesic length of the line."""
        return sum(_distance(a, b) for a, b in zip(self.line, self.line[1:], strict=False))

    def point_at(self, position_m: float) -> LonLat:
        """Return the point ``position_m`` metres along the line from its first point."""
        remaining = max(position_m, 0.0)
        for a, b in zip(self.line, self.line[1:], strict=False):
            azimuth, _back, length = _GEOD.inv(a[0], a[1], b[0], b[1])
            if remaining <= length:
                lon, lat, _ = _GEOD.fwd(a[0], a[1], azimuth, remaining)
                return float(lon), float(lat)
            remaining -= length
        return self.line[-1]

    def section_at(self, position_m: float) -> Section | None:
        """Return the section holding a position, if any."""
        for section in self.sections:
            if section.start_m <= position_m < section.end_m:
                return section
        return None


@dataclass(frozen=True, slots=True)
class Camera:
    """A camera's position."""

    code: str
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class Sensor:
    """A surveyed sensor (radar, RF or Remote ID receiver): device id and position."""

    device_id: str
    lon: float
    lat: float
    alt_m: float


@dataclass(frozen=True, slots=True)
class Device:
    """A device that sends heartbeats."""

    device_type: str
    device_id: str


@dataclass(frozen=True)
class SimSite:
    """The plain site data the simulators need."""

    event: str
    segments: tuple[Segment, ...]
    cameras: tuple[Camera, ...]
    analytics_device: str  # the camera analytics server that publishes ``analytics``
    radar: Sensor
    rf: Sensor
    rid_receiver: Sensor
    weather_station: str
    no_fly: tuple[LonLat, ...]  # outer ring of the no-fly polygon
    target: LonLat  # the protected venue's centre, where the drones head
    devices: tuple[Device, ...] = ()
    ground_alt_m: float = 10.0  # terrain height above the ellipsoid

    def segments_of(self, device_type: str) -> list[Segment]:
        """Return the segments reported by one controller type."""
        return [s for s in self.segments if s.device_type == device_type]

    def segment(self, code: str) -> Segment:
        """Return a segment by code; raise KeyError when unknown."""
        for candidate in self.segments:
            if candidate.code == code:
                return candidate
        raise KeyError(code)


# --- helpers -----------------------------------------------------------------------------


def _distance(a: LonLat, b: LonLat) -> float:
    return float(_GEOD.inv(a[0], a[1], b[0], b[1])[2])


def distance_m(a: LonLat, b: LonLat) -> float:
    """Return the geodesic distance between two (lon, lat) points."""
    return _distance(a, b)


def azimuth_deg(a: LonLat, b: LonLat) -> float:
    """Return the initial geodesic azimuth from a to b, 0..360 clockwise from north."""
    return float(_GEOD.inv(a[0], a[1], b[0], b[1])[0]) % 360.0


def destination(origin: LonLat, azimuth: float, distance: float) -> LonLat:
    """Return the point at a geodesic azimuth and distance from an origin."""
    lon, lat, _ = _GEOD.fwd(origin[0], origin[1], azimuth, distance)
    return float(lon), float(lat)


def polar_to_point(
    origin: Sensor, range_m: float, azimuth: float, elevation: float
) -> tuple[float, float, float]:
    """Invert a radar plot: (lon, lat, altitude) of a polar detection around a sensor."""
    ground = range_m * math.cos(math.radians(elevation))
    lon, lat = destination((origin.lon, origin.lat), azimuth, ground)
    return lon, lat, origin.alt_m + range_m * math.sin(math.radians(elevation))


def _iso(moment: datetime, offset: timedelta = timedelta(0)) -> str:
    local = moment.astimezone(UTC) + offset
    text = local.replace(tzinfo=None).isoformat(timespec="milliseconds")
    if not offset:
        return text + "Z"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _check_start(start: datetime) -> datetime:
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    return start.astimezone(UTC)


class _Ids:
    """Unique message ids for one scenario run: a tag, the seed's digest and a counter."""

    def __init__(self, tag: str, seed: int) -> None:
        digest = hashlib.sha256(f"{tag}:{seed}".encode()).digest()
        self._prefix = f"{tag}-{digest[:4].hex()}-"
        self._uuid_high = int.from_bytes(digest[4:12], "big") << 64
        self._count = 0

    def text(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:x}"

    def uuid_bytes(self) -> bytes:
        self._count += 1
        return uuid.UUID(int=self._uuid_high | self._count).bytes


def _rng(seed: int) -> random.Random:
    # Simulation, not secrets: a seeded generator makes every scenario reproducible.
    return random.Random(seed)  # noqa: S311


def _sorted(messages: Iterable[SimMessage]) -> list[SimMessage]:
    return sorted(messages, key=lambda m: m.at)


def merge(*streams: Iterable[SimMessage]) -> Iterator[SimMessage]:
    """Merge time-ordered streams into one time-ordered stream."""
    return heapq.merge(*streams, key=lambda m: m.at)


def _nearest_camera(site: SimSite, point: LonLat) -> Camera:
    if not site.cameras:
        raise ValueError("the site has no cameras")
    return min(site.cameras, key=lambda c: _distance((c.lon, c.lat), point))


# --- perimeter scenarios -----------------------------------------------------------------


def intruders(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    count: int = 3,
    spacing_s: float = 900.0,
    threshold: float = 30.0,
    two_sections_every: int = 3,
) -> list[SimMessage]:
    """Simulate people crossing the canal bank: cable intrusions, then camera analytics.

    Every ``two_sections_every``-th intruder crosses near a section boundary, so the cable
    reports it on both adjacent sections.  Start the scenario at night for realism.
    """
    start = _check_start(start)
    rng = _rng(seed)
    ids = _Ids("intr", seed)
    cables = [s for s in site.segments_of("leaky_cable_processor") if s.sections]
    if not cables:
        raise ValueError("the site has no leaky-cable segment with sections")
    out: list[SimMessage] = []
    for index in range(count):
        cable = rng.choice(cables)
        at = start + timedelta(seconds=index * spacing_s + rng.uniform(0, spacing_s / 3))
        two = two_sections_every > 0 and index % two_sections_every == two_sections_every - 1
        if two and len(cable.sections) >= 2:
            k = rng.randrange(len(cable.sections) - 1)
            boundary = cable.sections[k].end_m
            positions = [boundary - rng.uniform(2, 8), boundary + rng.uniform(2, 8)]
        else:
            section = rng.choice(cable.sections)
            margin = min(10.0, (section.end_m - section.start_m) / 4)
            positions = [rng.uniform(section.start_m + margin, section.end_m - margin)]
        side = rng.choice(("inner", "outer"))
        topic = topic_for(site.event, cable.device_type, cable.device_id, "intrusion")
        for offset, position in enumerate(positions):
            moment = at + timedelta(milliseconds=300 * offset)
            body = {
                "id": ids.text(),
                "ts": _iso(moment),
                "cable": cable.code,
                "side": side,
                "position_m": round(position, 1),
                "magnitude": round(rng.uniform(threshold * 1.3, threshold * 2.8), 1),
                "threshold": threshold,
            }
            out.append(SimMessage(moment, topic, _json(body)))
        mean = sum(positions) / len(positions)
        lon, lat = cable.point_at(mean)
        lon, lat = destination((lon, lat), rng.uniform(0, 360), rng.uniform(0, 4))
        camera = _nearest_camera(site, (lon, lat))
        region = f"{cable.code}/{(cable.section_at(positions[0]) or cable.sections[0]).code}"
        seen = at + timedelta(seconds=rng.uniform(3, 8))
        gone = seen + timedelta(seconds=rng.uniform(20, 90))
        analytics = topic_for(site.event, "camera", site.analytics_device, "analytics")
        for state, moment in (("start", seen), ("end", gone)):
            body = {
                "id": ids.text(),
                "ts": _iso(moment),
                "camera": camera.code,
                "rule": "intrusion",
                "state": state,
                "object": "human",
                "confidence": round(rng.uniform(0.72, 0.98), 2),
                "region": region,
                "point": {"lon": round(lon, 7), "lat": round(lat, 7)},
            }
            out.append(SimMessage(moment, analytics, _json(body)))
    return _sorted(out)


def wind_gusts(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    duration_s: float = 3600.0,
    gust_start_s: float = 600.0,
    gust_end_s: float = 2400.0,
    threshold: float = 30.0,
    nuisance_every_s: float = 45.0,
) -> list[SimMessage]:
    """Simulate wind gusts: weather every 60 s and nuisance intrusions just over threshold."""
    start = _check_start(start)
    if not 0 <= gust_start_s <= gust_end_s <= duration_s:
        raise ValueError("need 0 <= gust_start_s <= gust_end_s <= duration_s")
    rng = _rng(seed)
    ids = _Ids("wind", seed)
    out: list[SimMessage] = []
    weather = topic_for(site.event, "weather_station", site.weather_station, "weather")
    direction = rng.uniform(290, 340)
    t = 0.0
    while t < duration_s:
        gusting = gust_start_s <= t < gust_end_s
        wind = rng.uniform(9.0, 12.0) if gusting else rng.uniform(3.0, 6.0)
        gust = rng.uniform(16.0, 24.0) if gusting else wind + rng.uniform(1.0, 4.0)
        moment = start + timedelta(seconds=t)
        body = {
            "id": ids.text(),
            "ts": _iso(moment, _LOCAL),  # the station's clock runs on local time
            "wind_mps": round(wind, 1),
            "gust_mps": round(gust, 1),
            "wind_dir_deg": round((direction + rng.gauss(0, 8)) % 360, 1),
            "rain_mmph": round(rng.uniform(0, 2), 1),
            "temperature_c": round(rng.uniform(8, 12), 1),
            "visibility_m": round(rng.uniform(6000, 12000)),
        }
        out.append(SimMessage(moment, weather, _json(body)))
        t += 60.0
    cables = site.segments_of("leaky_cable_processor")
    t = gust_start_s + rng.expovariate(1 / nuisance_every_s)
    while cables and t < gust_end_s:
        cable = rng.choice(cables)
        moment = start + timedelta(seconds=t)
        body = {
            "id": ids.text(),
            "ts": _iso(moment),
            "cable": cable.code,
            "side": rng.choice(("inner", "outer")),
            "position_m": round(rng.uniform(0, cable.length_m()), 1),
            "magnitude": round(threshold + rng.uniform(0.5, 4.0), 1),
            "threshold": threshold,
        }
        topic = topic_for(site.event, cable.device_type, cable.device_id, "intrusion")
        out.append(SimMessage(moment, topic, _json(body)))
        t += rng.expovariate(1 / nuisance_every_s)
    return _sorted(out)


def fence_cut(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    fence: str | None = None,
    restore_after_s: float = 900.0,
) -> list[SimMessage]:
    """Simulate a pulse fence cut on one section and restored later."""
    start = _check_start(start)
    rng = _rng(seed)
    ids = _Ids("fence", seed)
    fences = site.segments_of("fence_controller")
    if fence is not None:
        fences = [f for f in fences if f.code == fence]
    fences = [f for f in fences if f.sections]
    if not fences:
        raise ValueError("no fence segment with sections to cut")
    segment = rng.choice(fences)
    section = rng.choice(segment.sections)
    position = round(rng.uniform(section.start_m, section.end_m), 1)
    topic = topic_for(site.event, segment.device_type, segment.device_id, "fence")
    out = []
    for event, after, voltage in (("cut", 0.0, 0.0), ("restore", restore_after_s, 8.2)):
        moment = start + timedelta(seconds=after)
        body = {
            "id": ids.text(),
            "ts": _iso(moment, _LOCAL),
            "fence": segment.code,
            "section": section.code,
            "position_m": position,
            "event": event,
            "voltage_kv": voltage,
        }
        out.append(SimMessage(moment, topic, _json(body)))
    return out


# --- drones ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fix:
    at: datetime
    lon: float
    lat: float
    alt_m: float  # above the ellipsoid
    course_deg: float
    speed_mps: float


def _flight(
    site: SimSite, start: datetime, rng: random.Random, speed_mps: float, height_m: float
) -> tuple[LonLat, list[_Fix]]:
    """Fly straight from beside the canal to the protected venue, 10 fixes a second."""
    cables = site.segments_of("leaky_cable_processor") or list(site.segments)
    if not cables:
        raise ValueError("the site has no perimeter segment to launch from")
    cable = rng.choice(cables)
    bank = cable.point_at(rng.uniform(0.2, 0.8) * cable.length_m())
    # Launch from the far side of the bank, away from the venue.
    away = (azimuth_deg(site.target, bank)) % 360
    launch = destination(bank, away, rng.uniform(30, 80))
    course = azimuth_deg(launch, site.target)
    total = _distance(launch, site.target)
    alt = site.ground_alt_m + height_m
    fixes = []
    step = 0.1
    t = 0.0
    while t * speed_mps <= total:
        lon, lat = destination(launch, course, t * speed_mps)
        fixes.append(_Fix(start + timedelta(seconds=t), lon, lat, alt, course, speed_mps))
        t = round(t + step, 1)
    return launch, fixes


def _radar_scans(
    site: SimSite, fixes: Sequence[_Fix], rng: random.Random, ids: _Ids, clutter: float
) -> list[SimMessage]:
    radar = site.radar
    topic = topic_for(site.event, "radar", radar.device_id, "plots")
    origin = {"lon": radar.lon, "lat": radar.lat, "alt_m": radar.alt_m}
    out = []
    previous_range: float | None = None
    for index in range(0, len(fixes), 1):
        fix = fixes[index]
        if round((fix.at - fixes[0].at).total_seconds() * 10) % 10 not in (0, 2, 5, 7):
            continue  # 4 scans a second out of the 10 Hz truth
        ground = _distance((radar.lon, radar.lat), (fix.lon, fix.lat))
        up = fix.alt_m - radar.alt_m
        slant = math.hypot(ground, up)
        plots = [
            {
                "range_m": round(abs(slant + rng.gauss(0, 3.0)), 1),
                "azimuth_deg": round(
                    (azimuth_deg((radar.lon, radar.lat), (fix.lon, fix.lat)) + rng.gauss(0, 0.3))
                    % 360,
                    2,
                ),
                "elevation_deg": round(
                    max(-90.0, min(90.0, math.degrees(math.atan2(up, ground)) + rng.gauss(0, 0.4))),
                    2,
                ),
                "radial_speed_mps": round(
                    (
                        (slant - previous_range) / 0.25
                        if previous_range is not None
                        else -fix.speed_mps
                    )
                    + rng.gauss(0, 0.3),
                    2,
                ),
                "rcs_dbsm": round(-18 + rng.gauss(0, 2), 1),
            }
        ]
        previous_range = slant
        if rng.random() < clutter:
            plots.append(_clutter_plot(rng))
        body = {"id": ids.text(), "ts": _iso(fix.at), "origin": origin, "plots": plots}
        out.append(SimMessage(fix.at, topic, _json(body)))
    return out


def _clutter_plot(rng: random.Random) -> dict[str, float]:
    return {
        "range_m": round(rng.uniform(200, 3000), 1),
        "azimuth_deg": round(rng.uniform(0, 359.99), 2),
        "elevation_deg": round(rng.uniform(0, 8), 2),
        "radial_speed_mps": round(rng.gauss(0, 4), 2),
        "rcs_dbsm": round(rng.uniform(-30, -20), 1),
    }


def drone_with_remote_id(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    speed_mps: float = 12.0,
    height_m: float = 80.0,
    serial: str = "1596F3A2B4C5D6E7F8",
    operator: str = "CHN87astrdge12k8",
    clutter: float = 0.0,
) -> list[SimMessage]:
    """Simulate a drone flying from the canal to the venue with Remote ID on, and radar."""
    start = _check_start(start)
    rng = _rng(seed)
    ids = _Ids("ridd", seed)
    launch, fixes = _flight(site, start, rng, speed_mps, height_m)
    out = _radar_scans(site, fixes, rng, ids, clutter)
    receiver = site.rid_receiver
    topic = topic_for(site.event, "remote_id_receiver", receiver.device_id, "rid")
    static = [
        ridencode.basic_id(serial, id_type=1, ua_type=2),
        ridencode.operator_id(operator),
    ]
    for fix in fixes[::10]:
        location = ridencode.location(
            latitude=fix.lat + rng.gauss(0, 2e-6),
            longitude=fix.lon + rng.gauss(0, 2e-6),
            direction_deg=fix.course_deg,
            speed_horizontal_mps=fix.speed_mps,
            speed_vertical_mps=0.0,
            altitude_baro_m=fix.alt_m - 8.0,
            altitude_geo_m=fix.alt_m,
            height_m=height_m,
            height_type=0,
            horizontal_accuracy_m=3.0,
            vertical_accuracy_m=10.0,
            baro_accuracy_m=3.0,
            speed_accuracy_mps=1.0,
            timestamp_s=ridencode.seconds_after_hour(fix.at),
            timestamp_accuracy_s=0.2,
        )
        system = ridencode.system(
            operator_latitude=launch[1],
            operator_longitude=launch[0],
            operator_location_type=1,
            area_count=1,
            area_ceiling_m=site.ground_alt_m + 120.0,
            area_floor_m=site.ground_alt_m,
            ua_category=1,
            ua_class=2,
            operator_altitude_geo_m=site.ground_alt_m + 1.5,
            timestamp=fix.at,
        )
        pack = ridencode.message_pack([static[0], location, system, static[1]])
        received = fix.at + timedelta(milliseconds=rng.randint(5, 60))
        out.append(SimMessage(received, topic, rid_frame(ids.uuid_bytes(), received, pack)))
    return _sorted(out)


def drone_without_remote_id(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    speed_mps: float = 14.0,
    height_m: float = 60.0,
    frequency_mhz: float = 2437.0,
    clutter: float = 0.0,
) -> list[SimMessage]:
    """Simulate a drone without Remote ID: radar plots at 4 Hz and RF bearings at 1 Hz."""
    start = _check_start(start)
    rng = _rng(seed)
    ids = _Ids("dark", seed)
    _launch, fixes = _flight(site, start, rng, speed_mps, height_m)
    out = _radar_scans(site, fixes, rng, ids, clutter)
    rf = site.rf
    topic = topic_for(site.event, "rf_receiver", rf.device_id, "bearing")
    origin = {"lon": rf.lon, "lat": rf.lat, "alt_m": rf.alt_m}
    for fix in fixes[5::10]:
        distance = max(_distance((rf.lon, rf.lat), (fix.lon, fix.lat)), 1.0)
        body = {
            "id": ids.text(),
            "ts": _iso(fix.at),
            "origin": origin,
            "bearing_deg": round(
                (azimuth_deg((rf.lon, rf.lat), (fix.lon, fix.lat)) + rng.gauss(0, 2.0)) % 360, 1
            ),
            "bearing_sd_deg": 3.0,
            "frequency_mhz": frequency_mhz,
            "rssi_dbm": round(
                max(-120.0, -40.0 - 20 * math.log10(distance / 100) + rng.gauss(0, 2)), 1
            ),
            "protocol": "ocusync",
        }
        out.append(SimMessage(fix.at, topic, _json(body)))
    return _sorted(out)


# --- heartbeats --------------------------------------------------------------------------


def heartbeats(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    duration_s: float,
    period_s: float = 30.0,
    silent: Mapping[str, datetime] | None = None,
) -> list[SimMessage]:
    """Simulate heartbeats every ``period_s`` per device; a device in ``silent`` stops then."""
    start = _check_start(start)
    if period_s <= 0:
        raise ValueError("period_s must be positive")
    rng = _rng(seed)
    ids = _Ids("hb", seed)
    silent = dict(silent or {})
    end = start + timedelta(seconds=duration_s)
    out = []
    for device in site.devices:
        stop = (
            min(end, _check_start(silent[device.device_id])) if device.device_id in silent else end
        )
        uptime = rng.randrange(3600, 30 * 86400)
        battery = device.device_type in ("panic_button", "door_controller")
        topic = topic_for(site.event, device.device_type, device.device_id, "heartbeat")
        moment = start + timedelta(seconds=rng.uniform(0, period_s))
        elapsed = 0.0
        while moment < stop:
            body: dict[str, Any] = {
                "id": ids.text(),
                "ts": _iso(moment),
                "uptime_s": uptime + int(elapsed),
                "firmware": "2.4.1",
                "temperature_c": round(rng.uniform(18, 42), 1),
            }
            if battery:
                body["battery_pct"] = round(max(0.0, 97 - elapsed / 3600), 1)
            out.append(SimMessage(moment, topic, _json(body)))
            moment += timedelta(seconds=period_s)
            elapsed += period_s
    return _sorted(out)


# --- the benchmark mix -------------------------------------------------------------------

# Device types of the status fleet: they send nothing but heartbeats.
FLEET_TYPES = ("gate_scanner", "queue_sensor", "other")
_EARTH_M_PER_DEG = 111_320.0


def fleet(count: int, *, prefix: str = "FLEET") -> tuple[Device, ...]:
    """Return ``count`` heartbeat-only devices (gate scanners, queue sensors, others)."""
    return tuple(
        Device(FLEET_TYPES[i % len(FLEET_TYPES)], f"{prefix}-{i:06d}") for i in range(count)
    )


@dataclass(frozen=True)
class MixPlan:
    """What the benchmark mix holds each second besides heartbeats, which fill the rest.

    The defaults follow the counter-drone design figure (200 targets in the air, radar at
    4 Hz, Remote ID at 1 Hz): one radar message per antenna scan carrying all its plots,
    one Remote ID frame per broadcasting drone per receiver per second, one RF bearing per
    silent drone per second, and a site's worth of perimeter reports and alarms.
    """

    drones: int = 200
    remote_id_share: float = 0.6  # the rest are seen by radar and RF only
    radar_hz: float = 4.0
    detection_probability: float = 0.95
    clutter_per_scan: float = 2.0
    perimeter_per_s: float = 8.0  # leaky-cable reports under the alarm threshold
    alarms_per_s: float = 2.0  # intrusions over threshold, camera analytics, weather
    weather_every_s: float = 10.0

    def drones_at(self, rate_per_s: float) -> int:
        """Return how many drones fit: the drone sensors take at most half the stream."""
        fixed = self.radar_hz + self.perimeter_per_s + self.alarms_per_s + 1 / self.weather_every_s
        room = max(0.0, 0.5 * rate_per_s - fixed)
        return max(0, min(self.drones, int(room)))


@dataclass(frozen=True, slots=True)
class _Drone:
    """A drone circling the venue: closed form, so every publisher sees the same sky."""

    index: int
    radius_m: float
    phase: float
    rate: float  # radians a second, signed
    alt_m: float  # above the ellipsoid
    serial: str | None  # Remote ID serial, None for a silent drone

    def state(self, t: float, centre: tuple[float, float]) -> tuple[float, float, float, float]:
        """Return east, north (metres from the radar) and the velocity east, north."""
        angle = self.phase + self.rate * t
        cos, sin = math.cos(angle), math.sin(angle)
        east = centre[0] + self.radius_m * cos
        north = centre[1] + self.radius_m * sin
        speed = self.radius_m * self.rate
        return east, north, -speed * sin, speed * cos


@dataclass
class _MixState:
    rng: random.Random
    ids: _Ids
    site: SimSite
    topics: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def topic(self, device_type: str, device_id: str, kind: str) -> str:
        key = (device_type, device_id, kind)
        found = self.topics.get(key)
        if found is None:
            found = self.topics[key] = topic_for(self.site.event, device_type, device_id, kind)
        return found


class _Sky:
    """The mix's drones and the local flat frame around the radar they are measured in."""

    def __init__(self, site: SimSite, plan: MixPlan, count: int, seed: int) -> None:
        world = _rng(seed * 7919 + 17)  # the sky is shared by every part of the stream
        self.radar = site.radar
        self._cos_lat = math.cos(math.radians(site.radar.lat))
        self.centre = self.local(site.target)
        rid = round(count * plan.remote_id_share)
        self.drones = []
        for i in range(count):
            radius = world.uniform(600.0, 3000.0)
            speed = world.uniform(4.0, 16.0)
            self.drones.append(
                _Drone(
                    index=i,
                    radius_m=radius,
                    phase=world.uniform(0.0, 2 * math.pi),
                    rate=world.choice((-1.0, 1.0)) * speed / radius,
                    alt_m=site.ground_alt_m + world.uniform(40.0, 120.0),
                    serial=f"MIX{i:05d}SKY{seed % 1000:03d}" if i < rid else None,
                )
            )
        self.basic = {
            d.index: ridencode.basic_id(d.serial, id_type=1, ua_type=2)
            for d in self.drones
            if d.serial
        }

    def local(self, point: LonLat) -> tuple[float, float]:
        """Return a point's east, north metres from the radar."""
        return (
            (point[0] - self.radar.lon) * _EARTH_M_PER_DEG * self._cos_lat,
            (point[1] - self.radar.lat) * _EARTH_M_PER_DEG,
        )

    def lonlat(self, east: float, north: float) -> LonLat:
        """Return the (lon, lat) of a local point."""
        return (
            self.radar.lon + east / (_EARTH_M_PER_DEG * self._cos_lat),
            self.radar.lat + north / _EARTH_M_PER_DEG,
        )


def mix(
    site: SimSite,
    *,
    start: datetime,
    seed: int,
    rate_per_s: float = 1000.0,
    count: int | None = None,
    devices: Sequence[Device] = (),
    plan: MixPlan | None = None,
    part: int = 0,
    parts: int = 1,
) -> Iterator[SimMessage]:
    """Yield a realistic mixed stream at ``rate_per_s``: heartbeats fill what the sensors leave.

    Each radar scan (``plan.radar_hz``) is one message with the plots of every drone it
    detects plus clutter; each Remote ID drone sends one frame a second, each silent drone
    gives one RF bearing a second; leaky cables report under-threshold disturbances; a few
    alarms and weather reports; heartbeats go round-robin over the site's devices and
    ``devices`` (a status fleet, see ``fleet``). ``part`` of ``parts`` yields every
    ``parts``-th message of the one stream, so several publishers share it; the sky is the
    same for every part. A generator: ``count`` messages in all parts together (None:
    endless), nothing kept in memory.
    """
    start = _check_start(start)
    if rate_per_s <= 0:
        raise ValueError("rate_per_s must be positive")
    if not 0 <= part < parts:
        raise ValueError("need 0 <= part < parts")
    plan = plan or MixPlan()
    rng = _rng(seed * 31 + part)  # measurement noise and payload details: this part's own
    schedule = _rng(seed)  # what is sent when, and by which device: the same in every part
    state = _MixState(rng, _Ids(f"mix{part}", seed), site)
    sky = _Sky(site, plan, plan.drones_at(rate_per_s), seed)
    heartbeat_devices = [*site.devices, *devices] or [Device("radar", site.radar.device_id)]
    hb_topics = [state.topic(d.device_type, d.device_id, "heartbeat") for d in heartbeat_devices]
    radar, rf, receiver = site.radar, site.rf, site.rid_receiver
    origin = {"lon": radar.lon, "lat": radar.lat, "alt_m": radar.alt_m}
    rf_origin = {"lon": rf.lon, "lat": rf.lat, "alt_m": rf.alt_m}
    rf_at = sky.local((rf.lon, rf.lat))
    plots_topic = state.topic("radar", radar.device_id, "plots")
    rid_topic = state.topic("remote_id_receiver", receiver.device_id, "rid")
    rf_topic = state.topic("rf_receiver", rf.device_id, "bearing")
    cables = site.segments_of("leaky_cable_processor")
    slot_s = 1.0 / plan.radar_hz
    per_second = max(1, round(plan.radar_hz))
    index = 0  # of the whole stream, every part
    slot = 0
    hb_next = 0
    ts_cache: tuple[int, str] = (-1, "")
    while count is None or index < count:
        end = round((slot + 1) * slot_s * rate_per_s)
        # What the sensors say in this slot, heartbeats excepted: (kind, drone or None).
        specials: list[tuple[str, Any]] = []
        if sky.drones:
            specials.append(("plots", None))
            specials += [
                ("rid" if d.serial else "bearing", d)
                for d in sky.drones
                if d.index % per_second == slot % per_second
            ]
        lines = max(1, len(cables))
        reports = _poisson(schedule, plan.perimeter_per_s * slot_s) if cables else 0
        specials += [("perimeter", schedule.randrange(lines)) for _ in range(reports)]
        specials += [
            ("alarm", (schedule.random(), schedule.randrange(lines)))
            for _ in range(_poisson(schedule, plan.alarms_per_s * slot_s))
        ]
        weather_slots = max(1, round(plan.weather_every_s / slot_s))
        if slot % weather_slots == 0:
            specials.append(("weather", None))
        room = max(1, end - index)
        step = room / max(1, len(specials))
        positions = {index + int(k * step): item for k, item in enumerate(specials)}
        while index < end and (count is None or index < count):
            mine = index % parts == part
            special = positions.pop(index, None)
            if not mine:
                if special is None:
                    hb_next += 1
                index += 1
                continue
            t = index / rate_per_s
            at = start + timedelta(seconds=t)
            millis = int(t * 1000)
            if ts_cache[0] != millis:
                ts_cache = (millis, _iso(at))
            ts = ts_cache[1]
            if special is None:
                k = hb_next % len(heartbeat_devices)
                hb_next += 1
                payload = (
                    f'{{"id":"{state.ids.text()}","ts":"{ts}","uptime_s":{3600 + index},'
                    f'"firmware":"2.4.1","temperature_c":{20 + k % 20}.5}}'
                ).encode()
                yield SimMessage(at, hb_topics[k], payload)
            else:
                kind, detail = special
                if kind == "plots":
                    yield SimMessage(
                        at, plots_topic, _scan(sky, plan, rng, state.ids.text(), ts, t, origin)
                    )
                elif kind == "rid":
                    yield SimMessage(at, rid_topic, _rid(sky, detail, state, at, t))
                elif kind == "bearing":
                    body = _bearing(sky, detail, rng, state.ids.text(), ts, t, rf_at, rf_origin)
                    yield SimMessage(at, rf_topic, body)
                elif kind == "perimeter":
                    yield _under_threshold(state, cables[detail], ts, at)
                elif kind == "weather":
                    yield _weather(state, at, ts)
                else:
                    yield _mix_alarm(state, at, ts, *detail)
            index += 1
        slot += 1


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0) if mean > 0 else math.inf
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def _scan(
    sky: _Sky,
    plan: MixPlan,
    rng: random.Random,
    message_id: str,
    ts: str,
    t: float,
    origin: dict[str, float],
) -> bytes:
    plots: list[dict[str, float]] = []
    radar_alt = sky.radar.alt_m
    for d in sky.drones:
        if rng.random() > plan.detection_probability:
            continue
        east, north, ve, vn = d.state(t, sky.centre)
        ground = math.hypot(east, north)
        up = d.alt_m - radar_alt
        slant = math.hypot(ground, up)
        plots.append(
            {
                "range_m": round(abs(slant + rng.gauss(0, 3.0)), 1),
                "azimuth_deg": round(
                    (math.degrees(math.atan2(east, north)) + rng.gauss(0, 0.3)) % 360, 2
                ),
                "elevation_deg": round(math.degrees(math.atan2(up, ground)) + rng.gauss(0, 0.4), 2),
                "radial_speed_mps": round(
                    (east * ve + north * vn) / max(slant, 1.0) + rng.gauss(0, 0.3), 2
                ),
                "rcs_dbsm": round(-18 + rng.gauss(0, 2), 1),
            }
        )
    plots += [_clutter_plot(rng) for _ in range(_poisson(rng, plan.clutter_per_scan))]
    rng.shuffle(plots)  # a scan lists plots by azimuth, not by drone
    return _json({"id": message_id, "ts": ts, "origin": origin, "plots": plots})


def _rid(sky: _Sky, drone: _Drone, state: _MixState, at: datetime, t: float) -> bytes:
    east, north, ve, vn = drone.state(t, sky.centre)
    lon, lat = sky.lonlat(east, north)
    location = ridencode.location(
        latitude=lat + state.rng.gauss(0, 2e-6),
        longitude=lon + state.rng.gauss(0, 2e-6),
        direction_deg=math.degrees(math.atan2(ve, vn)) % 360,
        speed_horizontal_mps=math.hypot(ve, vn),
        speed_vertical_mps=0.0,
        altitude_geo_m=drone.alt_m,
        horizontal_accuracy_m=3.0,
        timestamp_s=ridencode.seconds_after_hour(at),
    )
    pack = ridencode.message_pack([sky.basic[drone.index], location])
    return rid_frame(state.ids.uuid_bytes(), at, pack)


def _bearing(
    sky: _Sky,
    drone: _Drone,
    rng: random.Random,
    message_id: str,
    ts: str,
    t: float,
    rf_at: tuple[float, float],
    rf_origin: dict[str, float],
) -> bytes:
    east, north, _ve, _vn = drone.state(t, sky.centre)
    de, dn = east - rf_at[0], north - rf_at[1]
    distance = max(math.hypot(de, dn), 1.0)
    body = {
        "id": message_id,
        "ts": ts,
        "origin": rf_origin,
        "bearing_deg": round((math.degrees(math.atan2(de, dn)) + rng.gauss(0, 2.0)) % 360, 1),
        "bearing_sd_deg": 3.0,
        "frequency_mhz": 2437.0,
        "rssi_dbm": round(max(-120.0, -40.0 - 20 * math.log10(distance / 100)), 1),
        "protocol": "ocusync",
    }
    return _json(body)


def _under_threshold(state: _MixState, cable: Segment, ts: str, at: datetime) -> SimMessage:
    return _cable_report(state, cable, ts, at, (4, 28))


def _cable_report(
    state: _MixState, cable: Segment, ts: str, at: datetime, magnitude: tuple[float, float]
) -> SimMessage:
    """Return a leaky-cable report at a random point, its magnitude drawn from a range."""
    rng = state.rng
    body = {
        "id": state.ids.text(),
        "ts": ts,
        "cable": cable.code,
        "side": rng.choice(("inner", "outer")),
        "position_m": round(rng.uniform(0, 800), 1),
        "magnitude": round(rng.uniform(*magnitude), 1),
        "threshold": 30.0,
    }
    return SimMessage(at, state.topic(cable.device_type, cable.device_id, "intrusion"), _json(body))


def _weather(state: _MixState, at: datetime, ts: str) -> SimMessage:
    rng, site = state.rng, state.site
    body = {
        "id": state.ids.text(),
        "ts": ts,
        "wind_mps": round(rng.uniform(0, 12), 1),
        "gust_mps": round(rng.uniform(0, 20), 1),
        "wind_dir_deg": round(rng.uniform(0, 360), 1),
        "rain_mmph": 0.0,
    }
    topic = state.topic("weather_station", site.weather_station, "weather")
    return SimMessage(at, topic, _json(body))


def _mix_alarm(state: _MixState, at: datetime, ts: str, choice: float, line: int) -> SimMessage:
    rng, site = state.rng, state.site
    cables = site.segments_of("leaky_cable_processor")
    if choice < 0.5 and cables:
        return _cable_report(state, cables[line % len(cables)], ts, at, (25, 60))
    if choice < 0.8 and site.cameras:
        camera = rng.choice(site.cameras)
        body = {
            "id": state.ids.text(),
            "ts": ts,
            "camera": camera.code,
            "rule": rng.choice(("line_crossing", "intrusion", "loitering")),
            "state": rng.choice(("start", "end")),
            "object": rng.choice(("human", "vehicle", "unknown")),
            "confidence": round(rng.random(), 2),
        }
        topic = state.topic("camera", site.analytics_device, "analytics")
        return SimMessage(at, topic, _json(body))
    return _weather(state, at, ts)


# --- the bundled site --------------------------------------------------------------------


def load_site(folder: str | Path, *, target_venue: str = "wicc") -> SimSite:
    """Read a site folder (site.yaml and geometry.geojson) into simulator data."""
    import yaml  # only this loader needs it

    folder = Path(folder)
    spec = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))
    geometry = json.loads((folder / "geometry.geojson").read_text(encoding="utf-8"))
    shapes: dict[tuple[str, str], Any] = {}
    for feature in geometry["features"]:
        props = feature["properties"]
        shapes[(props["kind"], str(props["ref"]))] = feature["geometry"]["coordinates"]
    devices = [Device(d["kind"], d["external_id"]) for d in spec.get("devices", [])]
    controller = {(d["segment"], d["kind"]): d for d in spec.get("devices", []) if "segment" in d}
    technology = {"leaky_cable": "leaky_cable_processor", "video_analytics": "camera"}
    segments = []
    for seg in spec.get("perimeter_segments", []):
        device_type = technology.get(seg["technology"], "fence_controller")
        owner = controller.get((seg["code"], device_type))
        if device_type == "camera" or owner is None or ("segment", seg["code"]) not in shapes:
            continue
        sections = tuple(
            Section(s["code"], float(s["start_m"]), float(s["end_m"]))
            for s in seg.get("sections", [])
        )
        line = tuple((float(x), float(y)) for x, y in shapes[("segment", seg["code"])])
        segments.append(Segment(seg["code"], line, sections, device_type, owner["external_id"]))
    cameras = tuple(
        Camera(ref, float(c[0]), float(c[1]))
        for (kind, ref), c in sorted(shapes.items())
        if kind == "camera"
    )

    def sensor(kind: str, alt_m: float) -> Sensor:
        for d in spec.get("devices", []):
            if d["kind"] == kind and ("device", d["external_id"]) in shapes:
                lon, lat = shapes[("device", d["external_id"])][:2]
                return Sensor(d["external_id"], float(lon), float(lat), alt_m)
        raise ValueError(f"the site has no located {kind}")

    leaky = {s.code for s in segments if s.device_type == "leaky_cable_processor"}
    analytics = [d for d in spec.get("devices", []) if d["kind"] == "camera"]
    analytics.sort(key=lambda d: d.get("segment") not in leaky)
    if not analytics:
        raise ValueError("the site has no camera analytics device")
    weather = [d["external_id"] for d in spec.get("devices", []) if d["kind"] == "weather_station"]
    if not weather:
        raise ValueError("the site has no weather station")
    airspace = [coords for (kind, _ref), coords in sorted(shapes.items()) if kind == "airspace"]
    no_fly = tuple((float(x), float(y)) for x, y in airspace[0][0]) if airspace else ()
    venue = shapes.get(("venue", target_venue))
    ring = venue[0] if venue else list(no_fly)
    if not ring:
        raise ValueError("no target venue or no-fly zone to fly towards")
    points = ring[:-1] if ring[0] == ring[-1] else ring
    target = (
        sum(float(p[0]) for p in points) / len(points),
        sum(float(p[1]) for p in points) / len(points),
    )
    return SimSite(
        event=spec["event"]["code"],
        segments=tuple(segments),
        cameras=cameras,
        analytics_device=analytics[0]["external_id"],
        radar=sensor("radar", 40.0),
        rf=sensor("rf_receiver", 38.0),
        rid_receiver=sensor("remote_id_receiver", 38.0),
        weather_station=weather[0],
        no_fly=no_fly,
        target=target,
        devices=tuple(devices),
    )
