"""Device message formats: the MQTT topic scheme, strict payload models and one decoder.

Pure Python, no Django: the ingestion worker, the simulators and the fuzz tests import it.
Topics are ``anbao/<event>/<device-type>/<device-id>/<kind>``; every payload is JSON except
``rid``, a small binary frame around ASTM F3411 Remote ID messages.  ``decode`` turns a
topic and its bytes into a ``Decoded`` or raises ``PayloadError`` with a stable code, and
never any other exception.  See docs/device-protocol.md.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from anbao.alarms import remoteid

MAX_PAYLOAD_BYTES = 64 * 1024
TOPIC_ROOT = "anbao"

RID_MAGIC = b"RID1"
_RID_HEADER = struct.Struct(">4s16sQ")
RID_HEADER_SIZE = _RID_HEADER.size  # 28 bytes: magic, message id, receive time in ms

_CODE = r"[A-Za-z0-9._-]{1,64}"
_CODE_RE = re.compile(rf"\A{_CODE}\Z")
_MESSAGE_ID_RE = re.compile(r"\A[A-Za-z0-9._:-]{1,64}\Z")

# What each device type may send; heartbeat is open to every type.
ALLOWED_KINDS: dict[str, frozenset[str]] = {
    "leaky_cable_processor": frozenset({"heartbeat", "intrusion"}),
    "fence_controller": frozenset({"heartbeat", "fence"}),
    "radar": frozenset({"heartbeat", "plots"}),
    "rf_receiver": frozenset({"heartbeat", "bearing"}),
    "remote_id_receiver": frozenset({"heartbeat", "rid"}),
    "weather_station": frozenset({"heartbeat", "weather"}),
    "camera": frozenset({"heartbeat", "analytics"}),
    "panic_button": frozenset({"heartbeat", "panic"}),
    "door_controller": frozenset({"heartbeat", "door"}),
    "gate_scanner": frozenset({"heartbeat"}),
    "queue_sensor": frozenset({"heartbeat"}),
    "other": frozenset({"heartbeat"}),
}
DEVICE_TYPES: frozenset[str] = frozenset(ALLOWED_KINDS)
KINDS: frozenset[str] = frozenset().union(*ALLOWED_KINDS.values())


class PayloadError(ValueError):
    """A topic or payload that cannot be accepted; ``code`` is stable, ``reason`` human."""

    def __init__(self, code: str, reason: str, message_id: str | None = None) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.message_id = message_id


# --- field types -------------------------------------------------------------------------

Code = Annotated[str, StringConstraints(pattern=rf"^{_CODE}$")]
MessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
AltitudeM = Annotated[float, Field(ge=-1000.0, le=20000.0)]
Degrees360 = Annotated[float, Field(ge=0.0, le=360.0)]


class _Strict(BaseModel):
    # Devices are not trusted to be sloppy: no coercion, no unknown fields, no NaN/inf.
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False, frozen=True)


_RFC3339_RE = re.compile(
    r"\A(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?\Z"
)


def _rfc3339(value: object) -> datetime:
    # pydantic alone would also take bare dates and Unix seconds; the contract is RFC 3339.
    if isinstance(value, datetime):  # built in Python rather than parsed from a device
        if value.tzinfo is None or value.utcoffset() is None:
            raise PydanticCustomError("timezone_aware", "time has no UTC offset")
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("rfc3339", "time must be an RFC 3339 string")
    match = _RFC3339_RE.match(value)
    if match is None:
        raise PydanticCustomError("rfc3339", "time must be RFC 3339 with an offset")
    if match["offset"] is None:
        raise PydanticCustomError("timezone_aware", "time has no UTC offset")
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    frac = (match["frac"] or "0")[:6]  # Python keeps microseconds; finer digits are noise
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}{offset}")
        parsed.astimezone(UTC)  # year 1 at +08:00 has no UTC equivalent
    except (ValueError, OverflowError):
        raise PydanticCustomError("rfc3339", "time is not a valid date and time") from None
    return parsed


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


class _Message(_Strict):
    id: MessageId
    ts: Rfc3339


class Origin(_Strict):
    """A sensor's surveyed position (WGS 84, metres above the ellipsoid)."""

    lon: Longitude
    lat: Latitude
    alt_m: AltitudeM


class GeoPoint(_Strict):
    """A ground point (WGS 84)."""

    lon: Longitude
    lat: Latitude


class Heartbeat(_Message):
    """``heartbeat``: any device says it is alive."""

    uptime_s: Annotated[int, Field(ge=0, le=10**10)] | None = None
    firmware: ShortText | None = None
    battery_pct: Annotated[float, Field(ge=0.0, le=100.0)] | None = None
    temperature_c: Annotated[float, Field(ge=-80.0, le=150.0)] | None = None


class Intrusion(_Message):
    """``intrusion``: a leaky-cable processor detects a disturbance along its cable."""

    cable: Code
    side: Literal["inner", "outer"]
    position_m: Annotated[float, Field(ge=0.0, le=100_000.0)]
    magnitude: Annotated[float, Field(ge=0.0, le=1_000_000.0)]
    threshold: Annotated[float, Field(ge=0.0, le=1_000_000.0)]


class Fence(_Message):
    """``fence``: a pulse or vibration fence controller reports a zone event."""

    fence: Code
    section: Code | None = None
    position_m: Annotated[float, Field(ge=0.0, le=100_000.0)] | None = None
    event: Literal["cut", "short", "voltage_drop", "tamper", "restore"]
    voltage_kv: Annotated[float, Field(ge=0.0, le=20.0)] | None = None


class Weather(_Message):
    """``weather``: a weather station report."""

    wind_mps: Annotated[float, Field(ge=0.0, le=100.0)]
    gust_mps: Annotated[float, Field(ge=0.0, le=150.0)]
    wind_dir_deg: Degrees360
    rain_mmph: Annotated[float, Field(ge=0.0, le=500.0)]
    temperature_c: Annotated[float, Field(ge=-80.0, le=80.0)] | None = None
    visibility_m: Annotated[float, Field(ge=0.0, le=100_000.0)] | None = None


class Plot(_Strict):
    """One radar detection, polar around the radar's origin."""

    range_m: Annotated[float, Field(ge=0.0, le=200_000.0)]
    azimuth_deg: Degrees360
    elevation_deg: Annotated[float, Field(ge=-90.0, le=90.0)]
    radial_speed_mps: Annotated[float, Field(ge=-500.0, le=500.0)] | None = None
    rcs_dbsm: Annotated[float, Field(ge=-80.0, le=80.0)] | None = None


class Plots(_Message):
    """``plots``: one radar scan's detections."""

    origin: Origin
    plots: Annotated[list[Plot], Field(max_length=1000)]


class Bearing(_Message):
    """``bearing``: an RF receiver's line of bearing to a drone control or video link."""

    origin: Origin
    bearing_deg: Degrees360
    bearing_sd_deg: Annotated[float, Field(ge=0.0, le=180.0)]
    frequency_mhz: Annotated[float, Field(gt=0.0, le=100_000.0)]
    rssi_dbm: Annotated[float, Field(ge=-200.0, le=50.0)]
    protocol: ShortText | None = None


class Analytics(_Message):
    """``analytics``: a camera analytics rule starts or ends (ONVIF-style)."""

    camera: Code
    rule: Literal["line_crossing", "intrusion", "loitering"]
    state: Literal["start", "end"]
    object: Literal["human", "vehicle", "unknown"]
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    region: ShortText | None = None
    point: GeoPoint | None = None


class Panic(_Message):
    """``panic``: a panic button is pressed or reset."""

    state: Literal["pressed", "reset"]


class Door(_Message):
    """``door``: a door controller reports a forced or held door, or its closing."""

    door: Code
    event: Literal["forced", "held", "closed"]


@dataclass(frozen=True, slots=True)
class RidFrame:
    """A ``rid`` payload: the receiver's message id, receive time and decoded messages."""

    message_id: str
    received: datetime
    messages: tuple[remoteid.SingleMessage, ...]


JsonBody = Heartbeat | Intrusion | Fence | Weather | Plots | Bearing | Analytics | Panic | Door
Body = JsonBody | RidFrame

MODELS: dict[str, type[JsonBody]] = {
    "heartbeat": Heartbeat,
    "intrusion": Intrusion,
    "fence": Fence,
    "weather": Weather,
    "plots": Plots,
    "bearing": Bearing,
    "analytics": Analytics,
    "panic": Panic,
    "door": Door,
}


@dataclass(frozen=True, slots=True)
class Decoded:
    """One accepted device message."""

    event: str
    device_type: str
    device_id: str
    kind: str
    message_id: str
    ts: datetime  # aware UTC: device time, or the receive time for ``rid``
    body: Body


@dataclass(frozen=True, slots=True)
class Topic:
    """The parts of a device topic."""

    event: str
    device_type: str
    device_id: str
    kind: str


# --- topics ------------------------------------------------------------------------------


def _check_code(value: str, what: str) -> None:
    if not _CODE_RE.match(value):
        raise ValueError(f"{what} {value!r} must be 1-64 characters of [A-Za-z0-9._-]")


def topic_for(event: str, device_type: str, device_id: str, kind: str) -> str:
    """Build a device topic; raise ValueError for a bad part or a kind the type may not send."""
    _check_code(event, "event code")
    _check_code(device_id, "device id")
    if device_type not in ALLOWED_KINDS:
        raise ValueError(f"unknown device type {device_type!r}")
    if kind not in ALLOWED_KINDS[device_type]:
        raise ValueError(f"a {device_type} may not send {kind!r}")
    return f"{TOPIC_ROOT}/{event}/{device_type}/{device_id}/{kind}"


def subscription(event: str) -> str:
    """Return the ingestion worker's subscription for one event (every device and kind)."""
    _check_code(event, "event code")
    return f"{TOPIC_ROOT}/{event}/+/+/+"


def parse_topic(topic: str, *, event_code: str | None = None) -> Topic:
    """Split and check a device topic; raise PayloadError with a ``topic.*`` code."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_ROOT:
        raise PayloadError("topic.malformed", "expected anbao/<event>/<type>/<device>/<kind>")
    _root, event, device_type, device_id, kind = parts
    if not _CODE_RE.match(event):
        raise PayloadError("topic.malformed", "event code must be 1-64 of [A-Za-z0-9._-]")
    if not _CODE_RE.match(device_id):
        raise PayloadError("topic.malformed", "device id must be 1-64 of [A-Za-z0-9._-]")
    if event_code is not None and event != event_code:
        raise PayloadError("topic.wrong_event", f"topic is for event {event!r}, not {event_code!r}")
    allowed = ALLOWED_KINDS.get(device_type)
    if allowed is None:
        raise PayloadError("topic.unknown_device_type", f"unknown device type {device_type!r}")
    if kind not in allowed:
        raise PayloadError("topic.kind_not_allowed", f"a {device_type} may not send {kind[:32]!r}")
    return Topic(event, device_type, device_id, kind)


# --- decoding ----------------------------------------------------------------------------


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(payload)"


def _guess_message_id(payload: bytes) -> str | None:
    # Only for error reports, so a rejected message can still be matched to its replay.
    try:
        data = json.loads(payload)
    except Exception:  # any parse trouble just means there is no id to report
        return None
    if isinstance(data, dict):
        value = data.get("id")
        if isinstance(value, str) and _MESSAGE_ID_RE.match(value):
            return value
    return None


def _decode_json(kind: str, payload: bytes) -> JsonBody:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("payload.not_utf8", f"byte {exc.start} is not UTF-8") from None
    model = MODELS[kind]
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise PayloadError("payload.not_json", str(errors[0]["msg"])) from None
        message_id = _guess_message_id(payload)
        for error in errors:
            if error["type"] == "timezone_aware":
                raise PayloadError(
                    "payload.naive_time",
                    f"{_loc(error['loc'])}: a time needs a UTC offset (RFC 3339)",
                    message_id,
                ) from None
        reason = "; ".join(f"{_loc(e['loc'])}: {e['msg']}" for e in errors[:5])
        raise PayloadError("payload.schema", reason, message_id) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # pydantic reports nearly everything as ValidationError; this is the safety net.
        raise PayloadError("payload.schema", type(exc).__name__) from None


def _decode_rid(payload: bytes) -> RidFrame:
    if len(payload) <= RID_HEADER_SIZE:
        raise PayloadError("rid.frame", f"frame is {len(payload)} bytes, need more than 28")
    magic, raw_id, received_ms = _RID_HEADER.unpack_from(payload)
    if magic != RID_MAGIC:
        raise PayloadError("rid.frame", "frame does not start with RID1")
    message_id = str(uuid.UUID(bytes=raw_id))
    try:
        received = datetime.fromtimestamp(0, UTC) + timedelta(milliseconds=received_ms)
    except OverflowError:
        raise PayloadError("rid.frame", "receive time out of range", message_id) from None
    try:
        messages = remoteid.decode_messages(payload[RID_HEADER_SIZE:])
    except remoteid.RemoteIdError as exc:
        raise PayloadError(f"rid.{exc.code}", exc.message, message_id) from None
    except (ValueError, struct.error, IndexError) as exc:
        raise PayloadError("rid.bad_value", type(exc).__name__, message_id) from None
    return RidFrame(message_id, received, messages)


def decode(topic: str, payload: bytes, *, event_code: str | None = None) -> Decoded:
    """Decode one device message; raise PayloadError (and nothing else) when it is bad."""
    try:
        if not isinstance(topic, str):
            raise PayloadError("topic.malformed", "the topic is not text")
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise PayloadError("payload.not_json", "the payload is not bytes")
        parsed = parse_topic(topic, event_code=event_code)
        payload = bytes(payload)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise PayloadError("payload.too_large", f"{len(payload)} bytes, limit 65536")
        if parsed.kind == "rid":
            frame = _decode_rid(payload)
            return Decoded(
                parsed.event,
                parsed.device_type,
                parsed.device_id,
                parsed.kind,
                frame.message_id,
                frame.received,
                frame,
            )
        body = _decode_json(parsed.kind, payload)
        return Decoded(
            parsed.event,
            parsed.device_type,
            parsed.device_id,
            parsed.kind,
            body.id,
            body.ts.astimezone(UTC),
            body,
        )
    except PayloadError:
        raise
    except Exception as exc:  # the contract: a device can never make ingestion see another type
        raise PayloadError("payload.schema", f"unexpected {type(exc).__name__}") from None


# --- encoding ----------------------------------------------------------------------------


def encode(kind: str, body: JsonBody | dict[str, Any]) -> bytes:
    """Serialise a JSON payload for ``kind`` (a model, or a dict validated first)."""
    model = MODELS.get(kind)
    if model is None:
        raise ValueError(f"{kind!r} is not a JSON kind (use rid_frame for rid)")
    if isinstance(body, dict):
        body = model.model_validate(body, strict=False)
    if type(body) is not model:
        raise ValueError(f"a {kind} payload must be a {model.__name__}")
    return body.model_dump_json(exclude_none=True).encode()


def rid_frame(message_id: bytes, received: datetime, data: bytes) -> bytes:
    """Build a ``rid`` frame: magic, 16-byte message id, receive time in ms, F3411 bytes."""
    if len(message_id) != 16:
        raise ValueError("message_id must be 16 bytes (a UUID's bytes)")
    if received.tzinfo is None:
        raise ValueError("received must be an aware datetime")
    millis = (received - datetime.fromtimestamp(0, UTC)) // timedelta(milliseconds=1)
    if not 0 <= millis < 2**64:
        raise ValueError("received must be after 1970")
    if not data:
        raise ValueError("data must hold a Remote ID message or message pack")
    return _RID_HEADER.pack(RID_MAGIC, bytes(message_id), millis) + bytes(data)
