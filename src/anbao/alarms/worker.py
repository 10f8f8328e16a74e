"""`anbao ingest`: the MQTT ingestion worker.

It subscribes with QoS 1 on a persistent session, hands messages to the pipeline in batches,
and acknowledges each message only after the batch that stored it has committed. If the worker
or the broker dies, the broker redelivers what was not acknowledged; message ids make the
replay harmless. Committed alarms are also published on MQTT for other systems.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from django.db import DatabaseError, connection
from paho.mqtt import _packet as paho_packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from anbao.alarms import events, payloads
from anbao.alarms.handlers import SEEN_FLUSH_EVERY
from anbao.alarms.ingest import Pipeline
from anbao.core import bus
from anbao.core.bus import Event as BusEvent

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 86_400
RECEIVE_MAXIMUM = 65_535
READ_CHUNK = 256 * 1024


class SharedTableProperties(Properties):
    """paho's MQTT v5 properties, sharing the constant name and type tables between instances.

    paho builds three tables in every ``Properties()``, and it makes one for every PUBLISH it
    decodes: at thousands of messages a second that was a quarter of the worker's CPU. The
    tables are never changed after construction, so one copy serves all.
    """

    _template = Properties(PacketTypes.PUBLISH)

    def __init__(self, packetType: int) -> None:
        """Set the packet type and point at the shared tables."""
        object.__setattr__(self, "packetType", packetType)
        object.__setattr__(self, "types", self._template.types)
        object.__setattr__(self, "names", self._template.names)
        object.__setattr__(self, "properties", self._template.properties)

    def clear(self) -> None:
        """Remove every property value (the tables stay)."""
        for name in [n for n in vars(self) if n not in _PRIVATE]:
            delattr(self, name)


_PRIVATE = frozenset({"packetType", "types", "names", "properties"})


_CONDITION_LOCK = threading.Lock()


class LazyConditionInfo(mqtt.MQTTMessageInfo):
    """paho's per-message publication status, making its ``threading.Condition`` on first use.

    paho gives every message, received ones included, a status object with a Condition; only
    a publisher waiting for its own message ever uses it, yet making it cost a sixth of the
    worker's CPU under load.
    """

    __slots__ = ("_lazy_condition",)

    def __init__(self, mid: int) -> None:
        """Set the fields as paho does, leaving the Condition for later."""
        self.mid = mid
        self._published = False
        self.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        self._iterpos = 0
        self._lazy_condition: threading.Condition | None = None

    @property
    def _condition(self) -> threading.Condition:  # type: ignore[override]
        found = self._lazy_condition
        if found is None:
            # The waiter and the network thread must get the same Condition.
            with _CONDITION_LOCK:
                if self._lazy_condition is None:
                    self._lazy_condition = threading.Condition()
                found = self._lazy_condition
        return found


def install_paho_speedups() -> bool:
    """Make paho use ``SharedTableProperties`` and ``LazyConditionInfo``; False if it cannot.

    Both keep paho's behaviour; a paho whose modules look different is left alone.
    """
    if (
        getattr(paho_packet, "Properties", None) is SharedTableProperties
        and getattr(mqtt, "MQTTMessageInfo", None) is LazyConditionInfo
    ):
        return True
    if getattr(paho_packet, "Properties", None) is not Properties or not isinstance(
        getattr(mqtt, "MQTTMessageInfo", None), type
    ):
        return False
    paho_packet.Properties = SharedTableProperties  # type: ignore[misc]
    mqtt.MQTTMessageInfo = LazyConditionInfo  # type: ignore[misc]
    return True


# One received PUBLISH as the fast path hands it on: topic, payload, packet id, QoS.
Publication = tuple[str, bytes, int, int]


class BufferedClient(mqtt.Client):
    """A paho client that reads the socket in large chunks and parses PUBLISH packets itself.

    paho reads each packet with three or more ``recv`` calls and waits in ``select`` before
    every packet; at a few thousand messages a second that is most of the network thread's
    time. This client takes what the socket has (up to ``READ_CHUNK`` bytes) at once, serves
    paho's small reads from that buffer and handles every complete packet in it before
    waiting again. When ``on_publications`` is set, complete QoS 0 and 1 PUBLISH packets
    without properties are cut straight out of that buffer and handed on as plain tuples, a
    whole chunk at a time: paho's per-message objects (an ``MQTTMessage``, a ``Properties``,
    a status with its lock) were a third of the worker at twenty thousand messages a second.
    Everything else (QoS 2, properties, topic aliases, other packet types, a packet cut by
    the end of the chunk, anything malformed) still goes through paho.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the client with an empty read buffer."""
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0
        self._last_chunk = 0
        self.on_publications: Callable[[list[Publication]], None] | None = None
        # After a small read, wait this long before the next ``select``: a broker writes one
        # packet per system call, and waking for every few packets cost more than the
        # packets. A millisecond lets a few dozen gather; zero turns it off.
        self.read_pause_s = 0.0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            chunk = super()._sock_recv(max(bufsize, READ_CHUNK))
            self._last_chunk = len(chunk)
            if len(chunk) <= bufsize:
                return chunk
            self._rbuf, self._rpos = chunk, 0
        end = self._rpos + bufsize
        out = self._rbuf[self._rpos : end]
        self._rpos = end
        return out

    def _buffered(self) -> bool:
        return self._rpos < len(self._rbuf)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle every complete packet already read, then return to ``select``."""
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._sock is not None and self._buffered():
            if self._take_publications():
                continue
            rc = super().loop_read(max_packets)
        if self.read_pause_s and 0 < self._last_chunk < READ_CHUNK // 4:
            time.sleep(self.read_pause_s)
        return rc

    def _take_publications(self) -> bool:
        """Hand on the complete simple PUBLISH packets at the read position; False if none."""
        handler = self.on_publications
        if handler is None or self._protocol != mqtt.MQTTv5 or self._in_packet["command"] != 0:
            return False
        buf, pos, end = self._rbuf, self._rpos, len(self._rbuf)
        out: list[Publication] = []
        while pos < end:
            first = buf[pos]
            qos = (first >> 1) & 3
            if first & 0xF0 != mqtt.PUBLISH or qos > 1:
                break
            i, length, shift = pos + 1, 0, 0
            while i < end and shift <= 21:
                byte = buf[i]
                i += 1
                length |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            else:
                break  # cut off, or longer than MQTT allows: paho decides
            stop = i + length
            if stop > end or length < 3:
                break
            topic_end = i + 2 + (buf[i] << 8 | buf[i + 1])
            j = topic_end
            mid = 0
            if qos:
                if j + 2 > stop:
                    break
                mid = buf[j] << 8 | buf[j + 1]
                j += 2
            if j >= stop or buf[j] != 0:  # properties present (or none room for them)
                break
            try:
                topic = buf[i + 2 : topic_end].decode("utf-8")
            except UnicodeDecodeError:
                break
            out.append((topic, buf[j + 1 : stop], mid, qos))
            pos = stop
        if not out:
            return False
        self._rpos = pos
        with self._in_callback_mutex:
            try:
                handler(out)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_publications: %s", err)
                if not self.suppress_exceptions:
                    raise
        return True

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        if self._on_message_filtered._root._children:  # per-topic callbacks: paho's own path
            super()._handle_on_message(message)
            return
        # paho walks its topic-filter tree for every message even when it is empty.
        on_message = self.on_message
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def ack_qos1(self, mids: list[int]) -> None:
        """Acknowledge QoS 1 messages with one write; paho's ``ack`` writes each on its own."""
        if not mids or not self._manual_ack:
            return
        packet = b"".join([struct.pack("!BBH", mqtt.PUBACK, 2, mid) for mid in mids])
        self._packet_queue(mqtt.PUBACK, packet, 0, 1)

    def _sock_close(self) -> None:
        # Bytes of a lost connection must never be read as the start of the next one.
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()


@dataclass
class WorkerConfig:
    """Where the broker is and how to batch."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    client_id: str = "anbao-ingest"
    # Measured (bench/bench_ingest.py): 2,000 messages and 50 ms made p99 alarm latency
    # 1.3 s at 3,000 messages/s; 500 and 20 ms keep it under 0.5 s at a small cost in the
    # most a backlog drains at.
    batch_max: int = 500
    window_s: float = 0.02
    read_pause_s: float = 0.001
    tick_s: float = 1.0
    publish_out: bool = True
    stats_file: Path | None = None
    stats_every_s: float = 1.0
    # Several workers may share the load by device type (each with its own client id); one
    # device's messages then still arrive in order at one worker, which the tracker needs.
    device_types: tuple[str, ...] = ()


@dataclass
class WorkerStats:
    """Counters for the status line and the benchmarks."""

    received: int = 0
    acked: int = 0
    batches: int = 0
    connects: int = 0
    db_retries: int = 0
    not_acked: int = 0  # stored, but received on an earlier connection: the broker resends
    started: float = field(default_factory=time.monotonic)


class Received(NamedTuple):
    """A message waiting for its batch: what the broker sent, when, and on which connection."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    connection: int


class IngestWorker:
    """One MQTT subscriber feeding one pipeline."""

    def __init__(self, pipeline: Pipeline, config: WorkerConfig) -> None:
        self.pipeline = pipeline
        self.config = config
        if config.tick_s <= 1.0:
            # The batch loop ticks (which writes last-seen times) at least once a second.
            pipeline.handlers.seen_flush_every = SEEN_FLUSH_EVERY
        self.stats = WorkerStats()
        self.stop_event = threading.Event()
        # The network thread appends whole chunks; the batch loop takes up to a batch at once.
        self._inbox: deque[Received] = deque()
        self._inbox_ready = threading.Condition()
        # Packet ids belong to one connection: after a reconnect (above all after a broker
        # restart from its saved state) an old id may name another message, so only messages
        # of the current connection are acknowledged. The others are stored all the same and
        # come again; their message ids make the second copy change nothing.
        self._connection = 0
        self._connected = threading.Event()
        self._unlisten: Callable[[], None] | None = None
        self._out_prefix = f"anbao/{pipeline.event.code}/out/"
        install_paho_speedups()
        self.client: BufferedClient = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if config.username:
            self.client.username_pw_set(config.username, config.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publications = self._on_publications
        self.client.read_pause_s = config.read_pause_s
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)

    # -- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        self.stats.connects += 1
        self._connection += 1
        # noLocal: the worker's own alarm publications under .../out/ must not come back in.
        options = SubscribeOptions(qos=1, noLocal=True)
        client.subscribe([(topic, options) for topic in self.subscriptions()])
        self._connected.set()
        log.info("connected to the broker, subscribing")

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        refused = [reason for reason in reasons if reason.is_failure]
        if refused:
            log.error("the broker refused %d of the subscriptions: %s", len(refused), refused)
        else:
            # Until this point a device's messages have no session to queue in.
            log.info("subscriptions confirmed by the broker")

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected.clear()
        self._connection += 1
        if not self.stop_event.is_set():
            log.warning("lost the broker (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic.startswith(self._out_prefix):
            # Another system's copy of our own output: acknowledge, never ingest.
            if msg.qos > 0:
                client.ack(msg.mid, msg.qos)
            return
        item = Received(
            msg.topic, bytes(msg.payload), msg.mid, msg.qos, datetime.now(UTC), self._connection
        )
        self._deliver([item])

    def _on_publications(self, publications: list[Publication]) -> None:
        at, connection, out = datetime.now(UTC), self._connection, self._out_prefix
        items = [
            Received(topic, payload, mid, qos, at, connection)
            for topic, payload, mid, qos in publications
            if not topic.startswith(out)
        ]
        if len(items) != len(publications):
            # Another system's copy of our own output: acknowledge, never ingest.
            self.client.ack_qos1([m for t, _, m, q in publications if q == 1 and t.startswith(out)])
        self._deliver(items)

    def _deliver(self, items: list[Received]) -> None:
        inbox = self._inbox
        with self._inbox_ready:
            was = len(inbox)
            inbox.extend(items)
            # Wake the batch loop for its first message and for a full batch, not for each
            # chunk in between: it sleeps out its window instead of spinning.
            if not was or (was < self.config.batch_max <= len(inbox)):
                self._inbox_ready.notify()

    # -- the batch loop (main thread) ------------------------------------------------------

    def start(self) -> None:
        """Connect (retrying in the background) and start the network thread."""
        # The registry, the topic table and Django's own state live as long as the worker:
        # kept out of the collector's full passes, which otherwise walk them all again and
        # again while a large fleet's first messages arrive.
        gc.collect()
        gc.freeze()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        # Without this the broker sends only a few unacknowledged messages at a time.
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.client.connect_async(
            self.config.host, self.config.port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()
        if self.config.publish_out:
            self._unlisten = bus.listen(self._publish_out)

    def subscriptions(self) -> list[str]:
        """Return the topic filters: the whole event, or only the configured device types."""
        code = self.pipeline.event.code
        if not self.config.device_types:
            return [payloads.subscription(code)]
        return [f"{payloads.TOPIC_ROOT}/{code}/{t}/+/+" for t in self.config.device_types]

    def wait_connected(self, timeout: float) -> bool:
        """Wait until the broker accepted the connection."""
        return self._connected.wait(timeout)

    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Run batches until stopped."""
        next_tick = time.monotonic() + self.config.tick_s
        next_stats = time.monotonic()
        while not self.stop_event.is_set() and not (until and until()):
            batch = self._collect()
            if batch:
                self._process_until_stored(batch)
            if self.config.stats_file is not None and time.monotonic() >= next_stats:
                self.write_stats(self.config.stats_file)
                next_stats = time.monotonic() + self.config.stats_every_s
            if time.monotonic() >= next_tick:
                try:
                    self.pipeline.tick()
                except Exception:  # the timers must not stop ingestion; they run again
                    log.exception("pipeline tick failed")
                next_tick = time.monotonic() + self.config.tick_s

    def _process_until_stored(self, batch: list[Received]) -> None:
        # The broker resends unacknowledged messages only after a reconnect, so a batch that
        # fails on the database is tried again here until it is stored (or the worker stops).
        delay = 0.5
        while True:
            try:
                self._process(batch)
                return
            except DatabaseError:
                self.stats.db_retries += 1
                log.exception("the database refused a batch of %d; retrying", len(batch))
                if not connection.in_atomic_block:  # reconnect on the next try
                    connection.close()
                if self.stop_event.wait(delay):
                    return
                delay = min(delay * 2, 10.0)

    def _collect(self) -> list[Received]:
        inbox, ready, limit = self._inbox, self._inbox_ready, self.config.batch_max
        with ready:
            if not inbox and not ready.wait(timeout=0.2):
                return []
            # The window starts with the batch's first message, as with one message at a time.
            deadline = time.monotonic() + self.config.window_s
            while len(inbox) < limit:
                left = deadline - time.monotonic()
                if left <= 0 or not ready.wait(timeout=left):
                    break
            take = min(len(inbox), limit)
            return [inbox.popleft() for _ in range(take)]

    def _process(self, batch: list[Received]) -> None:
        self.pipeline.handle(batch)
        self.stats.received += len(batch)
        self.stats.batches += 1
        qos1 = []
        current = self._connection
        for m in batch:
            if m.connection != current:
                self.stats.not_acked += 1
                continue
            if m.qos == 1:
                qos1.append(m.mid)
            elif m.qos > 1:
                self.client.ack(m.mid, m.qos)
            if m.qos > 0:
                self.stats.acked += 1
        self.client.ack_qos1(qos1)

    def stats_snapshot(self) -> dict[str, Any]:
        """Return the worker's and the pipeline's counters as a JSON-ready dict."""
        t = self.pipeline.totals
        return {
            "at": time.time(),
            "uptime_s": round(time.monotonic() - self.stats.started, 3),
            "received": self.stats.received,
            "acked": self.stats.acked,
            "batches": self.stats.batches,
            "connects": self.stats.connects,
            "queued": len(self._inbox),
            "messages": t.messages,
            "accepted": t.accepted,
            "duplicates": t.duplicates,
            "dead": t.dead,
            "outcomes": dict(t.outcomes),
        }

    def write_stats(self, path: Path) -> None:
        """Replace ``path`` atomically with the current counters (readers never see half)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(self.stats_snapshot()), encoding="utf-8")
        os.replace(tmp, path)

    def _publish_out(self, event: BusEvent) -> None:
        if not isinstance(event, events.AlarmRaised | events.AlarmChanged):
            return
        body = json.dumps({"type": event.type, **event.payload()}, ensure_ascii=False)
        topic = f"{self._out_prefix}alarms/{event.payload()['number']}"
        self.client.publish(topic, body.encode(), qos=1)

    def stop(self) -> None:
        """Stop the loop and disconnect cleanly (the session stays on the broker)."""
        self.stop_event.set()
        if self.config.stats_file is not None:
            self.write_stats(self.config.stats_file)
        if self._unlisten:
            self._unlisten()
        self.client.disconnect()
        self.client.loop_stop()
