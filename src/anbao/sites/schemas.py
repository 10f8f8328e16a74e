"""Response schemas of the sites read API; references are by code (zones by number)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema

from anbao.sites import siteio
from anbao.sites.models import Camera, Checkpoint, Device, Lane, PerimeterSegment, Zone


class PhaseOut(Schema):
    """A dated phase of the event."""

    kind: str
    start_date: date
    end_date: date


class EventOut(Schema):
    """The event with its phases."""

    code: str
    name: str
    name_en: str
    time_zone: str
    start_date: date
    end_date: date
    phases: list[PhaseOut]


class VenueOut(Schema):
    """A venue with its outline (a GeoJSON Polygon, or null)."""

    code: str
    name: str
    name_en: str
    geometry: dict[str, Any] | None


class ZoneOut(Schema):
    """A numbered access zone."""

    number: str
    name: str
    name_en: str
    venue: str | None
    parent: str | None
    geometry: dict[str, Any]

    @staticmethod
    def resolve_venue(obj: Zone) -> str | None:
        """Return the venue's code."""
        return obj.venue.code if obj.venue else None

    @staticmethod
    def resolve_parent(obj: Zone) -> str | None:
        """Return the parent zone's number."""
        return obj.parent.number if obj.parent else None


class LaneOut(Schema):
    """A lane of a checkpoint; ``ref`` is ``checkpoint/lane``."""

    ref: str
    checkpoint: str
    code: str
    name: str
    kind: str
    lon: float | None
    lat: float | None

    @staticmethod
    def resolve_ref(obj: Lane) -> str:
        """Return ``checkpoint/lane``."""
        return siteio.lane_ref(obj.checkpoint.code, obj.code)

    @staticmethod
    def resolve_checkpoint(obj: Lane) -> str:
        """Return the checkpoint's code."""
        return obj.checkpoint.code


class CheckpointLaneOut(Schema):
    """A lane, as nested under its checkpoint."""

    code: str
    name: str
    kind: str
    lon: float | None
    lat: float | None


class CheckpointOut(Schema):
    """A checkpoint with its zones and lanes."""

    code: str
    name: str
    name_en: str
    kind: str
    venue: str
    from_zone: str | None
    to_zone: str
    lon: float
    lat: float
    lane_count: int
    lanes: list[CheckpointLaneOut]

    @staticmethod
    def resolve_venue(obj: Checkpoint) -> str:
        """Return the venue's code."""
        return obj.venue.code

    @staticmethod
    def resolve_from_zone(obj: Checkpoint) -> str | None:
        """Return the number of the zone it leads from (null for outside)."""
        return obj.from_zone.number if obj.from_zone else None

    @staticmethod
    def resolve_to_zone(obj: Checkpoint) -> str:
        """Return the number of the zone it guards."""
        return obj.to_zone.number

    @staticmethod
    def resolve_lane_count(obj: Checkpoint) -> int:
        """Count the (prefetched) lanes."""
        return len(obj.lanes.all())


class SectionOut(Schema):
    """An alarm section, in metres along its segment."""

    code: str
    name: str
    start_m: float
    end_m: float


class SegmentOut(Schema):
    """A perimeter segment with its alarm sections."""

    code: str
    name: str
    name_en: str
    technology: str
    venue: str | None
    length_m: float
    geometry: dict[str, Any]
    sections: list[SectionOut]

    @staticmethod
    def resolve_venue(obj: PerimeterSegment) -> str | None:
        """Return the venue's code."""
        return obj.venue.code if obj.venue else None


class WindowOut(Schema):
    """A time window."""

    start: datetime
    end: datetime


class AirspaceOut(Schema):
    """A no-fly volume."""

    code: str
    name: str
    name_en: str
    floor_m: float
    ceiling_m: float
    active_windows: list[WindowOut]
    geometry: dict[str, Any]


class CameraOut(Schema):
    """A camera with its mounting, PTZ limits and intrinsics."""

    code: str
    name: str
    kind: str
    venue: str | None
    lon: float
    lat: float
    height_m: float
    heading_deg: float
    pan_min_deg: float
    pan_max_deg: float
    tilt_min_deg: float
    tilt_max_deg: float
    zoom_max: float
    intrinsics: dict[str, Any]

    @staticmethod
    def resolve_venue(obj: Camera) -> str | None:
        """Return the venue's code."""
        return obj.venue.code if obj.venue else None


class DeviceOut(Schema):
    """A device, the lane (``checkpoint/lane``) or segment it serves, and its presence."""

    external_id: str
    name: str
    kind: str
    lon: float | None
    lat: float | None
    lane: str | None
    segment: str | None
    online: bool
    last_seen: datetime | None

    @staticmethod
    def resolve_lane(obj: Device) -> str | None:
        """Return ``checkpoint/lane``."""
        return siteio.lane_ref(obj.lane.checkpoint.code, obj.lane.code) if obj.lane else None

    @staticmethod
    def resolve_segment(obj: Device) -> str | None:
        """Return the segment's code."""
        return obj.segment.code if obj.segment else None


class SummaryOut(Schema):
    """How many of each site entity the event has."""

    event: str
    venues: int
    zones: int
    checkpoints: int
    lanes: int
    perimeter_segments: int
    alarm_sections: int
    airspace_volumes: int
    cameras: int
    devices: int
    devices_online: int
