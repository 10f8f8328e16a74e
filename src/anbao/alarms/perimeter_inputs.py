"""Perimeter device messages: leaky cable, fence controller, video analytics and weather.

Pure Python, no Django. Each message type checks its fields and builds itself from its JSON
payload with ``from_payload``; a bad field raises a ``ValueError`` that names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anbao.alarms.perimeter_decisions import AlarmType

# Base priority per fence event; cut and tamper defeat the barrier, so they rank highest.
FENCE_EVENTS: dict[str, tuple[AlarmType, int]] = {
    "cut": (AlarmType.FENCE_CUT, 1),
    "tamper": (AlarmType.FENCE_TAMPER, 1),
    "short": (AlarmType.FENCE_SHORT, 2),
    "voltage_drop": (AlarmType.FENCE_VOLTAGE_DROP, 3),
}
CABLE_SIDES = frozenset({"inner", "outer"})


def parse_ts(value: object) -> datetime:
    """Parse an RFC 3339 time with an offset; naive times are refused."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"ts {value!r} is not an RFC 3339 time") from exc
    else:
        raise ValueError(f"ts must be a string, got {type(value).__name__}")
    if parsed.utcoffset() is None:
        raise ValueError(f"ts {value!r} has no UTC offset")
    return parsed


def _number(payload: Mapping[str, Any], key: str, *, optional: bool = False) -> float | None:
    value = payload.get(key)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)


def _req(payload: Mapping[str, Any], key: str) -> float:
    value = _number(payload, key)
    if value is None:  # pragma: no cover - _number raises first
        raise ValueError(f"{key} is required")
    return value


def _text(payload: Mapping[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = payload.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class IntrusionReport:
    """A leaky-cable processor's intrusion message."""

    cable: str
    side: str
    position_m: float
    magnitude: float
    threshold: float
    id: str = ""
    ts: datetime | None = None

    def __post_init__(self) -> None:
        if self.side not in CABLE_SIDES:
            raise ValueError(f"side must be inner or outer, got {self.side!r}")

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> IntrusionReport:
        """Build from the ``intrusion`` JSON payload."""
        return cls(
            cable=str(_text(payload, "cable")),
            side=str(_text(payload, "side")),
            position_m=_req(payload, "position_m"),
            magnitude=_req(payload, "magnitude"),
            threshold=_req(payload, "threshold"),
            id=str(payload.get("id", "")),
            ts=parse_ts(payload["ts"]) if "ts" in payload else None,
        )


@dataclass(frozen=True, slots=True)
class FenceEvent:
    """A fence controller's message: cut, short, voltage drop, tamper or restore."""

    fence: str
    event: str
    section: str | None = None
    position_m: float | None = None
    voltage_kv: float | None = None
    id: str = ""
    ts: datetime | None = None

    def __post_init__(self) -> None:
        if self.event != "restore" and self.event not in FENCE_EVENTS:
            raise ValueError(
                f"fence event must be one of cut, short, voltage_drop, tamper, restore; "
                f"got {self.event!r}"
            )

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> FenceEvent:
        """Build from the ``fence`` JSON payload."""
        return cls(
            fence=str(_text(payload, "fence")),
            event=str(_text(payload, "event")),
            section=_text(payload, "section", optional=True),
            position_m=_number(payload, "position_m", optional=True),
            voltage_kv=_number(payload, "voltage_kv", optional=True),
            id=str(payload.get("id", "")),
            ts=parse_ts(payload["ts"]) if "ts" in payload else None,
        )


@dataclass(frozen=True, slots=True)
class AnalyticsEvent:
    """A camera's video analytics rule event (ONVIF style)."""

    camera: str
    rule: str
    state: str
    object: str = "unknown"
    confidence: float = 1.0
    point: tuple[float, float] | None = None  # lon, lat
    region: str | None = None
    id: str = ""
    ts: datetime | None = None

    def __post_init__(self) -> None:
        if self.rule not in {"line_crossing", "intrusion", "loitering"}:
            raise ValueError(f"unknown analytics rule {self.rule!r}")
        if self.state not in {"start", "end"}:
            raise ValueError(f"analytics state must be start or end, got {self.state!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1, got {self.confidence}")

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AnalyticsEvent:
        """Build from the ``analytics`` JSON payload."""
        point = payload.get("point")
        lonlat: tuple[float, float] | None = None
        if point is not None:
            if not isinstance(point, Mapping):
                raise ValueError("point must be an object with lon and lat")
            lonlat = (_req(point, "lon"), _req(point, "lat"))
        return cls(
            camera=str(_text(payload, "camera")),
            rule=str(_text(payload, "rule")),
            state=str(_text(payload, "state")),
            object=str(payload.get("object", "unknown")),
            confidence=_req(payload, "confidence"),
            point=lonlat,
            region=_text(payload, "region", optional=True),
            id=str(payload.get("id", "")),
            ts=parse_ts(payload["ts"]) if "ts" in payload else None,
        )


@dataclass(frozen=True, slots=True)
class WeatherReport:
    """A weather station's observation; ``ts`` is when it was observed."""

    wind_mps: float
    gust_mps: float
    wind_dir_deg: float
    rain_mmph: float
    ts: datetime
    temperature_c: float | None = None
    visibility_m: float | None = None
    id: str = ""

    def __post_init__(self) -> None:
        parse_ts(self.ts)
        if min(self.wind_mps, self.gust_mps, self.rain_mmph) < 0:
            raise ValueError("wind, gust and rain cannot be negative")

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WeatherReport:
        """Build from the ``weather`` JSON payload."""
        return cls(
            wind_mps=_req(payload, "wind_mps"),
            gust_mps=_req(payload, "gust_mps"),
            wind_dir_deg=_req(payload, "wind_dir_deg"),
            rain_mmph=_req(payload, "rain_mmph"),
            ts=parse_ts(payload.get("ts")),
            temperature_c=_number(payload, "temperature_c", optional=True),
            visibility_m=_number(payload, "visibility_m", optional=True),
            id=str(payload.get("id", "")),
        )
