"""Perimeter geometry: segments, alarm sections and positions along them on the map.

Pure Python (pyproj), no Django. The alarm services fill :class:`SegmentGeo` from the site
models; :class:`PerimeterMap` turns a position in metres along a segment into its section and
map point, by geodesic interpolation, and knows which sections are adjacent.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyproj import Geod

GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, slots=True)
class SectionGeo:
    """A named stretch of a segment, from ``start_m`` to ``end_m`` along it."""

    code: str
    start_m: float
    end_m: float

    def __post_init__(self) -> None:
        if not self.start_m < self.end_m:
            raise ValueError(f"section {self.code}: start_m must be below end_m")


@dataclass(frozen=True, slots=True)
class SegmentGeo:
    """A perimeter segment: its line (lon, lat), stated length and alarm sections."""

    code: str
    coordinates: tuple[tuple[float, float], ...]
    length_m: float
    sections: tuple[SectionGeo, ...] = ()
    technology: str = "leaky_cable"

    def __post_init__(self) -> None:
        if len(self.coordinates) < 2:
            raise ValueError(f"segment {self.code}: a LineString needs two points or more")
        if self.length_m <= 0:
            raise ValueError(f"segment {self.code}: length_m must be positive")

    @classmethod
    def from_geojson(
        cls,
        code: str,
        geometry: Mapping[str, Any],
        *,
        length_m: float | None = None,
        sections: Iterable[SectionGeo] = (),
        technology: str = "leaky_cable",
    ) -> SegmentGeo:
        """Build from a GeoJSON LineString; the length defaults to its geodesic length."""
        if geometry.get("type") != "LineString":
            raise ValueError(f"segment {code}: geometry must be a LineString")
        coords = tuple((float(p[0]), float(p[1])) for p in geometry["coordinates"])
        if length_m is None:
            lons, lats = zip(*coords, strict=True)
            length_m = float(GEOD.line_length(lons, lats))
        return cls(code, coords, length_m, tuple(sections), technology)


@dataclass(frozen=True, slots=True)
class Location:
    """A point on the perimeter: segment, section, position and map coordinates."""

    segment: str
    section: str | None
    position_m: float
    lon: float
    lat: float
    clamped: bool = False


class PerimeterMap:
    """Positions along segments to sections and map points, by geodesic interpolation."""

    def __init__(
        self,
        segments: Iterable[SegmentGeo],
        *,
        tolerance_m: float = 5.0,
        join_m: float = 10.0,
    ) -> None:
        self.tolerance_m = tolerance_m
        self._segments: dict[str, SegmentGeo] = {}
        self._legs: dict[str, tuple[list[float], list[float], float]] = {}
        for segment in segments:
            if segment.code in self._segments:
                raise ValueError(f"segment {segment.code} given twice")
            self._segments[segment.code] = segment
            self._legs[segment.code] = self._measure(segment)
        self._adjacent = self._adjacency(join_m)

    @staticmethod
    def _measure(segment: SegmentGeo) -> tuple[list[float], list[float], float]:
        cumulative = [0.0]
        azimuths: list[float] = []
        for (lon1, lat1), (lon2, lat2) in itertools.pairwise(segment.coordinates):
            azimuth, _back, distance = GEOD.inv(lon1, lat1, lon2, lat2)
            azimuths.append(float(azimuth))
            cumulative.append(cumulative[-1] + float(distance))
        return cumulative, azimuths, cumulative[-1]

    def segment(self, code: str) -> SegmentGeo:
        """Return the segment with this code; ``ValueError`` if there is none."""
        try:
            return self._segments[code]
        except KeyError:
            raise ValueError(f"unknown perimeter segment {code!r}") from None

    @property
    def segments(self) -> tuple[SegmentGeo, ...]:
        """All segments."""
        return tuple(self._segments.values())

    def point_at(self, code: str, position_m: float) -> tuple[float, float]:
        """Lon/lat at a position (already within the segment) along its line."""
        segment = self.segment(code)
        cumulative, azimuths, geodesic = self._legs[code]
        # Positions are cable metres; stretch them onto the surveyed line so that the
        # stated length lands exactly on the last vertex.
        along = position_m * geodesic / segment.length_m
        leg = min(max(bisect.bisect_right(cumulative, along) - 1, 0), len(azimuths) - 1)
        lon, lat = segment.coordinates[leg]
        lon2, lat2, _back = GEOD.fwd(lon, lat, azimuths[leg], along - cumulative[leg])
        return float(lon2), float(lat2)

    def section_at(self, code: str, position_m: float) -> str | None:
        """Return the section at a position; a shared boundary belongs to the next one."""
        sections = sorted(self.segment(code).sections, key=lambda s: s.start_m)
        for section in sections:
            if section.start_m <= position_m < section.end_m:
                return section.code
        # Surveyed lengths rarely match the section table to the centimetre: a point just
        # past the last end (or in a hairline gap) belongs to the nearest section.
        nearest: tuple[float, str] | None = None
        for section in sections:
            gap = max(section.start_m - position_m, position_m - section.end_m)
            if gap <= self.tolerance_m and (nearest is None or gap < nearest[0]):
                nearest = (gap, section.code)
        return nearest[1] if nearest else None

    def locate(self, code: str, position_m: float) -> Location:
        """Map a position in metres along a segment to its section and map point."""
        segment = self.segment(code)
        if not -self.tolerance_m <= position_m <= segment.length_m + self.tolerance_m:
            raise ValueError(
                f"position {position_m:g} m is outside segment {code} "
                f"(length {segment.length_m:g} m, tolerance {self.tolerance_m:g} m)"
            )
        clamped_to = min(max(position_m, 0.0), segment.length_m)
        lon, lat = self.point_at(code, clamped_to)
        return Location(
            code,
            self.section_at(code, clamped_to),
            clamped_to,
            lon,
            lat,
            clamped=clamped_to != position_m,
        )

    def section(self, code: str, section_code: str) -> SectionGeo:
        """Return the section with this code on a segment; ``ValueError`` if none."""
        for section in self.segment(code).sections:
            if section.code == section_code:
                return section
        raise ValueError(f"segment {code} has no section {section_code!r}")

    def locate_section(self, code: str, section_code: str) -> Location:
        """Locate a section's midpoint, for events naming a section but no position."""
        section = self.section(code, section_code)
        middle = (section.start_m + section.end_m) / 2.0
        lon, lat = self.point_at(code, min(middle, self.segment(code).length_m))
        return Location(code, section_code, middle, lon, lat)

    def adjacent(self, code: str, section: str | None) -> frozenset[tuple[str, str]]:
        """Sections next to this one, on the same segment or across a joined end."""
        if section is None:
            return frozenset()
        return self._adjacent.get((code, section), frozenset())

    def _adjacency(self, join_m: float) -> dict[tuple[str, str], frozenset[tuple[str, str]]]:
        links: dict[tuple[str, str], set[tuple[str, str]]] = {}

        def link(a: tuple[str, str], b: tuple[str, str]) -> None:
            links.setdefault(a, set()).add(b)
            links.setdefault(b, set()).add(a)

        for segment in self._segments.values():
            ordered = sorted(segment.sections, key=lambda s: s.start_m)
            for first, second in itertools.pairwise(ordered):
                if second.start_m - first.end_m <= join_m:
                    link((segment.code, first.code), (segment.code, second.code))
        # Segments laid end to end (canal north then canal south) meet at a shared vertex.
        ends: list[tuple[str, str, float, float]] = []
        for segment in self._segments.values():
            for position, (lon, lat) in (
                (0.0, segment.coordinates[0]),
                (segment.length_m, segment.coordinates[-1]),
            ):
                section = self.section_at(segment.code, position)
                if section is not None:
                    ends.append((segment.code, section, lon, lat))
        for (code1, sec1, lon1, lat1), (code2, sec2, lon2, lat2) in itertools.combinations(ends, 2):
            if code1 == code2:
                continue
            _az, _back, distance = GEOD.inv(lon1, lat1, lon2, lat2)
            if float(distance) <= join_m:
                link((code1, sec1), (code2, sec2))
        return {key: frozenset(value) for key, value in links.items()}
