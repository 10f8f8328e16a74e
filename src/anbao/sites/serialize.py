"""Turn the stored site model back into the site-file structure (for export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from anbao.core.errors import DomainError, FieldProblem
from anbao.sites import siteio
from anbao.sites.models import (
    AirspaceVolume,
    Camera,
    Checkpoint,
    Device,
    Event,
    EventPhase,
    PerimeterSegment,
    Venue,
    Zone,
)
from anbao.sites.siteio import spec as s


@dataclass(frozen=True)
class SiteRows:
    """Every row of one event's site, with the related rows the conversions read, loaded."""

    event: Event
    phases: list[EventPhase]
    venues: list[Venue]
    zones: list[Zone]
    checkpoints: list[Checkpoint]
    segments: list[PerimeterSegment]
    airspace: list[AirspaceVolume]
    cameras: list[Camera]
    devices: list[Device]


def point(lon: float | None, lat: float | None) -> dict[str, Any] | None:
    """Return a GeoJSON Point, or None when the position is unknown."""
    if lon is None or lat is None:
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def site_files(rows: SiteRows) -> siteio.Site:
    """Return the stored site as the validated structure the site files are written from."""
    event = rows.event
    geometry: dict[s.FeatureKey, dict[str, Any] | None] = {}
    for v in rows.venues:
        geometry[("venue", v.code)] = v.geometry
    for z in rows.zones:
        geometry[("zone", z.number)] = z.geometry
    for c in rows.checkpoints:
        geometry[("checkpoint", c.code)] = point(c.lon, c.lat)
        for ln in c.lanes.all():
            geometry[("lane", s.lane_ref(c.code, ln.code))] = point(ln.lon, ln.lat)
    for p in rows.segments:
        geometry[("segment", p.code)] = p.geometry
    for a in rows.airspace:
        geometry[("airspace", a.code)] = a.geometry
    for cam in rows.cameras:
        geometry[("camera", cam.code)] = point(cam.lon, cam.lat)
    for d in rows.devices:
        geometry[("device", d.external_id)] = point(d.lon, d.lat)
    try:
        spec = s.SiteSpec(
            event=s.EventSpec(
                code=event.code,
                name=event.name,
                name_en=event.name_en,
                time_zone=event.time_zone,
                start_date=event.start_date,
                end_date=event.end_date,
                phases=[
                    s.PhaseSpec(
                        kind=p.kind,
                        start_date=p.start_date,
                        end_date=p.end_date,
                    )
                    for p in rows.phases
                ],
            ),
            venues=[s.VenueSpec(code=v.code, name=v.name, name_en=v.name_en) for v in rows.venues],
            zones=[_zone_spec(z) for z in rows.zones],
            checkpoints=[_checkpoint_spec(c) for c in rows.checkpoints],
            perimeter_segments=[_segment_spec(p) for p in rows.segments],
            airspace=[_airspace_spec(a) for a in rows.airspace],
            cameras=[_camera_spec(c) for c in rows.cameras],
            devices=[_device_spec(d) for d in rows.devices],
        )
    except ValidationError as exc:
        raise DomainError(
            "sites.export_invalid",
            "The stored site does not fit the site-file format (edited by hand in the admin?).",
            problems=[
                FieldProblem(".".join(str(p) for p in e["loc"]), str(e["msg"]))
                for e in exc.errors()
            ],
        ) from exc
    lengths = {p.code: p.length_m for p in rows.segments}
    kept = {k: g for k, g in geometry.items() if g is not None}
    return siteio.Site(spec=spec, geometry=kept, lengths_m=lengths)


def _zone_spec(z: Zone) -> s.ZoneSpec:
    return s.ZoneSpec(
        number=z.number,
        name=z.name,
        name_en=z.name_en,
        venue=z.venue.code if z.venue else None,
        parent=z.parent.number if z.parent else None,
    )


def _checkpoint_spec(c: Checkpoint) -> s.CheckpointSpec:
    return s.CheckpointSpec(
        code=c.code,
        name=c.name,
        name_en=c.name_en,
        kind=c.kind,
        venue=c.venue.code,
        from_zone=c.from_zone.number if c.from_zone else None,
        to_zone=c.to_zone.number,
        lanes=[s.LaneSpec(code=ln.code, name=ln.name, kind=ln.kind) for ln in c.lanes.all()],
    )


def _segment_spec(p: PerimeterSegment) -> s.SegmentSpec:
    return s.SegmentSpec(
        code=p.code,
        name=p.name,
        name_en=p.name_en,
        technology=p.technology,
        venue=p.venue.code if p.venue else None,
        sections=[
            s.SectionSpec(code=a.code, name=a.name, start_m=a.start_m, end_m=a.end_m)
            for a in p.sections.all()
        ],
    )


def _airspace_spec(a: AirspaceVolume) -> s.AirspaceSpec:
    return s.AirspaceSpec(
        code=a.code,
        name=a.name,
        name_en=a.name_en,
        floor_m=a.floor_m,
        ceiling_m=a.ceiling_m,
        active_windows=[
            s.WindowSpec(
                start=datetime.fromisoformat(w["start"]), end=datetime.fromisoformat(w["end"])
            )
            for w in a.active_windows or []
        ],
    )


def _camera_spec(c: Camera) -> s.CameraSpec:
    return s.CameraSpec(
        code=c.code,
        name=c.name,
        kind=c.kind,
        venue=c.venue.code if c.venue else None,
        height_m=c.height_m,
        heading_deg=c.heading_deg,
        pan_min_deg=c.pan_min_deg,
        pan_max_deg=c.pan_max_deg,
        tilt_min_deg=c.tilt_min_deg,
        tilt_max_deg=c.tilt_max_deg,
        zoom_max=c.zoom_max,
        intrinsics=s.IntrinsicsSpec.model_validate(c.intrinsics) if c.intrinsics else None,
    )


def _device_spec(d: Device) -> s.DeviceSpec:
    return s.DeviceSpec(
        external_id=d.external_id,
        name=d.name,
        kind=d.kind,
        lane=s.lane_ref(d.lane.checkpoint.code, d.lane.code) if d.lane else None,
        segment=d.segment.code if d.segment else None,
    )
