"""Decoder for ASTM F3411 / ASD-STAN prEN 4709-002 Remote ID broadcast messages.

Pure Python, no Django: the counter-drone ingestion and the fuzz tests import it directly.
Every message is 25 bytes, little-endian; byte 0 carries the message type in its high
nibble and the protocol version in its low nibble.  The Message Pack (type 0xF) wraps up
to nine such messages.  See docs/remote-id.md for units, sentinels and error codes.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MESSAGE_SIZE = 25
PACK_HEADER_SIZE = 3
PACK_MAX_MESSAGES = 9

TYPE_BASIC_ID = 0x0
TYPE_LOCATION = 0x1
TYPE_AUTH = 0x2
TYPE_SELF_ID = 0x3
TYPE_SYSTEM = 0x4
TYPE_OPERATOR_ID = 0x5
TYPE_PACK = 0xF

# The spec counts Authentication and System timestamps from this epoch, not from 1970.
EPOCH_2019 = datetime(2019, 1, 1, tzinfo=UTC)

# Upper bounds (metres, metres per second) behind the accuracy category codes; code 0 is
# "unknown" and codes past the end of each table are reserved, so both decode to None.
_HORIZONTAL_ACCURACY_M: tuple[float | None, ...] = (
    *(None, 18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6),
    *(30.0, 10.0, 3.0, 1.0),
)
_VERTICAL_ACCURACY_M: tuple[float | None, ...] = (None, 150.0, 45.0, 25.0, 10.0, 3.0, 1.0)
_SPEED_ACCURACY_MPS: tuple[float | None, ...] = (None, 10.0, 3.0, 1.0, 0.3)

_LOCATION = struct.Struct("<BBBBbiiHHHBBHBB")
_AUTH_PAGE0 = struct.Struct("<BBBBI17s")
_SYSTEM = struct.Struct("<BBiiHBHHBHIB")


class RemoteIdError(ValueError):
    """A Remote ID message that cannot be decoded; ``code`` is stable, ``message`` human."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class BasicId:
    """Basic ID (type 0): who the aircraft is."""

    protocol_version: int
    id_type: int  # 0 none, 1 serial (ANSI/CTA-2063-A), 2 CAA registration, 3 UTM UUID, 4 session
    ua_type: int  # 0 none ... 15 other, see F3411 table
    uas_id: str | None
    uas_id_raw: bytes


@dataclass(frozen=True, slots=True)
class Location:
    """Location/Vector (type 1): where the aircraft is and how it moves."""

    protocol_version: int
    status: int  # 0 undeclared, 1 ground, 2 airborne, 3 emergency, 4 RID system failure
    height_type: int  # 0 above take-off, 1 above ground level
    direction_deg: float | None  # track over ground, clockwise from true north
    speed_horizontal_mps: float | None
    speed_vertical_mps: float | None  # up is positive
    latitude: float | None
    longitude: float | None
    altitude_baro_m: float | None
    altitude_geo_m: float | None  # WGS84 height above ellipsoid
    height_m: float | None
    horizontal_accuracy_m: float | None
    vertical_accuracy_m: float | None
    baro_accuracy_m: float | None
    speed_accuracy_mps: float | None
    timestamp_s: float | None  # seconds after the full UTC hour
    timestamp_accuracy_s: float | None


@dataclass(frozen=True, slots=True)
class Authentication:
    """Authentication (type 2): one page of an authentication blob, data kept opaque."""

    protocol_version: int
    auth_type: int
    page: int
    last_page_index: int | None  # page 0 only
    length: int | None  # page 0 only: total bytes of authentication data
    timestamp: datetime | None  # page 0 only
    data: bytes


@dataclass(frozen=True, slots=True)
class SelfId:
    """Self-ID (type 3): free text the operator declares."""

    protocol_version: int
    description_type: int  # 0 text, 1 emergency, 2 extended status
    description: str


@dataclass(frozen=True, slots=True)
class System:
    """System (type 4): operator position, operating area and classification."""

    protocol_version: int
    operator_location_type: int  # 0 take-off, 1 live GNSS, 2 fixed
    classification_type: int  # 0 undeclared, 1 EU
    operator_latitude: float | None
    operator_longitude: float | None
    area_count: int
    area_radius_m: int
    area_ceiling_m: float | None
    area_floor_m: float | None
    ua_category: int  # EU category, meaningful only when classification_type == 1
    ua_class: int  # EU class, same condition
    operator_altitude_geo_m: float | None
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class OperatorId:
    """Operator ID (type 5): the operator's registration."""

    protocol_version: int
    operator_id_type: int
    operator_id: str


@dataclass(frozen=True, slots=True)
class MessagePack:
    """Message Pack (type 0xF): several single messages in one broadcast."""

    protocol_version: int
    messages: tuple[SingleMessage, ...]


SingleMessage = BasicId | Location | Authentication | SelfId | System | OperatorId
Message = SingleMessage | MessagePack


def _ascii(raw: bytes, field: str) -> str:
    # Fields are NUL-padded ASCII; anything else is a malformed broadcast, not text to guess at.
    try:
        return raw.rstrip(b"\x00").decode("ascii")
    except UnicodeDecodeError:
        raise RemoteIdError("bad_value", f"{field} is not ASCII") from None


def _altitude(raw: int) -> float | None:
    # 0.5 m steps offset by -1000 m; the encoded 0 (i.e. -1000 m) means unknown.
    return None if raw == 0 else raw * 0.5 - 1000.0


def _lat_lon(lat_raw: int, lon_raw: int, field: str) -> tuple[float | None, float | None]:
    # (0, 0) is the spec's "unknown"; a single zero is a legitimate equator/meridian fix.
    if lat_raw == 0 and lon_raw == 0:
        return None, None
    lat, lon = lat_raw * 1e-7, lon_raw * 1e-7
    if not -90.0 <= lat <= 90.0:
        raise RemoteIdError("bad_value", f"{field} latitude {lat} out of range")
    if not -180.0 <= lon <= 180.0:
        raise RemoteIdError("bad_value", f"{field} longitude {lon} out of range")
    return lat, lon


def _table(table: tuple[float | None, ...], code: int) -> float | None:
    return table[code] if code < len(table) else None


def _epoch_2019(raw: int) -> datetime | None:
    return None if raw == 0 else EPOCH_2019 + timedelta(seconds=raw)


def _decode_basic_id(data: bytes, version: int) -> BasicId:
    id_type, ua_type = data[1] >> 4, data[1] & 0x0F
    raw = bytes(data[2:22])
    uas_id: str | None
    if id_type == 0:
        uas_id = None
    elif id_type in (1, 2):
        uas_id = _ascii(raw, "uas_id")
    elif id_type == 3:
        # A UTM-assigned ID is a binary 128-bit UUID in the first 16 bytes.
        uas_id = str(uuid.UUID(bytes=raw[:16]))
    else:
        # Session IDs and reserved types are binary: hex keeps them comparable.
        uas_id = raw.rstrip(b"\x00").hex()
    return BasicId(version, id_type, ua_type, uas_id, raw)


def _direction(raw: int, east_west: int) -> float | None:
    # Track is split into 0..179 plus a "west half" bit that adds 180; 361 marks unknown.
    degrees = raw + 180 if east_west else raw
    if degrees == 361:
        return None
    if degrees > 360:
        raise RemoteIdError("bad_value", f"direction {degrees} out of range")
    return float(degrees)


def _speed_horizontal(raw: int, multiplier: int) -> float | None:
    # Multiplier 1 switches to 0.75 m/s steps above the 63.75 m/s that 0.25 m/s steps reach.
    if not multiplier:
        return raw * 0.25  # 255 here is a real 63.75 m/s, not the sentinel
    # 255 with the multiplier decodes to 255 m/s, the spec's "unknown".
    return None if raw == 255 else raw * 0.75 + 63.75


def _speed_vertical(raw: int) -> float | None:
    if raw == 126:  # 63 m/s, the spec's "unknown"
        return None
    if not -124 <= raw <= 124:
        raise RemoteIdError("bad_value", f"speed_vertical {raw * 0.5} m/s out of range")
    return raw * 0.5


def _decode_location(data: bytes, version: int) -> Location:
    (
        _header,
        flags,
        direction,
        speed_h,
        speed_v,
        lat_raw,
        lon_raw,
        baro,
        geo,
        height,
        accuracy_hv,
        accuracy_bs,
        timestamp,
        ts_accuracy,
        _reserved,
    ) = _LOCATION.unpack_from(data)
    latitude, longitude = _lat_lon(lat_raw, lon_raw, "location")
    if timestamp == 0xFFFF:
        timestamp_s = None
    elif timestamp > 36000:
        raise RemoteIdError("bad_value", f"timestamp {timestamp / 10} s past the hour")
    else:
        timestamp_s = timestamp / 10
    ts_code = ts_accuracy & 0x0F
    return Location(
        protocol_version=version,
        status=flags >> 4,
        height_type=(flags >> 2) & 1,
        direction_deg=_direction(direction, (flags >> 1) & 1),
        speed_horizontal_mps=_speed_horizontal(speed_h, flags & 1),
        speed_vertical_mps=_speed_vertical(speed_v),
        latitude=latitude,
        longitude=longitude,
        altitude_baro_m=_altitude(baro),
        altitude_geo_m=_altitude(geo),
        height_m=_altitude(height),
        horizontal_accuracy_m=_table(_HORIZONTAL_ACCURACY_M, accuracy_hv & 0x0F),
        vertical_accuracy_m=_table(_VERTICAL_ACCURACY_M, accuracy_hv >> 4),
        baro_accuracy_m=_table(_VERTICAL_ACCURACY_M, accuracy_bs >> 4),
        speed_accuracy_mps=_table(_SPEED_ACCURACY_MPS, accuracy_bs & 0x0F),
        timestamp_s=timestamp_s,
        timestamp_accuracy_s=None if ts_code == 0 else ts_code / 10,
    )


def _decode_auth(data: bytes, version: int) -> Authentication:
    auth_type, page = data[1] >> 4, data[1] & 0x0F
    if page != 0:
        return Authentication(version, auth_type, page, None, None, None, bytes(data[2:25]))
    _header, _page, last_page_index, length, timestamp, payload = _AUTH_PAGE0.unpack_from(data)
    if last_page_index > 15:
        raise RemoteIdError("bad_value", f"auth last_page_index {last_page_index} exceeds 15")
    return Authentication(
        version, auth_type, 0, last_page_index, length, _epoch_2019(timestamp), payload
    )


def _decode_self_id(data: bytes, version: int) -> SelfId:
    return SelfId(version, data[1], _ascii(bytes(data[2:25]), "description"))


def _decode_system(data: bytes, version: int) -> System:
    (
        _header,
        flags,
        lat_raw,
        lon_raw,
        area_count,
        area_radius,
        ceiling,
        floor,
        category_class,
        operator_alt,
        timestamp,
        _reserved,
    ) = _SYSTEM.unpack_from(data)
    latitude, longitude = _lat_lon(lat_raw, lon_raw, "operator")
    return System(
        protocol_version=version,
        operator_location_type=flags & 0x03,
        classification_type=(flags >> 2) & 0x07,
        operator_latitude=latitude,
        operator_longitude=longitude,
        area_count=area_count,
        area_radius_m=area_radius * 10,
        area_ceiling_m=_altitude(ceiling),
        area_floor_m=_altitude(floor),
        ua_category=category_class >> 4,
        ua_class=category_class & 0x0F,
        operator_altitude_geo_m=_altitude(operator_alt),
        timestamp=_epoch_2019(timestamp),
    )


def _decode_operator_id(data: bytes, version: int) -> OperatorId:
    return OperatorId(version, data[1], _ascii(bytes(data[2:22]), "operator_id"))


_SINGLE_DECODERS: dict[int, Callable[[bytes, int], SingleMessage]] = {
    TYPE_BASIC_ID: _decode_basic_id,
    TYPE_LOCATION: _decode_location,
    TYPE_AUTH: _decode_auth,
    TYPE_SELF_ID: _decode_self_id,
    TYPE_SYSTEM: _decode_system,
    TYPE_OPERATOR_ID: _decode_operator_id,
}


def _decode_single(data: bytes) -> SingleMessage:
    if len(data) < MESSAGE_SIZE:
        raise RemoteIdError("too_short", f"message is {len(data)} bytes, need {MESSAGE_SIZE}")
    if len(data) > MESSAGE_SIZE:
        raise RemoteIdError("bad_length", f"message is {len(data)} bytes, need {MESSAGE_SIZE}")
    message_type, version = data[0] >> 4, data[0] & 0x0F
    decoder = _SINGLE_DECODERS.get(message_type)
    if decoder is None:
        raise RemoteIdError("unknown_type", f"message type 0x{message_type:X} is not decoded")
    return decoder(data, version)


def _decode_pack(data: bytes) -> MessagePack:
    if len(data) < PACK_HEADER_SIZE:
        raise RemoteIdError("too_short", f"message pack is {len(data)} bytes")
    size, count = data[1], data[2]
    if size != MESSAGE_SIZE:
        raise RemoteIdError("bad_pack", f"pack message size {size}, must be {MESSAGE_SIZE}")
    if not 1 <= count <= PACK_MAX_MESSAGES:
        raise RemoteIdError("bad_pack", f"pack count {count}, must be 1..{PACK_MAX_MESSAGES}")
    expected = PACK_HEADER_SIZE + count * MESSAGE_SIZE
    if len(data) != expected:
        raise RemoteIdError(
            "bad_length", f"pack of {count} messages is {len(data)} bytes, need {expected}"
        )
    messages = []
    for index in range(count):
        start = PACK_HEADER_SIZE + index * MESSAGE_SIZE
        chunk = data[start : start + MESSAGE_SIZE]
        # A pack inside a pack is not allowed by the spec and would make sizes ambiguous.
        if chunk[0] >> 4 == TYPE_PACK:
            raise RemoteIdError("bad_pack", f"pack message {index} is itself a pack")
        try:
            messages.append(_decode_single(chunk))
        except RemoteIdError as exc:
            raise RemoteIdError(exc.code, f"pack message {index}: {exc.message}") from None
    return MessagePack(data[0] & 0x0F, tuple(messages))


def decode(data: bytes) -> Message:
    """Decode one Remote ID message (25 bytes) or a Message Pack; raise RemoteIdError."""
    data = bytes(data)
    if not data:
        raise RemoteIdError("too_short", "empty message")
    if data[0] >> 4 == TYPE_PACK:
        return _decode_pack(data)
    return _decode_single(data)


def decode_pack(data: bytes) -> tuple[SingleMessage, ...]:
    """Decode a Message Pack and return its messages; raise RemoteIdError if it is not one."""
    message = decode(data)
    if not isinstance(message, MessagePack):
        raise RemoteIdError("bad_pack", "message is not a message pack (type 0xF)")
    return message.messages


def decode_messages(data: bytes) -> tuple[SingleMessage, ...]:
    """Decode a single message or a pack into a flat tuple of single messages."""
    message = decode(data)
    return message.messages if isinstance(message, MessagePack) else (message,)
