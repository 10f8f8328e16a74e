"""The site as one GeoJSON FeatureCollection for the map, built from loaded model rows."""

from __future__ import annotations

from typing import Any

from anbao.sites.models import CheckpointKind
from anbao.sites.serialize import SiteRows
from anbao.sites.serialize import point as _point
from anbao.sites.siteio import spec as s
from anbao.sites.siteio.geo import section_coordinates


def _feature(
    kind: str, ref: str, geometry: dict[str, Any] | None, name: str, name_en: str, **extra: Any
) -> dict[str, Any]:
    props = {"kind": kind, "ref": ref, "name": name, "name_en": name_en, **extra}
    return {"type": "Feature", "id": f"{kind}:{ref}", "properties": props, "geometry": geometry}


def build_geojson(rows: SiteRows) -> dict[str, Any]:
    """Return one FeatureCollection of the whole site for drawing the map."""
    features: list[dict[str, Any]] = []
    for v in rows.venues:
        if v.geometry:
            features.append(_feature("venue", v.code, v.geometry, v.name, v.name_en))
    for z in rows.zones:
        features.append(
            _feature(
                "zone",
                z.number,
                z.geometry,
                z.name,
                z.name_en,
                number=z.number,
                parent=z.parent.number if z.parent else None,
                venue=z.venue.code if z.venue else None,
            )
        )
    kind_labels = dict(CheckpointKind.choices)
    lane_points: dict[int, dict[str, Any] | None] = {}
    for c in rows.checkpoints:
        lanes = list(c.lanes.all())
        features.append(
            _feature(
                "checkpoint",
                c.code,
                _point(c.lon, c.lat),
                c.name,
                c.name_en,
                checkpoint_kind=c.kind,
                checkpoint_kind_label=str(kind_labels.get(c.kind, c.kind)),
                lane_count=len(lanes),
                venue=c.venue.code,
                from_zone=c.from_zone.number if c.from_zone else None,
                to_zone=c.to_zone.number,
            )
        )
        for ln in lanes:
            point = _point(ln.lon, ln.lat) or _point(c.lon, c.lat)
            lane_points[ln.pk] = point
            features.append(
                _feature(
                    "lane",
                    s.lane_ref(c.code, ln.code),
                    point,
                    ln.name,
                    "",
                    lane_kind=ln.kind,
                    checkpoint=c.code,
                )
            )
    segment_starts: dict[int, dict[str, Any] | None] = {}
    for p in rows.segments:
        sections = list(p.sections.all())
        coords = (p.geometry or {}).get("coordinates") or []
        segment_starts[p.pk] = _point(*coords[0][:2]) if coords else None
        features.append(
            _feature(
                "segment",
                p.code,
                p.geometry,
                p.name,
                p.name_en,
                technology=p.technology,
                length_m=round(p.length_m, 1),
                section_count=len(sections),
                venue=p.venue.code if p.venue else None,
            )
        )
        for a in sections:
            line = section_coordinates(coords, p.length_m, a.start_m, a.end_m) if coords else None
            features.append(
                _feature(
                    "section",
                    f"{p.code}/{a.code}",
                    {"type": "LineString", "coordinates": line} if line else None,
                    a.name,
                    "",
                    segment=p.code,
                    technology=p.technology,
                    start_m=a.start_m,
                    end_m=a.end_m,
                )
            )
    for vol in rows.airspace:
        features.append(
            _feature(
                "airspace",
                vol.code,
                vol.geometry,
                vol.name,
                vol.name_en,
                floor_m=vol.floor_m,
                ceiling_m=vol.ceiling_m,
                active_windows=vol.active_windows,
            )
        )
    for cam in rows.cameras:
        features.append(
            _feature(
                "camera",
                cam.code,
                _point(cam.lon, cam.lat),
                cam.name,
                "",
                camera_kind=cam.kind,
                height_m=cam.height_m,
                heading_deg=cam.heading_deg,
            )
        )
    for d in rows.devices:
        # A device without its own position is drawn where the thing it serves is.
        point = (
            _point(d.lon, d.lat)
            or (lane_points.get(d.lane_id) if d.lane_id else None)
            or (segment_starts.get(d.segment_id) if d.segment_id else None)
        )
        features.append(
            _feature(
                "device",
                d.external_id,
                point,
                d.name,
                "",
                device_kind=d.kind,
                online=d.online,
                lane=s.lane_ref(d.lane.checkpoint.code, d.lane.code) if d.lane else None,
                segment=d.segment.code if d.segment else None,
            )
        )
    return {"type": "FeatureCollection", "features": features}
