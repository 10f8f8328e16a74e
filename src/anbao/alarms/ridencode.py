"""Encoder for ASTM F3411 Remote ID broadcast messages, the mirror of ``remoteid``.

Pure Python, no Django.  The device simulators use it to produce the bytes a real Remote ID
receiver would forward; every function returns one 25-byte little-endian message (or a
message pack) and raises ValueError for a value the format cannot carry.  Units, scales
and "unknown" sentinels follow the decoder in ``anbao.alarms.remoteid``.
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Sequence
from datetime import datetime

from anbao.alarms.remoteid import (
    EPOCH_2019,
    MESSAGE_SIZE,
    PACK_MAX_MESSAGES,
    TYPE_BASIC_ID,
    TYPE_LOCATION,
    TYPE_OPERATOR_ID,
    TYPE_PACK,
    TYPE_SELF_ID,
    TYPE_SYSTEM,
)

PROTOCOL_VERSION = 2

_LOCATION = struct.Struct("<BBBBbiiHHHBBHBx")
_SYSTEM = struct.Struct("<BBiiHBHHBHIx")
_ID20 = struct.Struct("<BB20s3x")
_SELF_ID = struct.Struct("<BB23s")

# Category upper bounds, in code order, as the decoder reads them (index = code, 0 unknown).
_HORIZONTAL_ACCURACY_M: tuple[float, ...] = (
    *(18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6),
    *(30.0, 10.0, 3.0, 1.0),
)
_VERTICAL_ACCURACY_M = (150.0, 45.0, 25.0, 10.0, 3.0, 1.0)
_SPEED_ACCURACY_MPS = (10.0, 3.0, 1.0, 0.3)


def _header(message_type: int, version: int) -> int:
    if not 0 <= version <= 15:
        raise ValueError("protocol version must be 0..15")
    return (message_type << 4) | version


def _finite(value: float, field: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{field} must be finite")
    return value


def _ascii(text: str, size: int, field: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{field} must be ASCII") from None
    if b"\x00" in raw or len(raw) > size:
        raise ValueError(f"{field} must be at most {size} ASCII characters without NUL")
    return raw


def _altitude(metres: float | None, field: str) -> int:
    # 0.5 m steps from -1000 m; raw 0 is the "unknown" sentinel, so -1000 m itself is not sent.
    if metres is None:
        return 0
    raw = round((_finite(metres, field) + 1000.0) / 0.5)
    if not 1 <= raw <= 0xFFFF:
        raise ValueError(f"{field} {metres} m is outside -999.5..31767.5")
    return raw


def _lat_lon(latitude: float | None, longitude: float | None, field: str) -> tuple[int, int]:
    if latitude is None or longitude is None:
        if latitude is not None or longitude is not None:
            raise ValueError(f"{field}: give both latitude and longitude, or neither")
        return 0, 0
    if not -90.0 <= _finite(latitude, field) <= 90.0:
        raise ValueError(f"{field} latitude {latitude} out of range")
    if not -180.0 <= _finite(longitude, field) <= 180.0:
        raise ValueError(f"{field} longitude {longitude} out of range")
    return round(latitude * 1e7), round(longitude * 1e7)


def _category(bounds: tuple[float, ...], value: float | None, field: str) -> int:
    # The tightest category whose bound still covers the value; 0 when unknown.
    if value is None:
        return 0
    if not _finite(value, field) >= 0:
        raise ValueError(f"{field} must not be negative")
    best = 0
    for index, bound in enumerate(bounds, start=1):
        if value <= bound:
            best = index
    if best == 0:
        raise ValueError(f"{field} {value} is worse than the widest category")
    return best


def seconds_after_hour(moment: datetime) -> float:
    """Return the Location message's time: seconds after the full UTC hour."""
    if moment.tzinfo is None:
        raise ValueError("moment must be an aware datetime")
    return moment.minute * 60 + moment.second + moment.microsecond / 1e6


def basic_id(uas_id: str | None, *, id_type: int = 1, ua_type: int = 2, version: int = 2) -> bytes:
    """Encode a Basic ID: serial (1) or CAA registration (2) in ASCII, UUID (3), hex (4+)."""
    if not 0 <= id_type <= 15 or not 0 <= ua_type <= 15:
        raise ValueError("id_type and ua_type must be 0..15")
    if id_type == 0:
        raw = b""
    elif uas_id is None:
        raise ValueError("uas_id is required unless id_type is 0")
    elif id_type in (1, 2):
        raw = _ascii(uas_id, 20, "uas_id")
    elif id_type == 3:
        raw = uuid.UUID(uas_id).bytes
    else:
        raw = bytes.fromhex(uas_id)
        if len(raw) > 20:
            raise ValueError("uas_id must be at most 20 bytes")
    return _ID20.pack(_header(TYPE_BASIC_ID, version), (id_type << 4) | ua_type, raw)


def location(
    *,
    latitude: float | None,
    longitude: float | None,
    direction_deg: float | None = None,
    speed_horizontal_mps: float | None = None,
    speed_vertical_mps: float | None = None,
    altitude_baro_m: float | None = None,
    altitude_geo_m: float | None = None,
    height_m: float | None = None,
    status: int = 2,
    height_type: int = 0,
    horizontal_accuracy_m: float | None = None,
    vertical_accuracy_m: float | None = None,
    baro_accuracy_m: float | None = None,
    speed_accuracy_mps: float | None = None,
    timestamp_s: float | None = None,
    timestamp_accuracy_s: float | None = None,
    version: int = PROTOCOL_VERSION,
) -> bytes:
    """Encode a Location/Vector: position, track, speeds, heights, accuracies, time."""
    if not 0 <= status <= 15 or height_type not in (0, 1):
        raise ValueError("status must be 0..15 and height_type 0 or 1")
    if direction_deg is None:
        degrees = 361  # the "unknown" direction
    else:
        if not 0.0 <= _finite(direction_deg, "direction") <= 360.0:
            raise ValueError("direction must be 0..360 degrees")
        degrees = round(direction_deg) % 360
    east_west, direction = (1, degrees - 180) if degrees >= 180 else (0, degrees)
    if speed_horizontal_mps is None:
        multiplier, speed = 1, 255
    else:
        if _finite(speed_horizontal_mps, "speed") < 0:
            raise ValueError("horizontal speed must not be negative")
        if speed_horizontal_mps <= 63.75:
            multiplier, speed = 0, round(speed_horizontal_mps / 0.25)
        else:
            multiplier, speed = 1, round((speed_horizontal_mps - 63.75) / 0.75)
            if speed > 254:
                raise ValueError("horizontal speed above 254.25 m/s")
    if speed_vertical_mps is None:
        vertical = 126
    else:
        vertical = round(_finite(speed_vertical_mps, "vertical speed") / 0.5)
        if not -124 <= vertical <= 124:
            raise ValueError("vertical speed must be within -62..62 m/s")
    if timestamp_s is None:
        timestamp = 0xFFFF
    else:
        timestamp = round(_finite(timestamp_s, "timestamp") * 10)
        if not 0 <= timestamp <= 36000:
            raise ValueError("timestamp must be 0..3600 s after the hour")
    if timestamp_accuracy_s is None:
        ts_accuracy = 0
    else:
        ts_accuracy = round(_finite(timestamp_accuracy_s, "timestamp accuracy") * 10)
        if not 1 <= ts_accuracy <= 15:
            raise ValueError("timestamp accuracy must be 0.1..1.5 s")
    lat, lon = _lat_lon(latitude, longitude, "location")
    flags = (status << 4) | (height_type << 2) | (east_west << 1) | multiplier
    accuracy_hv = (
        _category(_VERTICAL_ACCURACY_M, vertical_accuracy_m, "vertical accuracy") << 4
    ) | _category(_HORIZONTAL_ACCURACY_M, horizontal_accuracy_m, "horizontal accuracy")
    accuracy_bs = (
        _category(_VERTICAL_ACCURACY_M, baro_accuracy_m, "baro accuracy") << 4
    ) | _category(_SPEED_ACCURACY_MPS, speed_accuracy_mps, "speed accuracy")
    return _LOCATION.pack(
        _header(TYPE_LOCATION, version),
        flags,
        direction,
        speed,
        vertical,
        lat,
        lon,
        _altitude(altitude_baro_m, "altitude_baro"),
        _altitude(altitude_geo_m, "altitude_geo"),
        _altitude(height_m, "height"),
        accuracy_hv,
        accuracy_bs,
        timestamp,
        ts_accuracy,
    )


def system(
    *,
    operator_latitude: float | None,
    operator_longitude: float | None,
    operator_location_type: int = 1,
    classification_type: int = 1,
    area_count: int = 1,
    area_radius_m: int = 0,
    area_ceiling_m: float | None = None,
    area_floor_m: float | None = None,
    ua_category: int = 0,
    ua_class: int = 0,
    operator_altitude_geo_m: float | None = None,
    timestamp: datetime | None = None,
    version: int = PROTOCOL_VERSION,
) -> bytes:
    """Encode a System message: operator position, operating area, EU classification."""
    if not 0 <= operator_location_type <= 3 or not 0 <= classification_type <= 7:
        raise ValueError("operator_location_type must be 0..3 and classification_type 0..7")
    if not 0 <= ua_category <= 15 or not 0 <= ua_class <= 15:
        raise ValueError("ua_category and ua_class must be 0..15")
    if not 0 <= area_count <= 0xFFFF:
        raise ValueError("area_count must be 0..65535")
    if area_radius_m % 10 or not 0 <= area_radius_m <= 2550:
        raise ValueError("area_radius_m must be a multiple of 10 within 0..2550")
    if timestamp is None:
        seconds = 0
    else:
        if timestamp.tzinfo is None:
            raise ValueError("timestamp must be an aware datetime")
        seconds = int((timestamp - EPOCH_2019).total_seconds())
        if not 1 <= seconds < 2**32:
            raise ValueError("timestamp must be after 2019-01-01T00:00:01Z")
    lat, lon = _lat_lon(operator_latitude, operator_longitude, "operator")
    return _SYSTEM.pack(
        _header(TYPE_SYSTEM, version),
        (classification_type << 2) | operator_location_type,
        lat,
        lon,
        area_count,
        area_radius_m // 10,
        _altitude(area_ceiling_m, "area_ceiling"),
        _altitude(area_floor_m, "area_floor"),
        (ua_category << 4) | ua_class,
        _altitude(operator_altitude_geo_m, "operator_altitude"),
        seconds,
    )


def operator_id(operator: str, *, operator_id_type: int = 0, version: int = 2) -> bytes:
    """Encode an Operator ID: the operator's registration (ASCII, at most 20 characters)."""
    if not 0 <= operator_id_type <= 255:
        raise ValueError("operator_id_type must be 0..255")
    raw = _ascii(operator, 20, "operator_id")
    return _ID20.pack(_header(TYPE_OPERATOR_ID, version), operator_id_type, raw)


def self_id(description: str, *, description_type: int = 0, version: int = 2) -> bytes:
    """Encode a Self-ID: free text the operator declares (ASCII, at most 23 characters)."""
    if not 0 <= description_type <= 255:
        raise ValueError("description_type must be 0..255")
    raw = _ascii(description, 23, "description")
    return _SELF_ID.pack(_header(TYPE_SELF_ID, version), description_type, raw)


def message_pack(messages: Sequence[bytes], *, version: int = PROTOCOL_VERSION) -> bytes:
    """Encode a Message Pack: one to nine single 25-byte messages in one broadcast."""
    if not 1 <= len(messages) <= PACK_MAX_MESSAGES:
        raise ValueError(f"a pack holds 1..{PACK_MAX_MESSAGES} messages")
    for index, message in enumerate(messages):
        if len(message) != MESSAGE_SIZE:
            raise ValueError(f"message {index} is {len(message)} bytes, not {MESSAGE_SIZE}")
        if message[0] >> 4 == TYPE_PACK:
            raise ValueError(f"message {index} is itself a pack")
    header = bytes((_header(TYPE_PACK, version), MESSAGE_SIZE, len(messages)))
    return header + b"".join(bytes(message) for message in messages)
