"""Remote ID decoder: known values per message type, sentinels, packs, malformed input, fuzz.

The builders here pack bytes straight from the F3411 / opendroneid byte layout with
struct, independently of the decoder, so a layout mistake in one shows up against the other.
"""

from __future__ import annotations

import contextlib
import struct
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anbao.alarms.remoteid import (
    Authentication,
    BasicId,
    Location,
    MessagePack,
    OperatorId,
    RemoteIdError,
    SelfId,
    System,
    decode,
    decode_messages,
    decode_pack,
)


def header(message_type: int, version: int = 2) -> int:
    return (message_type << 4) | version


def alt(metres: float) -> int:
    return round((metres + 1000) / 0.5)


def basic_id(id_type: int = 1, ua_type: int = 2, uas_id: bytes = b"1596F3A2B4C5D6E7") -> bytes:
    return struct.pack("<BB20s3x", header(0), (id_type << 4) | ua_type, uas_id)


def location(
    *,
    status: int = 2,
    height_type: int = 1,
    ew: int = 1,
    speed_mult: int = 0,
    direction: int = 90,
    speed: int = 40,
    vspeed: int = -6,
    lat: int = 523_745_123,
    lon: int = 48_912_345,
    baro: int | None = None,
    geo: int | None = None,
    height: int | None = None,
    h_acc: int = 10,
    v_acc: int = 4,
    baro_acc: int = 3,
    speed_acc: int = 2,
    timestamp: int = 12_345,
    ts_acc: int = 2,
) -> bytes:
    flags = (status << 4) | (height_type << 2) | (ew << 1) | speed_mult
    return struct.pack(
        "<BBBBbiiHHHBBHBx",
        header(1),
        flags,
        direction,
        speed,
        vspeed,
        lat,
        lon,
        alt(120.5) if baro is None else baro,
        alt(150.0) if geo is None else geo,
        alt(95.0) if height is None else height,
        (v_acc << 4) | h_acc,
        (baro_acc << 4) | speed_acc,
        timestamp,
        ts_acc,
    )


def self_id(desc_type: int = 0, text: bytes = b"Media drone NOS") -> bytes:
    return struct.pack("<BB23s", header(3), desc_type, text)


def system(
    *,
    lat: int = 523_700_000,
    lon: int = 48_900_000,
    ceiling: int | None = None,
    floor: int | None = None,
    operator_alt: int | None = None,
    timestamp: int = 200_000_000,
) -> bytes:
    flags = (1 << 2) | 1  # classification EU, operator location live GNSS
    return struct.pack(
        "<BBiiHBHHBHIx",
        header(4),
        flags,
        lat,
        lon,
        3,
        15,
        alt(120.0) if ceiling is None else ceiling,
        alt(0.0) if floor is None else floor,
        (2 << 4) | 1,  # category specific, class C1
        alt(12.5) if operator_alt is None else operator_alt,
        timestamp,
    )


def operator_id(text: bytes = b"NLD87astrdge12k8") -> bytes:
    return struct.pack("<BB20s3x", header(5), 0, text)


def auth_page0() -> bytes:
    return struct.pack("<BBBBI17s", header(2), (1 << 4) | 0, 2, 63, 1000, bytes(range(17)))


def auth_page1() -> bytes:
    return struct.pack("<BB23s", header(2), (1 << 4) | 1, bytes(range(100, 123)))


def pack(*messages: bytes, size: int = 25, count: int | None = None) -> bytes:
    n = len(messages) if count is None else count
    return struct.pack("<BBB", header(0xF), size, n) + b"".join(messages)


def error_code(data: bytes) -> str:
    with pytest.raises(RemoteIdError) as info:
        decode(data)
    return info.value.code


# --- known values ----------------------------------------------------------------------


def test_layouts_are_25_bytes() -> None:
    for message in (basic_id(), location(), self_id(), system(), operator_id(), auth_page0()):
        assert len(message) == 25
    assert len(auth_page1()) == 25


def test_basic_id_serial() -> None:
    message = decode(basic_id())
    assert message == BasicId(2, 1, 2, "1596F3A2B4C5D6E7", b"1596F3A2B4C5D6E7" + bytes(4))


def test_basic_id_utm_uuid_and_none() -> None:
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    message = decode(basic_id(id_type=3, uas_id=value.bytes))
    assert isinstance(message, BasicId)
    assert message.uas_id == str(value)
    assert decode(basic_id(id_type=0, uas_id=b"")).uas_id is None  # type: ignore[union-attr]


def test_basic_id_session_id_is_hex() -> None:
    message = decode(basic_id(id_type=4, uas_id=b"\x01\xff\x80"))
    assert message.uas_id == "01ff80"  # type: ignore[union-attr]


def test_location_known_values() -> None:
    message = decode(location())
    assert isinstance(message, Location)
    assert message.status == 2
    assert message.height_type == 1
    assert message.direction_deg == 270.0  # 90 + 180 for the west half
    assert message.speed_horizontal_mps == pytest.approx(10.0)  # 40 x 0.25
    assert message.speed_vertical_mps == pytest.approx(-3.0)  # -6 x 0.5
    assert message.latitude == pytest.approx(52.3745123)
    assert message.longitude == pytest.approx(4.8912345)
    assert message.altitude_baro_m == pytest.approx(120.5)
    assert message.altitude_geo_m == pytest.approx(150.0)
    assert message.height_m == pytest.approx(95.0)
    assert message.horizontal_accuracy_m == 10.0
    assert message.vertical_accuracy_m == 10.0
    assert message.baro_accuracy_m == 25.0
    assert message.speed_accuracy_mps == 3.0
    assert message.timestamp_s == pytest.approx(1234.5)
    assert message.timestamp_accuracy_s == pytest.approx(0.2)


def test_location_east_half_and_speed_multiplier() -> None:
    message = decode(location(ew=0, direction=45, speed_mult=1, speed=100))
    assert isinstance(message, Location)
    assert message.direction_deg == 45.0
    assert message.speed_horizontal_mps == pytest.approx(100 * 0.75 + 63.75)


def test_location_speed_255_without_multiplier_is_real() -> None:
    message = decode(location(speed_mult=0, speed=255))
    assert message.speed_horizontal_mps == pytest.approx(63.75)  # type: ignore[union-attr]


def test_location_negative_coordinates() -> None:
    message = decode(location(lat=-338_688_000, lon=-1_512_093_000))
    assert message.latitude == pytest.approx(-33.8688)  # type: ignore[union-attr]
    assert message.longitude == pytest.approx(-151.2093)  # type: ignore[union-attr]


def test_location_sentinels_become_none() -> None:
    message = decode(
        location(
            ew=1,
            direction=181,  # 361 degrees
            speed_mult=1,
            speed=255,  # 255 m/s
            vspeed=126,  # 63 m/s
            lat=0,
            lon=0,
            baro=0,
            geo=0,
            height=0,
            h_acc=0,
            v_acc=0,
            baro_acc=0,
            speed_acc=0,
            timestamp=0xFFFF,
            ts_acc=0,
        )
    )
    assert isinstance(message, Location)
    assert message.direction_deg is None
    assert message.speed_horizontal_mps is None
    assert message.speed_vertical_mps is None
    assert message.latitude is None
    assert message.longitude is None
    assert message.altitude_baro_m is None
    assert message.altitude_geo_m is None
    assert message.height_m is None
    assert message.horizontal_accuracy_m is None
    assert message.vertical_accuracy_m is None
    assert message.baro_accuracy_m is None
    assert message.speed_accuracy_mps is None
    assert message.timestamp_s is None
    assert message.timestamp_accuracy_s is None


def test_location_single_zero_coordinate_is_kept() -> None:
    message = decode(location(lat=0, lon=48_912_345))
    assert message.latitude == 0.0  # type: ignore[union-attr]


def test_authentication_pages() -> None:
    page0 = decode(auth_page0())
    assert page0 == Authentication(
        2, 1, 0, 2, 63, datetime(2019, 1, 1, 0, 16, 40, tzinfo=UTC), bytes(range(17))
    )
    page1 = decode(auth_page1())
    assert page1 == Authentication(2, 1, 1, None, None, None, bytes(range(100, 123)))


def test_self_id() -> None:
    assert decode(self_id()) == SelfId(2, 0, "Media drone NOS")


def test_system_known_values() -> None:
    message = decode(system())
    assert isinstance(message, System)
    assert message.operator_location_type == 1
    assert message.classification_type == 1
    assert message.operator_latitude == pytest.approx(52.37)
    assert message.operator_longitude == pytest.approx(4.89)
    assert message.area_count == 3
    assert message.area_radius_m == 150
    assert message.area_ceiling_m == pytest.approx(120.0)
    assert message.area_floor_m == pytest.approx(0.0)
    assert message.ua_category == 2
    assert message.ua_class == 1
    assert message.operator_altitude_geo_m == pytest.approx(12.5)
    assert message.timestamp == datetime(2025, 5, 3, 19, 33, 20, tzinfo=UTC)


def test_system_sentinels_become_none() -> None:
    message = decode(system(lat=0, lon=0, ceiling=0, floor=0, operator_alt=0, timestamp=0))
    assert isinstance(message, System)
    assert message.operator_latitude is None
    assert message.operator_longitude is None
    assert message.area_ceiling_m is None
    assert message.area_floor_m is None
    assert message.operator_altitude_geo_m is None
    assert message.timestamp is None


def test_operator_id() -> None:
    assert decode(operator_id()) == OperatorId(2, 0, "NLD87astrdge12k8")


def test_protocol_version_is_low_nibble() -> None:
    data = bytearray(self_id())
    data[0] = 0x31
    assert decode(bytes(data)).protocol_version == 1


# --- message pack ----------------------------------------------------------------------


def test_pack_with_three_messages() -> None:
    data = pack(basic_id(), location(), operator_id())
    assert len(data) == 3 + 3 * 25
    message = decode(data)
    assert isinstance(message, MessagePack)
    kinds = [type(m) for m in message.messages]
    assert kinds == [BasicId, Location, OperatorId]
    assert decode_pack(data) == message.messages
    assert decode_messages(data) == message.messages


def test_pack_with_nine_messages() -> None:
    assert len(decode_pack(pack(*[self_id()] * 9))) == 9


def test_decode_messages_wraps_single() -> None:
    assert decode_messages(self_id()) == (SelfId(2, 0, "Media drone NOS"),)


def test_decode_pack_rejects_single_message() -> None:
    with pytest.raises(RemoteIdError) as info:
        decode_pack(self_id())
    assert info.value.code == "bad_pack"


# --- malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "too_short"),
        (self_id()[:24], "too_short"),
        (self_id() + b"\x00", "bad_length"),
        (bytes([0x62]) + bytes(24), "unknown_type"),
        (bytes([0xE0]) + bytes(24), "unknown_type"),
        (pack(*[self_id()] * 10), "bad_pack"),
        (pack(*[self_id()] * 9, count=10), "bad_pack"),
        (pack(count=0), "bad_pack"),
        (pack(self_id(), size=24), "bad_pack"),
        (pack(self_id(), location(), count=3), "bad_length"),
        (pack(self_id(), location())[:-1], "bad_length"),
        (pack(self_id()) + b"\x00", "bad_length"),
        (bytes([0xF2, 25]), "too_short"),
        (bytes([0xF2]), "too_short"),
        (pack(pack(self_id())[:25]), "bad_pack"),
        (pack(self_id(), bytes([0x72]) + bytes(24)), "unknown_type"),
        (location(lat=900_000_001), "bad_value"),
        (location(lon=-1_800_000_001), "bad_value"),
        (location(ew=1, direction=182), "bad_value"),
        (location(vspeed=125), "bad_value"),
        (location(vspeed=-128), "bad_value"),
        (location(timestamp=36_001), "bad_value"),
        (self_id(text=b"caf\xc3\xa9"), "bad_value"),
        (basic_id(uas_id=b"\xff"), "bad_value"),
        (operator_id(text=b"\x80"), "bad_value"),
        (system(lat=-900_000_001), "bad_value"),
        (struct.pack("<BBBBI17s", 0x22, 0x10, 16, 0, 0, b""), "bad_value"),
    ],
)
def test_malformed_input_raises_remote_id_error(data: bytes, code: str) -> None:
    assert error_code(data) == code


def test_error_carries_code_and_message() -> None:
    with pytest.raises(RemoteIdError) as info:
        decode(pack(self_id(), location(lat=900_000_001)))
    assert info.value.code == "bad_value"
    assert "pack message 1" in info.value.message
    assert isinstance(info.value, ValueError)


# --- fuzz ------------------------------------------------------------------------------


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=260))
def test_decode_random_bytes_only_raises_remote_id_error(data: bytes) -> None:
    code = None
    try:
        decode(data)
    except RemoteIdError as exc:
        code = exc.code
    assert code in {None, "too_short", "bad_length", "unknown_type", "bad_pack", "bad_value"}


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, 15), st.binary(min_size=24, max_size=24))
def test_decode_random_25_byte_messages(version: int, body: bytes) -> None:
    for message_type in range(16):
        with contextlib.suppress(RemoteIdError):
            decode(bytes([(message_type << 4) | version]) + body)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=24, max_size=24), min_size=1, max_size=9))
def test_decode_random_packs(bodies: list[bytes]) -> None:
    data = pack(*[bytes([0x32]) + body for body in bodies])
    try:
        count, code = len(decode_pack(data)), None
    except RemoteIdError as exc:
        count, code = None, exc.code
    # Self-ID bodies can only fail on their text, never on the (valid) pack framing.
    assert (count, code) in {(len(bodies), None), (None, "bad_value")}
