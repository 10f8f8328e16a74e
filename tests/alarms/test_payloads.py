"""Device payloads: topics, every kind's schema, error codes, rid frames, the Remote ID encoder.

The fuzz tests hold ``decode`` to its contract: whatever arrives, it returns a ``Decoded`` or
raises ``PayloadError``, never anything else.
"""

from __future__ import annotations

import json
import math
import struct
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbao.alarms import remoteid, ridencode
from anbao.alarms.payloads import (
    ALLOWED_KINDS,
    DEVICE_TYPES,
    MAX_PAYLOAD_BYTES,
    MODELS,
    Analytics,
    Decoded,
    Heartbeat,
    Panic,
    PayloadError,
    Plots,
    RidFrame,
    decode,
    encode,
    parse_topic,
    rid_frame,
    subscription,
    topic_for,
)

EVENT = "wic2026"
TS = "2026-11-08T21:30:05.250+08:00"
ORIGIN = {"lon": 120.4855, "lat": 30.7496804, "alt_m": 40.0}

# One valid example per JSON kind, with the device type that sends it.
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "heartbeat": (
        "gate_scanner",
        {"id": "hb-1", "ts": TS, "uptime_s": 86400, "firmware": "2.4.1", "battery_pct": 88.5},
    ),
    "intrusion": (
        "leaky_cable_processor",
        {
            "id": "lcp:0001",
            "ts": TS,
            "cable": "canal-n",
            "side": "inner",
            "position_m": 412.5,
            "magnitude": 38.0,
            "threshold": 30.0,
        },
    ),
    "fence": (
        "fence_controller",
        {
            "id": "fc-7",
            "ts": TS,
            "fence": "xizha-n",
            "section": "s3",
            "position_m": 500.0,
            "event": "cut",
            "voltage_kv": 0.0,
        },
    ),
    "weather": (
        "weather_station",
        {
            "id": "wx-1",
            "ts": TS,
            "wind_mps": 6.2,
            "gust_mps": 17.9,
            "wind_dir_deg": 315.0,
            "rain_mmph": 0.0,
            "temperature_c": 9.5,
            "visibility_m": 8000.0,
        },
    ),
    "plots": (
        "radar",
        {
            "id": "r-1",
            "ts": TS,
            "origin": ORIGIN,
            "plots": [
                {"range_m": 1200.0, "azimuth_deg": 87.5, "elevation_deg": 3.2},
                {
                    "range_m": 900.0,
                    "azimuth_deg": 359.9,
                    "elevation_deg": -0.5,
                    "radial_speed_mps": -11.0,
                    "rcs_dbsm": -18.0,
                },
            ],
        },
    ),
    "bearing": (
        "rf_receiver",
        {
            "id": "rf-1",
            "ts": TS,
            "origin": ORIGIN,
            "bearing_deg": 95.0,
            "bearing_sd_deg": 3.0,
            "frequency_mhz": 2437.0,
            "rssi_dbm": -71.5,
            "protocol": "ocusync",
        },
    ),
    "analytics": (
        "camera",
        {
            "id": "va-1",
            "ts": TS,
            "camera": "cam-07",
            "rule": "intrusion",
            "state": "start",
            "object": "human",
            "confidence": 0.91,
            "region": "canal-n/s3",
            "point": {"lon": 120.4993, "lat": 30.752},
        },
    ),
    "panic": ("panic_button", {"id": "pb-1", "ts": TS, "state": "pressed"}),
    "door": ("door_controller", {"id": "dc-1", "ts": TS, "door": "vip-1", "event": "forced"}),
}


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def topic(kind: str, device_type: str | None = None, device_id: str = "DEV-01") -> str:
    device_type = device_type or EXAMPLES[kind][0]
    return f"anbao/{EVENT}/{device_type}/{device_id}/{kind}"


def error(topic_: str, payload: bytes, **kwargs: Any) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        decode(topic_, payload, **kwargs)
    return info.value


def with_field(kind: str, path: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(EXAMPLES[kind][1]))
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[keys[-1]] = value
    return body


# --- topics ------------------------------------------------------------------------------


def test_topic_for_and_parse_agree_for_every_allowed_kind() -> None:
    for device_type, kinds in ALLOWED_KINDS.items():
        for kind in kinds:
            built = topic_for(EVENT, device_type, "X.1_a-b", kind)
            parsed = parse_topic(built, event_code=EVENT)
            assert (parsed.event, parsed.device_type, parsed.device_id, parsed.kind) == (
                EVENT,
                device_type,
                "X.1_a-b",
                kind,
            )


def test_every_device_type_sends_heartbeats_and_every_kind_has_a_sender() -> None:
    assert all("heartbeat" in kinds for kinds in ALLOWED_KINDS.values())
    senders = {kind for kinds in ALLOWED_KINDS.values() for kind in kinds}
    assert senders == set(MODELS) | {"rid"}
    assert {"gate_scanner", "queue_sensor", "other"} <= DEVICE_TYPES
    assert ALLOWED_KINDS["gate_scanner"] == {"heartbeat"}


def test_subscription_matches_the_topic_scheme() -> None:
    assert subscription(EVENT) == f"anbao/{EVENT}/+/+/+"
    with pytest.raises(ValueError, match="event code"):
        subscription("wic/2026")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((EVENT, "radar", "R 1", "plots"), "device id"),
        ((EVENT, "radar", "", "plots"), "device id"),
        ((EVENT, "radar", "x" * 65, "plots"), "device id"),
        ((EVENT, "radar", "R+", "plots"), "device id"),
        (("wic#", "radar", "R1", "plots"), "event code"),
        ((EVENT, "toaster", "R1", "heartbeat"), "unknown device type"),
        ((EVENT, "radar", "R1", "intrusion"), "may not send"),
    ],
)
def test_topic_for_rejects_bad_parts(args: tuple[str, str, str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        topic_for(*args)


@pytest.mark.parametrize(
    ("topic_", "code"),
    [
        ("", "topic.malformed"),
        ("anbao/wic2026/radar/R1", "topic.malformed"),
        ("anbao/wic2026/radar/R1/plots/extra", "topic.malformed"),
        ("other/wic2026/radar/R1/plots", "topic.malformed"),
        ("anbao//radar/R1/plots", "topic.malformed"),
        ("anbao/wic2026/radar/R 1/plots", "topic.malformed"),
        ("anbao/wic2026/radar/+/plots", "topic.malformed"),
        ("anbao/wic2026/radar/" + "x" * 65 + "/plots", "topic.malformed"),
        ("anbao/wic2025/radar/R1/plots", "topic.wrong_event"),
        ("anbao/wic2026/toaster/R1/heartbeat", "topic.unknown_device_type"),
        ("anbao/wic2026/radar/R1/intrusion", "topic.kind_not_allowed"),
        ("anbao/wic2026/gate_scanner/G1/rid", "topic.kind_not_allowed"),
        ("anbao/wic2026/radar/R1/toast", "topic.kind_not_allowed"),
    ],
)
def test_bad_topics_have_stable_codes(topic_: str, code: str) -> None:
    assert error(topic_, raw(EXAMPLES["plots"][1]), event_code=EVENT).code == code


def test_wrong_argument_types_are_payload_errors() -> None:
    body = raw(EXAMPLES["panic"][1])
    assert error(b"anbao/e/panic_button/P/panic", body).code == "topic.malformed"  # type: ignore[arg-type]
    assert error(topic("panic"), 5).code == "payload.not_json"  # type: ignore[arg-type]
    assert decode(topic("panic"), bytearray(body)).message_id == "pb-1"
    assert decode(topic("panic"), memoryview(body)).message_id == "pb-1"


def test_without_event_code_any_event_is_accepted() -> None:
    decoded = decode("anbao/other-event/radar/R1/plots", raw(EXAMPLES["plots"][1]))
    assert decoded.event == "other-event"


# --- valid payloads ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_every_example_decodes(kind: str) -> None:
    device_type, body = EXAMPLES[kind]
    decoded = decode(topic(kind), raw(body), event_code=EVENT)
    assert isinstance(decoded, Decoded)
    assert (decoded.device_type, decoded.device_id, decoded.kind) == (device_type, "DEV-01", kind)
    assert decoded.message_id == body["id"]
    assert isinstance(decoded.body, MODELS[kind])
    assert decoded.ts == datetime(2026, 11, 8, 13, 30, 5, 250_000, tzinfo=UTC)
    assert decoded.ts.utcoffset() == timedelta(0)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_encode_round_trips(kind: str) -> None:
    body = MODELS[kind].model_validate_json(raw(EXAMPLES[kind][1]))
    again = decode(topic(kind), encode(kind, body)).body
    assert again == body
    from_dict = decode(topic(kind), encode(kind, EXAMPLES[kind][1])).body
    assert from_dict == body


def test_models_built_in_python_take_aware_datetimes_only() -> None:
    local = datetime(2026, 11, 8, 21, 30, tzinfo=timezone(timedelta(hours=8)))
    built = Panic(id="p-1", ts=local, state="pressed")
    decoded = decode(topic("panic"), encode("panic", built))
    assert decoded.ts == local
    with pytest.raises(ValueError, match="UTC offset"):
        Panic(id="p-1", ts=datetime(2026, 11, 8), state="pressed")  # noqa: DTZ001


def test_encode_leaves_out_absent_optional_fields() -> None:
    body = Heartbeat.model_validate_json(raw({"id": "a", "ts": TS}))
    assert set(json.loads(encode("heartbeat", body))) == {"id", "ts"}


def test_encode_rejects_the_wrong_model_and_rid() -> None:
    panic = MODELS["panic"].model_validate_json(raw(EXAMPLES["panic"][1]))
    with pytest.raises(ValueError, match="must be a Door"):
        encode("door", panic)
    with pytest.raises(ValueError, match="rid_frame"):
        encode("rid", panic)


@pytest.mark.parametrize(
    "ts",
    ["2026-11-08T13:30:05.25Z", "2026-11-08t13:30:05.250000000z", "2026-11-08 21:30:05.25+08:00"],
)
def test_rfc3339_spellings_are_the_same_instant(ts: str) -> None:
    decoded = decode(topic("panic"), raw({"id": "p", "ts": ts, "state": "reset"}))
    assert decoded.ts == datetime(2026, 11, 8, 13, 30, 5, 250_000, tzinfo=UTC)


def test_plot_edges_are_accepted() -> None:
    body = with_field("plots", "plots.0.azimuth_deg", 0.0)
    body["plots"][1]["azimuth_deg"] = 360.0
    body["plots"][1]["elevation_deg"] = -90.0
    decoded = decode(topic("plots"), raw(body))
    assert isinstance(decoded.body, Plots)
    assert [p.azimuth_deg for p in decoded.body.plots] == [0.0, 360.0]


def test_integers_are_accepted_where_floats_are_expected() -> None:
    decoded = decode(topic("analytics"), raw(with_field("analytics", "confidence", 1)))
    assert isinstance(decoded.body, Analytics)
    assert decoded.body.confidence == 1.0


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path", "value", "where"),
    [
        ("plots", "plots.0.azimuth_deg", 360.5, "plots.0.azimuth_deg"),
        ("plots", "plots.0.azimuth_deg", -0.1, "plots.0.azimuth_deg"),
        ("plots", "plots.1.elevation_deg", 90.5, "plots.1.elevation_deg"),
        ("plots", "plots.0.range_m", -1.0, "plots.0.range_m"),
        ("plots", "origin.lat", 91.0, "origin.lat"),
        ("plots", "origin.lon", "120.4", "origin.lon"),
        ("analytics", "confidence", 1.01, "confidence"),
        ("analytics", "confidence", -0.01, "confidence"),
        ("analytics", "state", "begin", "state"),
        ("analytics", "point.lon", 181.0, "point.lon"),
        ("bearing", "bearing_deg", 400.0, "bearing_deg"),
        ("bearing", "frequency_mhz", 0.0, "frequency_mhz"),
        ("intrusion", "side", "left", "side"),
        ("intrusion", "cable", "canal n", "cable"),
        ("intrusion", "position_m", True, "position_m"),
        ("weather", "gust_mps", -3.0, "gust_mps"),
        ("weather", "wind_dir_deg", 361.0, "wind_dir_deg"),
        ("fence", "event", "snip", "event"),
        ("heartbeat", "uptime_s", 1.5, "uptime_s"),
        ("heartbeat", "uptime_s", "100", "uptime_s"),
        ("heartbeat", "battery_pct", 101.0, "battery_pct"),
        ("heartbeat", "id", "", "id"),
        ("heartbeat", "id", "a b", "id"),
        ("heartbeat", "id", "x" * 65, "id"),
        ("door", "event", "opened", "event"),
        ("panic", "ts", "2026-11-08", "ts"),
        ("panic", "ts", 1762608605, "ts"),
        ("panic", "ts", "2026-02-30T10:00:00Z", "ts"),
        ("panic", "ts", "0001-01-01T00:00:00+08:00", "ts"),
        ("panic", "extra", 1, "extra"),
    ],
)
def test_schema_errors_name_the_field(kind: str, path: str, value: Any, where: str) -> None:
    exc = error(topic(kind), raw(with_field(kind, path, value)))
    assert exc.code == "payload.schema"
    assert where in exc.reason
    if path != "id":
        assert exc.message_id == EXAMPLES[kind][1]["id"]


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_missing_required_fields_are_schema_errors(kind: str) -> None:
    body = dict(EXAMPLES[kind][1])
    for name in ("id", "ts"):
        partial = {k: v for k, v in body.items() if k != name}
        exc = error(topic(kind), raw(partial))
        assert exc.code == "payload.schema"
        assert name in exc.reason


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    text = raw(EXAMPLES["weather"][1]).decode().replace("6.2", literal)
    exc = error(topic("weather"), text.encode())
    assert exc.code in {"payload.schema", "payload.not_json"}
    if exc.code == "payload.schema":
        assert "wind_mps" in exc.reason


def test_naive_time_has_its_own_code() -> None:
    exc = error(topic("panic"), raw({"id": "p-9", "ts": "2026-11-08T21:30:05", "state": "reset"}))
    assert exc.code == "payload.naive_time"
    assert exc.message_id == "p-9"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xff\xfe{}", "payload.not_utf8"),
        (b'{"id": "a", "ts": "' + "\u00e9".encode("latin-1") + b'"}', "payload.not_utf8"),
        (b"", "payload.not_json"),
        (b"{", "payload.not_json"),
        (b"{'id': 'a'}", "payload.not_json"),
        (b"[]", "payload.schema"),
        (b"null", "payload.schema"),
        (b'"text"', "payload.schema"),
        # Nesting past the parser's depth limit is refused as not JSON, not a crash.
        (b"[" * 10_000 + b"]" * 10_000, "payload.not_json"),
    ],
)
def test_unreadable_payloads(payload: bytes, code: str) -> None:
    assert error(topic("heartbeat"), payload).code == code


def test_too_large_is_checked_before_parsing() -> None:
    filler = "x" * (MAX_PAYLOAD_BYTES + 1)
    assert error(topic("heartbeat"), filler.encode()).code == "payload.too_large"
    body = {"id": "a", "ts": TS, "firmware": "v"}
    padded = json.dumps(body).encode().ljust(MAX_PAYLOAD_BYTES, b" ")
    assert decode(topic("heartbeat"), padded).message_id == "a"


# --- rid frames --------------------------------------------------------------------------


def pack_for_test() -> bytes:
    return ridencode.message_pack(
        [
            ridencode.basic_id("1596F3A2B4C5D6E7F8"),
            ridencode.location(latitude=30.75, longitude=120.49, altitude_geo_m=90.0),
            ridencode.operator_id("CHN87astrdge12k8"),
        ]
    )


def test_rid_frame_round_trip() -> None:
    message_id = uuid.uuid4()
    received = datetime(2026, 11, 8, 13, 30, 5, 123_000, tzinfo=UTC)
    frame = rid_frame(message_id.bytes, received, pack_for_test())
    decoded = decode("anbao/wic2026/remote_id_receiver/RID-01/rid", frame, event_code=EVENT)
    assert isinstance(decoded.body, RidFrame)
    assert decoded.message_id == decoded.body.message_id == str(message_id)
    assert decoded.ts == decoded.body.received == received
    kinds = [type(m) for m in decoded.body.messages]
    assert kinds == [remoteid.BasicId, remoteid.Location, remoteid.OperatorId]


def test_rid_frame_accepts_a_single_message_and_other_offsets() -> None:
    received = datetime(2026, 11, 8, 21, 30, tzinfo=timezone(timedelta(hours=8)))
    frame = rid_frame(bytes(16), received, ridencode.self_id("survey"))
    decoded = decode("anbao/e/remote_id_receiver/RID-01/rid", frame)
    assert decoded.ts == received.astimezone(UTC)
    assert isinstance(decoded.body, RidFrame)
    assert decoded.body.messages[0] == remoteid.SelfId(2, 0, "survey")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"", "rid.frame"),
        (b"RID1" + bytes(24), "rid.frame"),
        (b"RID2" + bytes(24) + bytes(25), "rid.frame"),
        (b'{"id": "a"}', "rid.frame"),
        (b"RID1" + bytes(24) + bytes(10), "rid.too_short"),
        (b"RID1" + bytes(24) + bytes(26), "rid.bad_length"),
        (b"RID1" + bytes(24) + b"\x72" + bytes(24), "rid.unknown_type"),
        (b"RID1" + bytes(24) + b"\xf2\x19\x0a", "rid.bad_pack"),
        (b"RID1" + bytes(16) + b"\xff" * 8 + bytes(25), "rid.frame"),
    ],
)
def test_bad_rid_frames(frame: bytes, code: str) -> None:
    exc = error("anbao/wic2026/remote_id_receiver/RID-01/rid", frame)
    assert exc.code == code
    if len(frame) > 28 and frame.startswith(b"RID1"):
        assert exc.message_id == str(uuid.UUID(bytes=frame[4:20]))


def test_rid_frame_builder_rejects_bad_input() -> None:
    now = datetime(2026, 11, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="16 bytes"):
        rid_frame(b"short", now, pack_for_test())
    with pytest.raises(ValueError, match="aware"):
        rid_frame(bytes(16), datetime(2026, 11, 8), pack_for_test())  # noqa: DTZ001
    with pytest.raises(ValueError, match="after 1970"):
        rid_frame(bytes(16), datetime(1960, 1, 1, tzinfo=UTC), pack_for_test())
    with pytest.raises(ValueError, match="Remote ID"):
        rid_frame(bytes(16), now, b"")


# --- fuzz --------------------------------------------------------------------------------

KINDS = sorted({*MODELS, "rid"})
SENDER = {kind: next(t for t, ks in ALLOWED_KINDS.items() if kind in ks) for kind in KINDS}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.sampled_from(
        [TS, "2026-11-08T21:30:05", "inner", "cut", "start", "human", "canal-n", "x" * 70]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


@st.composite
def shaped_like_real(draw: st.DrawFn) -> tuple[str, bytes]:
    """A JSON object with a real kind's keys, each value possibly replaced or dropped."""
    kind = draw(st.sampled_from(sorted(EXAMPLES)))
    body: dict[str, Any] = {}
    for key, value in EXAMPLES[kind][1].items():
        choice = draw(st.integers(0, 3))
        if choice == 0:
            body[key] = value
        elif choice == 1:
            body[key] = draw(json_values)
        elif choice == 2 and isinstance(value, (int, float)) and not isinstance(value, bool):
            body[key] = draw(st.floats(allow_nan=False, allow_infinity=False))
    if draw(st.booleans()):
        body[draw(st.text(max_size=8))] = draw(json_values)
    text = json.dumps(body, allow_nan=True)
    return topic(kind), text.encode()


def assert_contract(topic_: str, payload: bytes) -> None:
    outcome: Decoded | PayloadError
    try:
        outcome = decode(topic_, payload, event_code=EVENT)
    except PayloadError as exc:  # any other exception type fails the test
        outcome = exc
    if isinstance(outcome, PayloadError):
        assert outcome.code.split(".")[0] in {"topic", "payload", "rid"}
        assert isinstance(outcome.reason, str)
        return
    assert outcome.ts.utcoffset() == timedelta(0)
    assert outcome.kind in ALLOWED_KINDS[outcome.device_type]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topic_=st.one_of(
        st.text(max_size=120),
        st.builds(
            lambda parts: "/".join(parts),
            st.lists(
                st.sampled_from(["anbao", EVENT, "radar", "R1", "plots", "", "+", "#"]), max_size=7
            ),
        ),
    ),
    payload=st.binary(max_size=300),
)
def test_fuzz_arbitrary_topics_and_bytes(topic_: str, payload: bytes) -> None:
    assert_contract(topic_, payload)


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(KINDS), payload=st.binary(max_size=300))
def test_fuzz_bytes_on_valid_topics(kind: str, payload: bytes) -> None:
    assert_contract(topic(kind, SENDER[kind]), payload)


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(KINDS), value=json_values)
def test_fuzz_any_json_on_valid_topics(kind: str, value: Any) -> None:
    assert_contract(topic(kind, SENDER[kind]), json.dumps(value).encode())


@settings(max_examples=600, deadline=None)
@given(shaped_like_real())
def test_fuzz_objects_shaped_like_real_ones(case: tuple[str, bytes]) -> None:
    assert_contract(*case)


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=3 + 9 * 25),
    received_ms=st.integers(min_value=0, max_value=2**64 - 1),
)
def test_fuzz_rid_frames(data: bytes, received_ms: int) -> None:
    frame = b"RID1" + bytes(16) + struct.pack(">Q", received_ms) + data
    assert_contract("anbao/wic2026/remote_id_receiver/RID-01/rid", frame)


# --- the Remote ID encoder ---------------------------------------------------------------

latitudes = st.floats(min_value=-90, max_value=90).filter(lambda v: abs(v) > 1e-6)
longitudes = st.floats(min_value=-180, max_value=180).filter(lambda v: abs(v) > 1e-6)
altitudes = st.floats(min_value=-999.0, max_value=31000.0)


@settings(max_examples=300, deadline=None)
@given(
    lat=latitudes,
    lon=longitudes,
    direction=st.floats(min_value=0, max_value=360),
    speed=st.floats(min_value=0, max_value=254.0),
    vspeed=st.floats(min_value=-62, max_value=62),
    baro=altitudes,
    geo=altitudes,
    height=altitudes,
    seconds=st.floats(min_value=0, max_value=3600),
    status=st.integers(0, 4),
    height_type=st.integers(0, 1),
)
def test_location_round_trip(
    lat: float,
    lon: float,
    direction: float,
    speed: float,
    vspeed: float,
    baro: float,
    geo: float,
    height: float,
    seconds: float,
    status: int,
    height_type: int,
) -> None:
    data = ridencode.location(
        latitude=lat,
        longitude=lon,
        direction_deg=direction,
        speed_horizontal_mps=speed,
        speed_vertical_mps=vspeed,
        altitude_baro_m=baro,
        altitude_geo_m=geo,
        height_m=height,
        status=status,
        height_type=height_type,
        horizontal_accuracy_m=2.5,
        vertical_accuracy_m=20.0,
        baro_accuracy_m=4.0,
        speed_accuracy_mps=0.5,
        timestamp_s=seconds,
        timestamp_accuracy_s=0.3,
    )
    (msg,) = remoteid.decode_messages(data)
    assert isinstance(msg, remoteid.Location)
    assert (msg.status, msg.height_type) == (status, height_type)
    assert msg.latitude is not None
    assert abs(msg.latitude - lat) <= 0.5e-7 + 1e-12
    assert msg.longitude is not None
    assert abs(msg.longitude - lon) <= 0.5e-7 + 1e-12
    assert msg.direction_deg is not None
    assert abs((msg.direction_deg - direction + 180) % 360 - 180) <= 0.5 + 1e-9
    assert msg.speed_horizontal_mps is not None
    step = 0.25 if speed <= 63.75 else 0.75
    assert abs(msg.speed_horizontal_mps - speed) <= step / 2 + 1e-9
    assert msg.speed_vertical_mps is not None
    assert abs(msg.speed_vertical_mps - vspeed) <= 0.25
    for decoded, given_ in ((msg.altitude_baro_m, baro), (msg.altitude_geo_m, geo)):
        assert decoded is not None
        assert abs(decoded - given_) <= 0.25 + 1e-9
    assert msg.height_m is not None
    assert abs(msg.height_m - height) <= 0.25 + 1e-9
    assert msg.timestamp_s is not None
    assert abs(msg.timestamp_s - seconds) <= 0.05 + 1e-9
    # Accuracies decode to the tightest category bound that still covers the value.
    assert (msg.horizontal_accuracy_m, msg.vertical_accuracy_m) == (3.0, 25.0)
    assert (msg.baro_accuracy_m, msg.speed_accuracy_mps) == (10.0, 1.0)
    assert msg.timestamp_accuracy_s == pytest.approx(0.3)


def test_location_unknowns_round_trip_as_none() -> None:
    (msg,) = remoteid.decode_messages(ridencode.location(latitude=None, longitude=None))
    assert isinstance(msg, remoteid.Location)
    assert msg.latitude is None
    assert msg.longitude is None
    assert msg.direction_deg is None
    assert msg.speed_horizontal_mps is None
    assert msg.speed_vertical_mps is None
    assert msg.altitude_geo_m is None
    assert msg.timestamp_s is None
    assert msg.horizontal_accuracy_m is None


@settings(max_examples=200, deadline=None)
@given(
    serial=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=1, max_size=20),
    id_type=st.sampled_from([1, 2]),
    ua_type=st.integers(0, 15),
)
def test_basic_id_round_trip(serial: str, id_type: int, ua_type: int) -> None:
    (msg,) = remoteid.decode_messages(ridencode.basic_id(serial, id_type=id_type, ua_type=ua_type))
    assert isinstance(msg, remoteid.BasicId)
    assert (msg.uas_id, msg.id_type, msg.ua_type) == (serial, id_type, ua_type)


def test_basic_id_uuid_and_session() -> None:
    value = uuid.uuid4()
    (msg,) = remoteid.decode_messages(ridencode.basic_id(str(value), id_type=3))
    assert isinstance(msg, remoteid.BasicId)
    assert msg.uas_id == str(value)
    (msg,) = remoteid.decode_messages(ridencode.basic_id("a1b2c3", id_type=4))
    assert isinstance(msg, remoteid.BasicId)
    assert msg.uas_id == "a1b2c3"


@settings(max_examples=200, deadline=None)
@given(
    lat=latitudes,
    lon=longitudes,
    ceiling=altitudes,
    floor=altitudes,
    operator_alt=altitudes,
    radius=st.integers(0, 255),
    count=st.integers(0, 65535),
    category=st.integers(0, 15),
    klass=st.integers(0, 15),
    seconds=st.integers(min_value=1, max_value=2**32 - 1),
)
def test_system_round_trip(
    lat: float,
    lon: float,
    ceiling: float,
    floor: float,
    operator_alt: float,
    radius: int,
    count: int,
    category: int,
    klass: int,
    seconds: int,
) -> None:
    moment = remoteid.EPOCH_2019 + timedelta(seconds=seconds)
    data = ridencode.system(
        operator_latitude=lat,
        operator_longitude=lon,
        operator_location_type=2,
        classification_type=1,
        area_count=count,
        area_radius_m=radius * 10,
        area_ceiling_m=ceiling,
        area_floor_m=floor,
        ua_category=category,
        ua_class=klass,
        operator_altitude_geo_m=operator_alt,
        timestamp=moment,
    )
    (msg,) = remoteid.decode_messages(data)
    assert isinstance(msg, remoteid.System)
    assert msg.operator_latitude is not None
    assert abs(msg.operator_latitude - lat) <= 1e-7
    assert msg.operator_longitude is not None
    assert abs(msg.operator_longitude - lon) <= 1e-7
    assert (msg.operator_location_type, msg.classification_type) == (2, 1)
    assert (msg.area_count, msg.area_radius_m) == (count, radius * 10)
    assert (msg.ua_category, msg.ua_class) == (category, klass)
    assert msg.area_ceiling_m is not None
    assert abs(msg.area_ceiling_m - ceiling) <= 0.25
    assert msg.area_floor_m is not None
    assert abs(msg.area_floor_m - floor) <= 0.25
    assert msg.operator_altitude_geo_m is not None
    assert abs(msg.operator_altitude_geo_m - operator_alt) <= 0.25
    assert msg.timestamp == moment


@settings(max_examples=100, deadline=None)
@given(
    operator=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=23),
    kinds=st.lists(
        st.sampled_from(["basic", "location", "system", "operator", "self"]), min_size=1, max_size=9
    ),
)
def test_pack_round_trip(operator: str, text: str, kinds: list[str]) -> None:
    builders = {
        "basic": lambda: ridencode.basic_id("SERIAL01"),
        "location": lambda: ridencode.location(latitude=30.75, longitude=120.49),
        "system": lambda: ridencode.system(operator_latitude=30.7, operator_longitude=120.4),
        "operator": lambda: ridencode.operator_id(operator),
        "self": lambda: ridencode.self_id(text),
    }
    types = {
        "basic": remoteid.BasicId,
        "location": remoteid.Location,
        "system": remoteid.System,
        "operator": remoteid.OperatorId,
        "self": remoteid.SelfId,
    }
    messages = remoteid.decode_pack(ridencode.message_pack([builders[k]() for k in kinds]))
    assert [type(m) for m in messages] == [types[k] for k in kinds]
    for kind, message in zip(kinds, messages, strict=True):
        if isinstance(message, remoteid.OperatorId):
            assert message.operator_id == operator.rstrip("\x00")
        if isinstance(message, remoteid.SelfId):
            assert message.description == text
        assert kind in types


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ridencode.location(latitude=91.0, longitude=0.5), "latitude"),
        (lambda: ridencode.location(latitude=1.0, longitude=None), "both"),
        (lambda: ridencode.location(latitude=1.0, longitude=1.0, direction_deg=361), "direction"),
        (lambda: ridencode.location(latitude=1.0, longitude=1.0, speed_horizontal_mps=300), "254"),
        (lambda: ridencode.location(latitude=1.0, longitude=1.0, speed_vertical_mps=70), "62"),
        (lambda: ridencode.location(latitude=1.0, longitude=1.0, altitude_geo_m=-1000), "altitude"),
        (lambda: ridencode.location(latitude=1.0, longitude=1.0, timestamp_s=3601), "3600"),
        (lambda: ridencode.location(latitude=math.nan, longitude=1.0), "finite"),
        (
            lambda: ridencode.location(latitude=1, longitude=1, horizontal_accuracy_m=20000),
            "widest",
        ),
        (lambda: ridencode.basic_id("X" * 21), "20"),
        (lambda: ridencode.basic_id("caf\u00e9"), "ASCII"),
        (lambda: ridencode.operator_id("a\x00b"), "NUL"),
        (lambda: ridencode.self_id("y" * 24), "23"),
        (
            lambda: ridencode.system(operator_latitude=1, operator_longitude=1, area_radius_m=15),
            "10",
        ),
        (lambda: ridencode.message_pack([]), "1..9"),
        (lambda: ridencode.message_pack([bytes(25)] * 10), "1..9"),
        (lambda: ridencode.message_pack([bytes(24)]), "24 bytes"),
        (lambda: ridencode.message_pack([b"\xf2" + bytes(24)]), "itself a pack"),
    ],
)
def test_encoder_rejects_what_the_format_cannot_carry(build: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_seconds_after_hour() -> None:
    moment = datetime(2026, 11, 8, 13, 42, 7, 500_000, tzinfo=UTC)
    assert ridencode.seconds_after_hour(moment) == 42 * 60 + 7.5
    with pytest.raises(ValueError, match="aware"):
        ridencode.seconds_after_hour(datetime(2026, 11, 8))  # noqa: DTZ001
