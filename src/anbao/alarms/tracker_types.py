"""Counter-drone tracker types: the local frame, measurements, settings and track output.

Pure Python (pyproj), no Django. The measurements (:class:`RadarPlot`, :class:`RfBearing`)
check themselves on construction; the outputs (:class:`TrackSnapshot`, :class:`RfResult`,
:class:`PilotLocation`) give JSON with ``to_dict``. The tracker itself is
:class:`anbao.alarms.tracker.Tracker`; the tuning is explained in docs/counter-drone.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pyproj import CRS, Transformer

TrackStatus = Literal["tentative", "confirmed", "coasting"]
Compliance = Literal["none", "partial", "full"]

SOURCE_RADAR = "radar"
SOURCE_REMOTE_ID = "remote_id"
SOURCE_RF = "rf"


def require_aware(t: datetime, what: str = "time") -> float:
    """Return ``t`` as epoch seconds, refusing naive datetimes."""
    if not isinstance(t, datetime):
        raise ValueError(f"{what} must be a datetime, got {type(t).__name__}")
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {t.isoformat()}")
    return t.timestamp()


def require_finite(value: float, name: str) -> float:
    """Return ``value`` as a float, refusing NaN, infinities and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def require_lon_lat(lon: float, lat: float, name: str) -> None:
    """Refuse a non-finite or out-of-range WGS 84 longitude/latitude."""
    if not -180.0 <= require_finite(lon, f"{name} longitude") <= 180.0:
        raise ValueError(f"{name} longitude {lon} is outside -180..180")
    if not -90.0 <= require_finite(lat, f"{name} latitude") <= 90.0:
        raise ValueError(f"{name} latitude {lat} is outside -90..90")


class LocalFrame:
    """A local metric frame: azimuthal equidistant around a reference lon/lat, x east, y north."""

    def __init__(self, reference_lon: float, reference_lat: float) -> None:
        require_lon_lat(reference_lon, reference_lat, "reference")
        self.reference_lon = float(reference_lon)
        self.reference_lat = float(reference_lat)
        crs = CRS.from_proj4(
            f"+proj=aeqd +lat_0={reference_lat} +lon_0={reference_lon} +datum=WGS84 +units=m"
        )
        self._fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def to_xy(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        """Project lon/lat (scalars or arrays) to x east, y north in metres."""
        return self._fwd.transform(lon, lat)

    def to_lonlat(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Unproject x/y metres (scalars or arrays) to lon/lat."""
        return self._inv.transform(x, y)


@dataclass(frozen=True, slots=True)
class RadarPlot:
    """One radar detection in polar coordinates relative to the radar's surveyed origin."""

    t: datetime
    origin_lon: float
    origin_lat: float
    origin_alt_m: float
    range_m: float
    azimuth_deg: float  # from true north, clockwise
    elevation_deg: float  # above the horizon
    radial_speed_mps: float | None = None

    def __post_init__(self) -> None:
        require_aware(self.t, "radar plot time")
        require_lon_lat(self.origin_lon, self.origin_lat, "radar origin")
        require_finite(self.origin_alt_m, "radar origin altitude")
        if require_finite(self.range_m, "radar range") < 0:
            raise ValueError(f"radar range must be >= 0 m, got {self.range_m}")
        if not 0.0 <= require_finite(self.azimuth_deg, "radar azimuth") < 360.0:
            raise ValueError(f"radar azimuth must be in [0, 360) degrees, got {self.azimuth_deg}")
        if not -90.0 <= require_finite(self.elevation_deg, "radar elevation") <= 90.0:
            raise ValueError(
                f"radar elevation must be in [-90, 90] degrees, got {self.elevation_deg}"
            )
        if self.radial_speed_mps is not None:
            require_finite(self.radial_speed_mps, "radar radial speed")


@dataclass(frozen=True, slots=True)
class RfBearing:
    """One RF direction-finding line of bearing from a receiver."""

    t: datetime
    origin_lon: float
    origin_lat: float
    bearing_deg: float
    bearing_sd_deg: float
    frequency_mhz: float
    rssi_dbm: float

    def __post_init__(self) -> None:
        require_aware(self.t, "RF bearing time")
        require_lon_lat(self.origin_lon, self.origin_lat, "RF receiver origin")
        if not 0.0 <= require_finite(self.bearing_deg, "RF bearing") < 360.0:
            raise ValueError(f"RF bearing must be in [0, 360) degrees, got {self.bearing_deg}")
        if not 0.0 < require_finite(self.bearing_sd_deg, "RF bearing sd") <= 180.0:
            raise ValueError(
                f"RF bearing sd must be in (0, 180] degrees, got {self.bearing_sd_deg}"
            )
        if require_finite(self.frequency_mhz, "RF frequency") <= 0:
            raise ValueError(f"RF frequency must be > 0 MHz, got {self.frequency_mhz}")
        require_finite(self.rssi_dbm, "RF RSSI")


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tuning of the tracker; the defaults are explained in docs/counter-drone.md."""

    radar_range_sd_m: float = 5.0
    radar_azimuth_sd_deg: float = 0.3
    radar_elevation_sd_deg: float = 0.5
    rid_default_accuracy_m: float = 30.0
    rid_default_vertical_accuracy_m: float = 45.0
    accel_sd_horizontal_mps2: float = 2.0
    accel_sd_vertical_mps2: float = 1.0
    initial_velocity_sd_mps: float = 20.0
    gate_probability: float = 0.999
    wide_gate_factor: float = 4.0
    confirm_hits: int = 3
    confirm_window: int = 5
    coast_after_s: float = 1.5
    delete_after_s: float = 10.0
    tentative_timeout_s: float = 2.0
    max_lateness_s: float = 0.5
    ground_alt_m: float = 0.0
    spoof_distance_m: float = 150.0
    spoof_search_m: float = 1500.0
    spoof_velocity_match_mps: float = 3.0
    twin_min_speed_mps: float = 4.0
    max_drone_speed_mps: float = 60.0
    rid_max_range_m: float = 15_000.0
    radar_support_s: float = 3.0
    no_radar_return_s: float = 10.0
    radar_coverage_m: float = 5_000.0
    rf_k_sigma: float = 3.0
    rf_only_ttl_s: float = 10.0
    max_spoof_flags: int = 20

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            require_finite(value, name)
            if name != "ground_alt_m" and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not 0.0 < self.gate_probability < 1.0:
            raise ValueError(f"gate_probability must be in (0, 1), got {self.gate_probability}")
        if self.confirm_hits > self.confirm_window:
            raise ValueError("confirm_hits must not exceed confirm_window")


@dataclass(frozen=True, slots=True)
class SpoofFlag:
    """A reason to distrust a track's Remote ID: a stable code, a human reason, when."""

    code: str  # radar_mismatch | implausible_jump | beyond_receiver_range | no_radar_return
    reason: str
    at: datetime

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-ready dict."""
        return {"code": self.code, "reason": self.reason, "at": self.at.isoformat()}


@dataclass(frozen=True, slots=True)
class TrackSnapshot:
    """An immutable picture of one track at its last update; ``to_dict`` gives JSON."""

    track_id: str
    status: TrackStatus
    lon: float
    lat: float
    alt_m: float  # metres above ground (TrackerConfig.ground_alt_m)
    x_m: float
    y_m: float
    velocity_east_mps: float
    velocity_north_mps: float
    velocity_up_mps: float
    speed_mps: float  # horizontal ground speed
    heading_deg: float  # course over ground, clockwise from true north
    position_sd_m: float  # 1-sigma along the horizontal error ellipse's major axis
    altitude_sd_m: float
    sources: tuple[str, ...]
    first_seen: datetime
    last_update: datetime
    hits: int
    serial: str | None = None
    operator_id: str | None = None
    operator_lon: float | None = None
    operator_lat: float | None = None
    operator_alt_m: float | None = None
    operator_location_type: int | None = None  # 0 take-off, 1 live GNSS, 2 fixed
    operator_position_at: datetime | None = None
    self_id: str | None = None
    remote_id_compliance: Compliance = "none"
    spoof_flags: tuple[SpoofFlag, ...] = ()
    last_radar: datetime | None = None
    last_remote_id: datetime | None = None
    last_rf: datetime | None = None

    @property
    def spoofed(self) -> bool:
        """Whether any spoofing check fired on this track."""
        return bool(self.spoof_flags)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (times as ISO 8601 UTC strings)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif name == "spoof_flags":
                value = [flag.to_dict() for flag in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class RfDetection:
    """An RF bearing that corroborated no track: something transmits, position unknown."""

    t: datetime
    origin_lon: float
    origin_lat: float
    bearing_deg: float
    bearing_sd_deg: float
    frequency_mhz: float
    rssi_dbm: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "t": self.t.isoformat(),
            "origin_lon": self.origin_lon,
            "origin_lat": self.origin_lat,
            "bearing_deg": self.bearing_deg,
            "bearing_sd_deg": self.bearing_sd_deg,
            "frequency_mhz": self.frequency_mhz,
            "rssi_dbm": self.rssi_dbm,
        }


@dataclass(frozen=True, slots=True)
class RfResult:
    """What one RF bearing did: the tracks it corroborated, or an RF-only detection."""

    corroborated: tuple[str, ...]
    detection: RfDetection | None


@dataclass(frozen=True, slots=True)
class PilotLocation:
    """Where the pilot is, from Remote ID, or why that is unknown."""

    known: bool
    lon: float | None = None
    lat: float | None = None
    alt_m: float | None = None
    location_type: str | None = None  # take_off | live_gnss | fixed
    at: datetime | None = None
    reason: str | None = None  # set when not known

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "known": self.known,
            "lon": self.lon,
            "lat": self.lat,
            "alt_m": self.alt_m,
            "location_type": self.location_type,
            "at": self.at.isoformat() if self.at else None,
            "reason": self.reason,
        }


_OPERATOR_LOCATION_TYPES = {0: "take_off", 1: "live_gnss", 2: "fixed"}


def pilot_location(track: TrackSnapshot) -> PilotLocation:
    """Return the pilot's position for a track from its Remote ID System message, or why not."""
    if track.remote_id_compliance == "none":
        return PilotLocation(False, reason="no_remote_id: the aircraft broadcasts no Remote ID")
    if track.serial is None:
        return PilotLocation(False, reason="no_identity: Remote ID seen without a Basic ID")
    if track.operator_location_type is None:
        return PilotLocation(
            False, reason="no_system_message: no Remote ID System message received yet"
        )
    if track.operator_lon is None or track.operator_lat is None:
        return PilotLocation(
            False, reason="operator_position_unknown: the System message gives no position"
        )
    kind = _OPERATOR_LOCATION_TYPES.get(track.operator_location_type, "unknown")
    return PilotLocation(
        True,
        lon=track.operator_lon,
        lat=track.operator_lat,
        alt_m=track.operator_alt_m,
        location_type=kind,
        at=track.operator_position_at,
    )
