"""The shape of ``site.yaml`` as pydantic models, and the validated site they add up to.

The enums are spelled out here rather than imported from ``anbao.sites.models`` so that the
site-file code stays free of Django; a test keeps them equal to the model choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

PhaseKind = Literal["build_up", "rehearsal", "event", "tear_down"]
CheckpointKind = Literal["pedestrian", "vehicle", "mixed"]
LaneKind = Literal["wtmd_xray", "manual", "vehicle", "vip", "staff"]
Technology = Literal["leaky_cable", "pulse_fence", "fence_vibration", "video_analytics"]
CameraKind = Literal["fixed", "ptz"]
DeviceKind = Literal[
    "gate_scanner",
    "leaky_cable_processor",
    "fence_controller",
    "radar",
    "rf_receiver",
    "weather_station",
    "remote_id_receiver",
    "camera",
    "panic_button",
    "door_controller",
    "queue_sensor",
    "other",
]

Code = Annotated[str, StringConstraints(pattern=r"^[-A-Za-z0-9_]+$", min_length=1, max_length=40)]
ZoneNumber = Annotated[
    str, StringConstraints(pattern=r"^[-A-Za-z0-9_.]+$", min_length=1, max_length=10)
]
ExternalId = Annotated[
    str, StringConstraints(pattern=r"^[-A-Za-z0-9_.:]+$", min_length=1, max_length=64)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
NameEn = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class Spec(BaseModel):
    """Base of every site-file item: unknown keys are errors, numbers may stand for strings."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class PhaseSpec(Spec):
    """A dated phase of the event."""

    kind: PhaseKind
    start_date: date
    end_date: date


class EventSpec(Spec):
    """The event the site belongs to."""

    code: Code
    name: Name
    name_en: NameEn = ""
    time_zone: str = "Asia/Shanghai"
    start_date: date
    end_date: date
    phases: list[PhaseSpec] = Field(default_factory=list)


class VenueSpec(Spec):
    """A venue of the event."""

    code: Code
    name: Name
    name_en: NameEn = ""


class ZoneSpec(Spec):
    """A numbered access zone, optionally nested in a parent zone."""

    number: ZoneNumber
    name: Name
    name_en: NameEn = ""
    venue: Code | None = None
    parent: ZoneNumber | None = None


class LaneSpec(Spec):
    """A lane listed under its checkpoint."""

    code: Code
    name: ShortName
    kind: LaneKind


class LooseLaneSpec(LaneSpec):
    """A lane listed on its own, naming its checkpoint."""

    checkpoint: Code | None = None


class CheckpointSpec(Spec):
    """A checkpoint from one zone (or outside) into another, with its lanes."""

    code: Code
    name: Name
    name_en: NameEn = ""
    kind: CheckpointKind
    venue: Code
    from_zone: ZoneNumber | None = None
    to_zone: ZoneNumber
    lanes: list[LaneSpec] = Field(default_factory=list)


class SectionSpec(Spec):
    """A named alarm section of a perimeter segment, in metres along it."""

    code: Code
    name: ShortName
    start_m: float
    end_m: float


class SegmentSpec(Spec):
    """A perimeter segment with one sensor technology."""

    code: Code
    name: Name
    name_en: NameEn = ""
    technology: Technology
    venue: Code | None = None
    sections: list[SectionSpec] = Field(default_factory=list)


class WindowSpec(Spec):
    """A time window; both ends need a UTC offset."""

    start: AwareDatetime
    end: AwareDatetime


class AirspaceSpec(Spec):
    """A no-fly volume."""

    code: Code
    name: Name
    name_en: NameEn = ""
    floor_m: float = 0
    ceiling_m: float
    active_windows: list[WindowSpec] = Field(default_factory=list)


class IntrinsicsSpec(Spec):
    """Pinhole intrinsics of a camera at zoom 1, in pixels."""

    fx: float = Field(gt=0)
    fy: float = Field(gt=0)
    cx: float
    cy: float
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    distortion: list[float] = Field(default_factory=list)


class CameraSpec(Spec):
    """A fixed or PTZ camera; its position is its geometry feature."""

    code: Code
    name: Name
    kind: CameraKind
    venue: Code | None = None
    height_m: float
    heading_deg: float = 0
    pan_min_deg: float = 0
    pan_max_deg: float = 0
    tilt_min_deg: float = 0
    tilt_max_deg: float = 0
    zoom_max: float = Field(default=1, ge=1)
    intrinsics: IntrinsicsSpec | None = None


class DeviceSpec(Spec):
    """A device, serving a lane (``checkpoint/lane``) or a perimeter segment."""

    external_id: ExternalId
    name: Name
    kind: DeviceKind
    lane: str | None = None
    segment: Code | None = None


class SiteSpec(Spec):
    """A whole site, lanes nested under their checkpoints."""

    event: EventSpec
    venues: list[VenueSpec] = Field(default_factory=list)
    zones: list[ZoneSpec] = Field(default_factory=list)
    checkpoints: list[CheckpointSpec] = Field(default_factory=list)
    perimeter_segments: list[SegmentSpec] = Field(default_factory=list)
    airspace: list[AirspaceSpec] = Field(default_factory=list)
    cameras: list[CameraSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)


FeatureKey = tuple[str, str]
"""``(kind, ref)`` of a geometry feature, e.g. ``("zone", "2")`` or ``("lane", "n1/l3")``."""


@dataclass
class Site:
    """A validated site: the YAML part, its GeoJSON geometry by ``(kind, ref)``, segment lengths."""

    spec: SiteSpec
    geometry: dict[FeatureKey, dict[str, Any]] = field(default_factory=dict)
    lengths_m: dict[str, float] = field(default_factory=dict)


def lane_ref(checkpoint: str, lane: str) -> str:
    """Return the reference of a lane as used by devices and geometry: ``checkpoint/lane``."""
    return f"{checkpoint}/{lane}"
