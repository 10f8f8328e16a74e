"""Camera call-up for an alarm point: which cameras can see it, and where a PTZ must look.

Pure Python, no Django: the alarm services fill :class:`CameraPose` from the Camera model.
Bearings and ground distances come from the WGS 84 geodesic (pyproj.Geod); the local
east/north offsets of the target come from an azimuthal equidistant projection centred on
the camera, which is exact in distance and azimuth from its centre. See docs/perimeter.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pyproj import Geod, Transformer

GEOD = Geod(ellps="WGS84")

DEFAULT_MAX_RANGE_M = 400.0
DEFAULT_PERSON_HEIGHT_M = 2.0
DEFAULT_IMAGE_SHARE = 0.5


class CameraKind(StrEnum):
    """Fixed or pan-tilt-zoom, as in the site's camera list."""

    FIXED = "fixed"
    PTZ = "ptz"


class Rejection(StrEnum):
    """Why a camera cannot show an alarm point."""

    OUT_OF_RANGE = "ptz.out_of_range"
    PAN_LIMIT = "ptz.pan_out_of_limits"
    TILT_LIMIT = "ptz.tilt_out_of_limits"
    OUTSIDE_FOV = "ptz.outside_field_of_view"
    BEHIND = "ptz.behind_camera"
    NO_INTRINSICS = "ptz.no_intrinsics"


@dataclass(frozen=True, slots=True)
class Intrinsics:
    """Pinhole intrinsics in pixels at zoom 1 (distortion is not needed for call-up)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.fx <= 0 or self.fy <= 0 or self.width <= 0 or self.height <= 0:
            raise ValueError(
                f"intrinsics need positive fx, fy, width, height; got fx={self.fx}, "
                f"fy={self.fy}, width={self.width}, height={self.height}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Intrinsics | None:
        """Build from the model's ``intrinsics`` JSON; ``None`` when it is empty."""
        if not data:
            return None
        try:
            return cls(
                fx=float(data["fx"]),
                fy=float(data["fy"]),
                cx=float(data.get("cx", 0.0)),
                cy=float(data.get("cy", 0.0)),
                width=int(data["width"]),
                height=int(data["height"]),
            )
        except KeyError as exc:
            raise ValueError(f"intrinsics lack {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise ValueError(f"intrinsics hold a non-numeric value: {exc}") from exc

    @property
    def horizontal_fov_deg(self) -> float:
        """Full horizontal field of view at zoom 1."""
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))


@dataclass(frozen=True, slots=True)
class CameraPose:
    """A camera's surveyed pose: position, mounting height, pan-0 heading, limits, optics."""

    code: str
    kind: CameraKind
    lon: float
    lat: float
    height_m: float
    heading_deg: float = 0.0
    pan_min_deg: float = 0.0
    pan_max_deg: float = 0.0
    tilt_min_deg: float = 0.0
    tilt_max_deg: float = 0.0
    zoom_max: float = 1.0
    intrinsics: Intrinsics | None = None

    def __post_init__(self) -> None:
        if not -180.0 <= self.lon <= 180.0 or not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"camera {self.code}: lon/lat {self.lon},{self.lat} out of range")
        if self.pan_min_deg > self.pan_max_deg or self.tilt_min_deg > self.tilt_max_deg:
            raise ValueError(f"camera {self.code}: pan or tilt minimum above its maximum")
        if self.zoom_max < 1.0:
            raise ValueError(f"camera {self.code}: zoom_max {self.zoom_max} is below 1")


@dataclass(frozen=True, slots=True)
class Aim:
    """Where a camera must point to see a target, and how far away the target is."""

    azimuth_deg: float
    pan_deg: float
    tilt_deg: float
    ground_distance_m: float
    slant_range_m: float
    east_m: float
    north_m: float
    zoom: float | None
    zoom_clamped: bool


@dataclass(frozen=True, slots=True)
class CameraChoice:
    """A camera that can show the point, with the command to send it."""

    camera: CameraPose
    aim: Aim
    pan_command_deg: float | None

    @property
    def code(self) -> str:
        """The camera's code."""
        return self.camera.code


@dataclass(frozen=True, slots=True)
class CameraRejection:
    """A camera that cannot show the point, with the reason code and the numbers."""

    code: str
    reason: Rejection
    detail: str


@dataclass(frozen=True, slots=True)
class CallUp:
    """The cameras for an alarm point, best first, and why the others were left out."""

    chosen: tuple[CameraChoice, ...]
    rejected: tuple[CameraRejection, ...] = field(default=())

    @property
    def best(self) -> CameraChoice | None:
        """The first choice, or ``None`` when no camera can see the point."""
        return self.chosen[0] if self.chosen else None


def wrap_deg(angle: float) -> float:
    """Wrap an angle in degrees into (-180, 180]."""
    wrapped = math.fmod(angle, 360.0)
    if wrapped <= -180.0:
        wrapped += 360.0
    elif wrapped > 180.0:
        wrapped -= 360.0
    return wrapped


@lru_cache(maxsize=256)
def _local_frame(origin_lon: float, origin_lat: float) -> Transformer:
    # Building a transformer costs milliseconds; cameras and alarm points repeat.
    return Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={origin_lat!r} +lon_0={origin_lon!r} +ellps=WGS84 +units=m",
        always_xy=True,
    )


def local_offset(
    origin_lon: float, origin_lat: float, lon: float, lat: float
) -> tuple[float, float]:
    """East and north metres of a point in a local frame centred on the origin."""
    east, north = _local_frame(origin_lon, origin_lat).transform(lon, lat)
    return float(east), float(north)


def suggest_zoom(
    intrinsics: Intrinsics,
    slant_range_m: float,
    zoom_max: float,
    *,
    person_height_m: float = DEFAULT_PERSON_HEIGHT_M,
    image_share: float = DEFAULT_IMAGE_SHARE,
) -> tuple[float, bool]:
    """Zoom so that a person spans ``image_share`` of the image height; flag if clamped."""
    if not 0.0 < image_share <= 1.0:
        raise ValueError(f"image_share must be in (0, 1], got {image_share}")
    if person_height_m <= 0:
        raise ValueError(f"person_height_m must be positive, got {person_height_m}")
    # At zoom z the focal length is z * fy, so the person spans z * fy * h / range pixels.
    wanted = image_share * intrinsics.height * slant_range_m / (intrinsics.fy * person_height_m)
    clamped = min(max(wanted, 1.0), zoom_max)
    return clamped, not math.isclose(clamped, wanted)


def aim(
    camera: CameraPose,
    lon: float,
    lat: float,
    *,
    target_height_m: float = 0.0,
    person_height_m: float = DEFAULT_PERSON_HEIGHT_M,
    image_share: float = DEFAULT_IMAGE_SHARE,
) -> Aim:
    """Pan, tilt and zoom for a camera to look at a point ``target_height_m`` above ground."""
    azimuth, _back, distance = GEOD.inv(camera.lon, camera.lat, lon, lat)
    azimuth = float(azimuth) % 360.0
    distance = float(distance)
    east, north = local_offset(camera.lon, camera.lat, lon, lat)
    drop = target_height_m - camera.height_m
    slant = math.hypot(distance, drop)
    # Straight down (or the camera's own spot) has no azimuth: keep pan 0 there.
    pan = 0.0 if distance < 1e-6 else wrap_deg(azimuth - camera.heading_deg)
    tilt = math.degrees(math.atan2(drop, distance))
    zoom: float | None = None
    zoom_clamped = False
    if camera.intrinsics is not None and slant > 0:
        zoom, zoom_clamped = suggest_zoom(
            camera.intrinsics,
            slant,
            camera.zoom_max,
            person_height_m=person_height_m,
            image_share=image_share,
        )
    return Aim(
        azimuth_deg=azimuth,
        pan_deg=pan,
        tilt_deg=tilt,
        ground_distance_m=distance,
        slant_range_m=slant,
        east_m=east,
        north_m=north,
        zoom=zoom,
        zoom_clamped=zoom_clamped,
    )


def pan_command(camera: CameraPose, pan_deg: float) -> float | None:
    """Return the pan inside the camera's limits that faces ``pan_deg``, or ``None``."""
    if camera.pan_max_deg - camera.pan_min_deg >= 360.0:
        # Continuous rotation: any direction, expressed inside the configured range.
        value = pan_deg
        while value < camera.pan_min_deg:
            value += 360.0
        while value > camera.pan_max_deg:
            value -= 360.0
        return value
    for candidate in (pan_deg, pan_deg + 360.0, pan_deg - 360.0):
        if camera.pan_min_deg <= candidate <= camera.pan_max_deg:
            return candidate
    return None


def check_camera(
    camera: CameraPose,
    lon: float,
    lat: float,
    *,
    max_range_m: float = DEFAULT_MAX_RANGE_M,
    target_height_m: float = 0.0,
    person_height_m: float = DEFAULT_PERSON_HEIGHT_M,
    image_share: float = DEFAULT_IMAGE_SHARE,
) -> CameraChoice | CameraRejection:
    """Decide whether one camera can show the point, and how."""
    target = aim(
        camera,
        lon,
        lat,
        target_height_m=target_height_m,
        person_height_m=person_height_m,
        image_share=image_share,
    )
    if target.ground_distance_m > max_range_m:
        return CameraRejection(
            camera.code,
            Rejection.OUT_OF_RANGE,
            f"{target.ground_distance_m:.0f} m away, beyond {max_range_m:.0f} m",
        )
    if camera.kind is CameraKind.PTZ:
        command = pan_command(camera, target.pan_deg)
        if command is None:
            return CameraRejection(
                camera.code,
                Rejection.PAN_LIMIT,
                f"pan {target.pan_deg:.1f} deg outside "
                f"[{camera.pan_min_deg:g}, {camera.pan_max_deg:g}]",
            )
        if not camera.tilt_min_deg <= target.tilt_deg <= camera.tilt_max_deg:
            return CameraRejection(
                camera.code,
                Rejection.TILT_LIMIT,
                f"tilt {target.tilt_deg:.1f} deg outside "
                f"[{camera.tilt_min_deg:g}, {camera.tilt_max_deg:g}]",
            )
        return CameraChoice(camera, target, command)
    if camera.intrinsics is None:
        return CameraRejection(
            camera.code, Rejection.NO_INTRINSICS, "fixed camera without fx/width"
        )
    # A fixed camera's heading is its optical axis; the point's bearing off it must lie
    # within half the horizontal field of view, and ahead of the image plane.
    off_axis = wrap_deg(target.azimuth_deg - camera.heading_deg)
    if abs(off_axis) >= 90.0:
        return CameraRejection(
            camera.code, Rejection.BEHIND, f"{off_axis:.1f} deg off axis, behind the camera"
        )
    half_fov = camera.intrinsics.horizontal_fov_deg / 2.0
    if abs(off_axis) > half_fov:
        return CameraRejection(
            camera.code,
            Rejection.OUTSIDE_FOV,
            f"{off_axis:.1f} deg off axis, half field of view {half_fov:.1f} deg",
        )
    return CameraChoice(camera, target, None)


def select_cameras(
    cameras: Iterable[CameraPose],
    lon: float,
    lat: float,
    *,
    max_range_m: float = DEFAULT_MAX_RANGE_M,
    target_height_m: float = 0.0,
    person_height_m: float = DEFAULT_PERSON_HEIGHT_M,
    image_share: float = DEFAULT_IMAGE_SHARE,
) -> CallUp:
    """Cameras that can show the point: PTZ first, then nearest; with every rejection."""
    if max_range_m <= 0:
        raise ValueError(f"max_range_m must be positive, got {max_range_m}")
    chosen: list[CameraChoice] = []
    rejected: list[CameraRejection] = []
    for camera in cameras:
        result = check_camera(
            camera,
            lon,
            lat,
            max_range_m=max_range_m,
            target_height_m=target_height_m,
            person_height_m=person_height_m,
            image_share=image_share,
        )
        if isinstance(result, CameraChoice):
            chosen.append(result)
        else:
            rejected.append(result)
    chosen.sort(
        key=lambda c: (c.camera.kind is not CameraKind.PTZ, c.aim.ground_distance_m, c.code)
    )
    rejected.sort(key=lambda r: r.code)
    return CallUp(tuple(chosen), tuple(rejected))
