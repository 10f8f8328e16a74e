"""The ingestion worker's fast paths: paho's shared property tables, lazy conditions, chunked
socket reads, and last-seen times written about once a second."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt import _packet as paho_packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import MQTTException, Properties

from anbao.alarms import payloads, worker
from anbao.alarms.ingest import Incoming, Pipeline
from anbao.sites.models import Device

EVENT = "wic2026"


def test_shared_table_properties_read_and_write_like_paho() -> None:
    original = Properties(PacketTypes.PUBLISH)
    original.MessageExpiryInterval = 30
    original.UserProperty = [("site", "wuzhen"), ("shift", "night")]
    original.ContentType = "application/json"
    packed = original.pack()
    fast = worker.SharedTableProperties(PacketTypes.PUBLISH)
    fast.unpack(packed)
    assert getattr(fast, "MessageExpiryInterval") == 30  # noqa: B009 - set by unpack()
    assert getattr(fast, "UserProperty") == [("site", "wuzhen"), ("shift", "night")]  # noqa: B009
    assert fast.pack() == packed
    # Values are per instance, only the tables are shared.
    other = worker.SharedTableProperties(PacketTypes.PUBLISH)
    assert other.isEmpty()
    assert other.names is fast.names
    fast.clear()
    assert fast.isEmpty()
    assert fast.pack() == Properties(PacketTypes.PUBLISH).pack()


def test_shared_table_properties_still_refuse_what_paho_refuses() -> None:
    fast = worker.SharedTableProperties(PacketTypes.PUBLISH)
    with pytest.raises(MQTTException):
        fast.ReceiveMaximum = 10  # a CONNECT property, not a PUBLISH one
    with pytest.raises(MQTTException):
        fast.NoSuchProperty = 1


def test_speedups_install_once_and_messages_work() -> None:
    assert worker.install_paho_speedups()
    assert worker.install_paho_speedups()  # idempotent
    assert paho_packet.Properties is worker.SharedTableProperties
    message = mqtt.MQTTMessage(7, b"anbao/wic2026/radar/R-1/plots")
    assert isinstance(message.info, worker.LazyConditionInfo)
    assert message.info.mid == 7
    assert not message.info.is_published()
    waiter = threading.Thread(target=message.info.wait_for_publish, args=(5.0,))
    waiter.start()
    message.info._set_as_published()
    waiter.join(timeout=5.0)
    assert not waiter.is_alive()
    assert message.info.is_published()


def test_lazy_condition_is_one_object_for_every_thread() -> None:
    info = worker.LazyConditionInfo(1)
    seen: list[threading.Condition] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        seen.append(info._condition)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 8
    assert all(c is seen[0] for c in seen)


class FakeSocket:
    """Hands out a byte stream in fixed-size pieces, then reports the connection closed."""

    def __init__(self, data: bytes, piece: int) -> None:
        self.data, self.piece, self.calls = data, piece, 0

    def recv(self, bufsize: int) -> bytes:
        self.calls += 1
        n = min(bufsize, self.piece)
        out, self.data = self.data[:n], self.data[n:]
        return out

    def close(self) -> None:
        self.data = b""


def _client() -> worker.BufferedClient:
    return worker.BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5
    )


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=3000),
    piece=st.integers(min_value=1, max_value=5000),
    reads=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=60),
)
def test_buffered_reads_return_the_stream_in_order(
    data: bytes, piece: int, reads: list[int]
) -> None:
    client = _client()
    client._sock = FakeSocket(data, piece)  # type: ignore[assignment]
    got = b""
    for size in reads * 20:
        chunk = client._sock_recv(size)
        assert len(chunk) <= size
        if not chunk:
            break
        got += chunk
    assert data.startswith(got)
    if sum(reads) * 20 >= len(data):
        assert got == data


def test_buffered_reads_take_the_socket_in_large_chunks() -> None:
    client = _client()
    sock = FakeSocket(bytes(range(256)) * 40, piece=1 << 20)
    client._sock = sock  # type: ignore[assignment]
    for _ in range(5000):
        if not client._sock_recv(2):
            break
    assert sock.calls <= 2  # one chunk and the closed connection, not 5,000 calls


def test_a_closed_connection_drops_what_was_buffered() -> None:
    client = _client()
    client._sock = FakeSocket(b"abcdef", piece=100)  # type: ignore[assignment]
    assert client._sock_recv(2) == b"ab"
    client._sock_close()
    client._sock = FakeSocket(b"XYZ", piece=100)  # type: ignore[assignment]
    assert client._sock_recv(10) == b"XYZ"  # nothing of the old connection


def test_one_write_acknowledges_what_paho_acknowledges_one_by_one() -> None:
    mids = [1, 2, 300, 65535]
    one_by_one = worker.BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="a",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    for mid in mids:
        one_by_one.ack(mid, 1)
    together = worker.BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="b",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    together.ack_qos1(mids)
    assert len(together._out_packet) == 1
    expected = b"".join(p["packet"] for p in one_by_one._out_packet)
    assert together._out_packet[0]["packet"] == expected
    assert len(expected) == 4 * len(mids)
    together.ack_qos1([])
    assert len(together._out_packet) == 1  # nothing to acknowledge, nothing written


def test_without_manual_ack_nothing_is_acknowledged_twice() -> None:
    client = _client()  # paho acknowledged these itself on arrival
    client.ack_qos1([1, 2])
    assert not client._out_packet


def test_stats_file_holds_the_counters(tmp_path: Path, night, event) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "stats.json"
    ingest = worker.IngestWorker(
        Pipeline(event), worker.WorkerConfig(stats_file=path, publish_out=False)
    )
    ingest.pipeline.handle([_heartbeat("RADAR-01", "hb-1", night.now())])
    ingest.write_stats(path)
    stats = json.loads(path.read_text())
    assert stats["messages"] == 1
    assert stats["accepted"] == 1
    assert stats["outcomes"] == {"heartbeat": 1}
    assert not list(tmp_path.glob(".stats.json.*"))  # replaced atomically, no leftovers


def _heartbeat(device: str, message_id: str, at):  # type: ignore[no-untyped-def]
    kind = {"RADAR-01": "radar", "WX-01": "weather_station"}[device]
    topic = payloads.topic_for(EVENT, kind, device, "heartbeat")
    return Incoming(topic, json.dumps({"id": message_id, "ts": at.isoformat()}).encode(), at)


def test_a_worker_writes_last_seen_about_once_a_second(night, event) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(event)
    worker.IngestWorker(pipeline, worker.WorkerConfig(publish_out=False))
    first = night.now()
    pipeline.handle([_heartbeat("RADAR-01", "a", first)])
    assert Device.objects.get(external_id="RADAR-01").last_seen == first
    later = night.advance(0.3)
    pipeline.handle([_heartbeat("RADAR-01", "b", later)])
    assert Device.objects.get(external_id="RADAR-01").last_seen == first  # held in memory
    pipeline.tick(night.now())  # the silence check needs the true times: written first
    assert Device.objects.get(external_id="RADAR-01").last_seen == later
    last = night.advance(1.5)
    pipeline.handle([_heartbeat("RADAR-01", "c", last)])
    assert Device.objects.get(external_id="RADAR-01").last_seen == last


def test_a_pipeline_without_a_worker_writes_last_seen_every_batch(night, event) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(event)
    first = night.now()
    pipeline.handle([_heartbeat("RADAR-01", "a", first)])
    later = night.advance(0.2)
    pipeline.handle([_heartbeat("RADAR-01", "b", later)])
    assert Device.objects.get(external_id="RADAR-01").last_seen == later


def test_a_silent_device_comes_back_online_in_the_same_batch(night, event) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(event)
    worker.IngestWorker(pipeline, worker.WorkerConfig(publish_out=False))
    pipeline.handle([_heartbeat("WX-01", "a", night.now())])
    night.advance(600)
    pipeline.tick(night.now())
    assert not Device.objects.get(external_id="WX-01").online
    # Within a second of the tick's write: only the device's return makes this batch write.
    back = night.advance(0.1) + timedelta(milliseconds=50)
    pipeline.handle([_heartbeat("WX-01", "b", back)])
    wx = Device.objects.get(external_id="WX-01")
    assert wx.online
    assert wx.last_seen == back


def test_a_batch_the_database_refuses_is_tried_again_not_acknowledged(night, event) -> None:  # type: ignore[no-untyped-def]
    from django.db import DatabaseError

    ingest = worker.IngestWorker(Pipeline(event), worker.WorkerConfig(publish_out=False))
    acked: list[list[int]] = []
    ingest.client.ack_qos1 = acked.append  # type: ignore[method-assign,assignment]
    real, calls = ingest.pipeline.handle, []

    def flaky(batch):  # type: ignore[no-untyped-def]
        calls.append(len(batch))
        if len(calls) == 1:
            raise DatabaseError("database is locked")
        return real(batch)

    ingest.pipeline.handle = flaky  # type: ignore[method-assign]
    message = worker.Received(
        payloads.topic_for(EVENT, "radar", "RADAR-01", "heartbeat"),
        json.dumps({"id": "hb-retry", "ts": night.now().isoformat()}).encode(),
        11,
        1,
        night.now(),
        1,
    )
    ingest._connection = 1
    ingest._process_until_stored([message])
    assert calls == [1, 1]
    assert ingest.stats.db_retries == 1
    assert acked == [[11]]  # acknowledged once, after the batch was stored
    assert ingest.pipeline.totals.accepted == 1


def test_messages_of_an_earlier_connection_are_stored_but_not_acknowledged(night, event) -> None:  # type: ignore[no-untyped-def]
    ingest = worker.IngestWorker(Pipeline(event), worker.WorkerConfig(publish_out=False))
    acked: list[list[int]] = []
    ingest.client.ack_qos1 = acked.append  # type: ignore[method-assign,assignment]
    topic = payloads.topic_for(EVENT, "radar", "RADAR-01", "heartbeat")
    old, new = (
        worker.Received(
            topic,
            json.dumps({"id": mid, "ts": night.now().isoformat()}).encode(),
            pid,
            1,
            night.now(),
            conn,
        )
        for pid, mid, conn in ((5, "hb-old", 1), (6, "hb-new", 3))
    )
    ingest._connection = 3  # the broker came back twice since the first message arrived
    ingest._process([old, new])
    assert acked == [[6]]
    assert ingest.stats.not_acked == 1
    assert ingest.pipeline.totals.accepted == 2


def test_a_worker_can_take_only_some_device_types(night, event) -> None:  # type: ignore[no-untyped-def]
    whole = worker.IngestWorker(Pipeline(event), worker.WorkerConfig(publish_out=False))
    assert whole.subscriptions() == ["anbao/wic2026/+/+/+"]
    drones = worker.IngestWorker(
        Pipeline(event),
        worker.WorkerConfig(publish_out=False, device_types=("radar", "remote_id_receiver")),
    )
    assert drones.subscriptions() == [
        "anbao/wic2026/radar/+/+",
        "anbao/wic2026/remote_id_receiver/+/+",
    ]


def test_ingest_refuses_an_unknown_device_type(night, event) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown device types toaster"):
        call_command("ingest", "run", "--device-types", "radar,toaster")


def _publish(topic: str, payload: bytes, mid: int, qos: int, props: bytes = b"") -> bytes:
    body = len(topic).to_bytes(2, "big") + topic.encode()
    if qos:
        body += mid.to_bytes(2, "big")
    body += bytes([len(props)]) + props + payload
    length, size = b"", len(body)
    while True:
        size, byte = divmod(size, 128)
        length += bytes([byte | (0x80 if size else 0)])
        if not size:
            break
    return bytes([0x30 | qos << 1]) + length + body


@settings(max_examples=40, deadline=None)
@given(
    piece=st.integers(min_value=1, max_value=4000),
    sizes=st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=40),
)
def test_publications_cut_from_the_buffer_equal_what_paho_reads(
    piece: int, sizes: list[int]
) -> None:
    expected, stream = [], b""
    for n, size in enumerate(sizes):
        topic = f"anbao/wic2026/radar/R-{n}/plots"
        payload = bytes([n % 256]) * size
        qos = n % 2
        if n % 5 == 3:  # a content-type property: paho's own path
            stream += _publish(topic, payload, n + 1, qos, props=b"\x03\x00\x04json")
        else:
            stream += _publish(topic, payload, n + 1, qos)
        if n % 7 == 6:
            stream += b"\xd0\x00"  # a PINGRESP between publications
        expected.append((topic, payload, n + 1 if qos else 0, qos))
    client = worker.BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="t",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    got: list[tuple[str, bytes, int, int]] = []
    client.on_message = lambda _c, _u, m: got.append((m.topic, bytes(m.payload), m.mid, m.qos))
    fast: list[int] = []

    def take(publications: list[tuple[str, bytes, int, int]]) -> None:
        fast.append(len(publications))
        got.extend(publications)

    client.on_publications = take
    client._sock = FakeSocket(stream, piece)  # type: ignore[assignment]
    for _ in range(10 * len(stream) + 10):
        if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
            break
    assert got == expected
    if piece >= len(stream) and len(sizes) > 3:
        assert sum(fast) > 0  # one chunk: all but the first simple ones skip paho
