"""No-fly volumes, straight-line time to breach, and the whitelist of authorised drones.

Pure Python (shapely, pyproj), no Django.  A volume is a lon/lat polygon with a floor and a
ceiling in metres above ground and a list of active time windows.  Geometry is done in the
tracker's local metric frame (see :class:`anbao.alarms.tracker_types.LocalFrame`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from anbao.alarms.tracker_types import (
    LocalFrame,
    TrackSnapshot,
    require_aware,
    require_finite,
    require_lon_lat,
)

Interval = tuple[float, float]

# Below this horizontal speed a track is treated as hovering: no horizontal entry predicted.
_HOVER_MPS = 0.05


@dataclass(frozen=True, slots=True)
class NoFlyVolume:
    """A 3-D no-fly volume: polygon (lon, lat), floor and ceiling above ground, active windows."""

    code: str
    polygon: tuple[tuple[float, float], ...]
    floor_m: float
    ceiling_m: float
    windows: tuple[tuple[datetime, datetime], ...] = ()  # empty: always active

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("no-fly volume code must not be empty")
        if len(self.polygon) < 3:
            raise ValueError(f"volume {self.code}: polygon needs at least 3 points")
        for lon, lat in self.polygon:
            require_lon_lat(lon, lat, f"volume {self.code} vertex")
        floor = require_finite(self.floor_m, f"volume {self.code} floor")
        if floor >= require_finite(self.ceiling_m, f"volume {self.code} ceiling"):
            raise ValueError(
                f"volume {self.code}: floor {self.floor_m} m must be below "
                f"ceiling {self.ceiling_m} m"
            )
        for start, end in self.windows:
            if require_aware(start, "window start") >= require_aware(end, "window end"):
                raise ValueError(f"volume {self.code}: window {start} .. {end} is empty")

    def is_active(self, t: datetime) -> bool:
        """Whether the volume is in force at ``t`` (start inclusive, end exclusive)."""
        ts = require_aware(t, "check time")
        if not self.windows:
            return True
        return any(start.timestamp() <= ts < end.timestamp() for start, end in self.windows)

    def active_intervals(self, t: datetime, horizon_s: float) -> list[Interval]:
        """Active windows as seconds after ``t``, clipped to ``[0, horizon_s]``."""
        ts = require_aware(t, "check time")
        if not self.windows:
            return [(0.0, horizon_s)]
        out = []
        for start, end in self.windows:
            lo, hi = max(start.timestamp() - ts, 0.0), min(end.timestamp() - ts, horizon_s)
            if lo < hi:
                out.append((lo, hi))
        return sorted(out)


@dataclass(frozen=True, slots=True)
class AirspaceCheck:
    """One track against one volume at one time."""

    code: str
    active: bool
    inside: bool  # inside the 3-D volume now (and the volume is active)
    inside_horizontal: bool
    inside_vertical: bool
    horizontal_distance_m: float  # 0 inside the polygon
    vertical_distance_m: float  # 0 inside the floor/ceiling band
    distance_m: float  # straight-line distance to the volume, 0 inside
    closing_speed_mps: float  # horizontal speed towards the polygon's nearest point
    time_to_breach_s: float | None  # 0 inside and active; None: no breach within the horizon

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class WhitelistEntry:
    """An authorised drone by Remote ID serial, optionally for a validity window only."""

    serial: str
    owner: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if not self.serial:
            raise ValueError("whitelist serial must not be empty")
        if self.valid_from is not None:
            require_aware(self.valid_from, "valid_from")
        if self.valid_until is not None:
            require_aware(self.valid_until, "valid_until")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from >= self.valid_until
        ):
            raise ValueError(f"whitelist {self.serial}: valid_from must be before valid_until")

    def valid_at(self, t: datetime) -> bool:
        """Whether the authorisation holds at ``t`` (from inclusive, until exclusive)."""
        ts = require_aware(t, "check time")
        if self.valid_from is not None and ts < self.valid_from.timestamp():
            return False
        return not (self.valid_until is not None and ts >= self.valid_until.timestamp())


class Whitelist:
    """Authorised drones (organiser, media, police) by serial."""

    def __init__(self, entries: Iterable[WhitelistEntry] = ()) -> None:
        self._entries: dict[str, list[WhitelistEntry]] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: WhitelistEntry) -> None:
        """Add an authorisation; a serial may hold several windows."""
        self._entries.setdefault(entry.serial, []).append(entry)

    def remove(self, serial: str) -> None:
        """Drop every authorisation of a serial."""
        self._entries.pop(serial, None)

    def authorised(self, serial: str | None, t: datetime) -> WhitelistEntry | None:
        """Return the entry authorising ``serial`` at ``t``, or None."""
        if serial is None:
            require_aware(t, "check time")
            return None
        for entry in self._entries.get(serial, ()):
            if entry.valid_at(t):
                return entry
        return None


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo < hi or (lo == hi == 0.0):
                out.append((lo, hi))
    return sorted(out)


def _pieces(geometry: BaseGeometry) -> list[BaseGeometry]:
    if geometry.is_empty:
        return []
    if hasattr(geometry, "geoms"):
        return [g for part in geometry.geoms for g in _pieces(part)]
    return [geometry]


class Airspace:
    """The event's no-fly volumes projected into a local frame, with the checks on a track."""

    def __init__(
        self,
        volumes: Sequence[NoFlyVolume],
        frame: LocalFrame,
        horizon_s: float = 600.0,
    ) -> None:
        if require_finite(horizon_s, "horizon") <= 0:
            raise ValueError(f"horizon must be > 0 s, got {horizon_s}")
        self.frame = frame
        self.horizon_s = float(horizon_s)
        self.volumes = tuple(volumes)
        self._shapes: list[Polygon] = []
        for volume in self.volumes:
            lons = [p[0] for p in volume.polygon]
            lats = [p[1] for p in volume.polygon]
            xs, ys = frame.to_xy(lons, lats)
            shape = Polygon(list(zip(xs, ys, strict=True)))
            if not shape.is_valid:
                raise ValueError(f"volume {volume.code}: polygon is not valid (self-intersecting?)")
            shapely.prepare(shape)
            self._shapes.append(shape)

    def check(
        self,
        x_m: float,
        y_m: float,
        alt_m: float,
        ve: float,
        vn: float,
        vu: float,
        t: datetime,
    ) -> list[AirspaceCheck]:
        """Test a local position and velocity against every volume at ``t``."""
        for value, name in ((x_m, "x"), (y_m, "y"), (alt_m, "altitude"), (ve, "ve"), (vn, "vn")):
            require_finite(value, name)
        require_finite(vu, "vu")
        return [
            self._check_one(volume, shape, x_m, y_m, alt_m, ve, vn, vu, t)
            for volume, shape in zip(self.volumes, self._shapes, strict=True)
        ]

    def check_track(self, track: TrackSnapshot, t: datetime) -> list[AirspaceCheck]:
        """Test a track, extrapolated in a straight line from its last update to ``t``."""
        dt = max(require_aware(t, "check time") - track.last_update.timestamp(), 0.0)
        return self.check(
            track.x_m + dt * track.velocity_east_mps,
            track.y_m + dt * track.velocity_north_mps,
            track.alt_m + dt * track.velocity_up_mps,
            track.velocity_east_mps,
            track.velocity_north_mps,
            track.velocity_up_mps,
            t,
        )

    def check_lonlat(
        self, lon: float, lat: float, alt_m: float, t: datetime
    ) -> list[AirspaceCheck]:
        """Test a stationary lon/lat/height point against every volume at ``t``."""
        require_lon_lat(lon, lat, "point")
        x, y = self.frame.to_xy(lon, lat)
        return self.check(float(x), float(y), alt_m, 0.0, 0.0, 0.0, t)

    def _check_one(
        self,
        volume: NoFlyVolume,
        shape: Polygon,
        x: float,
        y: float,
        z: float,
        ve: float,
        vn: float,
        vu: float,
        t: datetime,
    ) -> AirspaceCheck:
        point = Point(x, y)
        inside_h = bool(shape.covers(point))
        h_dist = 0.0 if inside_h else float(shape.exterior.distance(point))
        if z < volume.floor_m:
            v_dist = volume.floor_m - z
        elif z > volume.ceiling_m:
            v_dist = z - volume.ceiling_m
        else:
            v_dist = 0.0
        inside_v = v_dist == 0.0
        active = volume.is_active(t)
        closing = self._closing(shape, point, inside_h, ve, vn)
        horizon = self.horizon_s
        windows = volume.active_intervals(t, horizon)
        breach = _intersect(
            _intersect(
                self._horizontal(shape, x, y, ve, vn, inside_h), self._vertical(volume, z, vu)
            ),
            windows,
        )
        return AirspaceCheck(
            code=volume.code,
            active=active,
            inside=active and inside_h and inside_v,
            inside_horizontal=inside_h,
            inside_vertical=inside_v,
            horizontal_distance_m=h_dist,
            vertical_distance_m=v_dist,
            distance_m=math.hypot(h_dist, v_dist),
            closing_speed_mps=closing,
            time_to_breach_s=breach[0][0] if breach else None,
        )

    @staticmethod
    def _closing(shape: Polygon, point: Point, inside: bool, ve: float, vn: float) -> float:
        if inside:
            # Inside, every metre flown is within the volume: count the ground speed.
            return math.hypot(ve, vn)
        nearest = nearest_points(shape.exterior, point)[0]
        dx, dy = nearest.x - point.x, nearest.y - point.y
        norm = math.hypot(dx, dy)
        return 0.0 if norm == 0 else (ve * dx + vn * dy) / norm

    def _horizontal(
        self, shape: Polygon, x: float, y: float, ve: float, vn: float, inside: bool
    ) -> list[Interval]:
        """Seconds from now during which the straight path is over the polygon."""
        speed = math.hypot(ve, vn)
        horizon = self.horizon_s
        if speed < _HOVER_MPS:
            return [(0.0, horizon)] if inside else []
        path = LineString([(x, y), (x + ve * horizon, y + vn * horizon)])
        out = []
        for piece in _pieces(shape.intersection(path)):
            coords = list(piece.coords)
            dists = [math.hypot(cx - x, cy - y) / speed for cx, cy in coords]
            out.append((min(dists), max(dists)))
        return sorted(out)

    def _vertical(self, volume: NoFlyVolume, z: float, vu: float) -> list[Interval]:
        """Seconds from now during which the straight climb/descent is inside the band."""
        horizon = self.horizon_s
        if abs(vu) < 1e-9:
            return [(0.0, horizon)] if volume.floor_m <= z <= volume.ceiling_m else []
        a = (volume.floor_m - z) / vu
        b = (volume.ceiling_m - z) / vu
        lo, hi = max(min(a, b), 0.0), min(max(a, b), horizon)
        return [(lo, hi)] if lo <= hi else []
