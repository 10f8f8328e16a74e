"""GeoJSON geometry checks and metric helpers (WGS 84 lon/lat in, metres out)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely import ops
from shapely.geometry import LineString, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

GEOMETRY_TYPES: dict[str, str] = {
    "venue": "Polygon",
    "zone": "Polygon",
    "airspace": "Polygon",
    "checkpoint": "Point",
    "lane": "Point",
    "camera": "Point",
    "device": "Point",
    "segment": "LineString",
}

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class GeometryProblem:
    """One thing wrong with one feature's geometry."""

    field: str
    message: str
    code: str


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_position(pos: Any, where: str) -> GeometryProblem | None:
    if not isinstance(pos, list) or len(pos) not in (2, 3) or not all(_is_number(v) for v in pos):
        return GeometryProblem(
            where, "a position is [lon, lat] or [lon, lat, height]", "invalid_type"
        )
    lon, lat = pos[0], pos[1]
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return GeometryProblem(
            where, "coordinates must be finite numbers", "coordinate_out_of_range"
        )
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return GeometryProblem(
            where,
            f"coordinate ({lon}, {lat}) is outside lon -180..180, lat -90..90",
            "coordinate_out_of_range",
        )
    return None


def _positions(coords: Any, where: str, min_count: int) -> list[GeometryProblem]:
    if not isinstance(coords, list) or len(coords) < min_count:
        return [
            GeometryProblem(
                where, f"needs a list of at least {min_count} positions", "invalid_type"
            )
        ]
    problems: list[GeometryProblem] = []
    bad = [p for i, pos in enumerate(coords) if (p := _check_position(pos, f"{where}[{i}]"))]
    if bad:
        first = bad[0]
        more = f" ({len(bad) - 1} more in this list)" if len(bad) > 1 else ""
        problems.append(GeometryProblem(first.field, first.message + more, first.code))
    return problems


def check_geometry(kind: str, geometry: Any) -> list[GeometryProblem]:
    """Check a feature's geometry: its type for ``kind``, positions, rings closed, validity."""
    expected = GEOMETRY_TYPES[kind]
    if not isinstance(geometry, dict):
        return [
            GeometryProblem("geometry", f"a {kind} needs a {expected} geometry", "missing_geometry")
        ]
    gtype = geometry.get("type")
    if gtype != expected:
        return [
            GeometryProblem(
                "geometry.type",
                f"a {kind} needs a {expected}, not {gtype!r}",
                "wrong_geometry_type",
            )
        ]
    coords = geometry.get("coordinates")
    where = "geometry.coordinates"
    if expected == "Point":
        problem = _check_position(coords, where)
        return [problem] if problem else []
    if expected == "LineString":
        problems = _positions(coords, where, 2)
        if not problems and LineString([p[:2] for p in coords or []]).length == 0:
            problems.append(GeometryProblem(where, "the line has no length", "invalid_line"))
        return problems
    if not isinstance(coords, list) or not coords:
        return [GeometryProblem(where, "a Polygon needs at least one ring", "invalid_type")]
    problems = []
    for r, ring in enumerate(coords):
        ring_problems = _positions(ring, f"{where}[{r}]", 4)
        if not ring_problems and ring[0][:2] != ring[-1][:2]:
            ring_problems.append(
                GeometryProblem(
                    f"{where}[{r}]",
                    "the ring does not close: its last position must equal its first",
                    "polygon_not_closed",
                )
            )
        problems += ring_problems
    if problems:
        return problems
    polygon = Polygon(coords[0], coords[1:])
    if not polygon.is_valid:
        problems.append(
            GeometryProblem(
                where, f"invalid polygon: {explain_validity(polygon)}", "invalid_polygon"
            )
        )
    return problems


def to_shape(geometry: dict[str, Any]) -> BaseGeometry:
    """Return the shapely geometry of a checked GeoJSON geometry (2-D)."""
    return shapely.force_2d(shape(geometry))


def geodesic_length_m(coords: Sequence[Sequence[float]]) -> float:
    """Return the length in metres of a lon/lat polyline on the WGS 84 ellipsoid."""
    lons = [float(p[0]) for p in coords]
    lats = [float(p[1]) for p in coords]
    return float(_GEOD.line_length(lons, lats))


@lru_cache(maxsize=32)
def _transformers(lon0: float, lat0: float) -> tuple[Transformer, Transformer]:
    local = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"
    return (
        Transformer.from_crs("EPSG:4326", local, always_xy=True),
        Transformer.from_crs(local, "EPSG:4326", always_xy=True),
    )


class LocalFrame:
    """A local azimuthal-equidistant plane in metres around a point; fine for a few km."""

    def __init__(self, lon0: float, lat0: float) -> None:
        """Centre the plane on ``lon0``, ``lat0``."""
        # Rounded so that nearby callers share one cached pair of transformers.
        self._fwd, self._inv = _transformers(round(lon0, 3), round(lat0, 3))

    def to_metres(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a lon/lat geometry into the local plane."""
        return _apply(self._fwd, geom)

    def to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        """Project a local-plane geometry back to lon/lat."""
        return _apply(self._inv, geom)


def _apply(transformer: Transformer, geom: BaseGeometry) -> BaseGeometry:
    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, project)


def distance_m(lon: float, lat: float, polygon: BaseGeometry) -> float:
    """Return the distance in metres from a point to a lon/lat polygon (0 when inside)."""
    frame = LocalFrame(lon, lat)
    return float(frame.to_metres(polygon).distance(frame.to_metres(Point(lon, lat))))


def section_coordinates(
    coords: Sequence[Sequence[float]], length_m: float, start_m: float, end_m: float
) -> list[list[float]]:
    """Return the lon/lat polyline of the stretch ``start_m``..``end_m`` along a segment."""
    line = LineString([(float(p[0]), float(p[1])) for p in coords])
    centre = line.interpolate(0.5, normalized=True)
    frame = LocalFrame(centre.x, centre.y)
    planar = frame.to_metres(line)
    # Positions are geodesic metres; scale them to fractions so the planar cut lands in step.
    total = length_m if length_m > 0 else 1.0
    lo = min(max(start_m / total, 0.0), 1.0)
    hi = min(max(end_m / total, 0.0), 1.0)
    piece = ops.substring(planar, lo, hi, normalized=True)
    out = mapping(frame.to_lonlat(piece))["coordinates"]
    if isinstance(out[0], int | float):
        out = [out, out]
    return [[round(float(p[0]), 7), round(float(p[1]), 7)] for p in out]
