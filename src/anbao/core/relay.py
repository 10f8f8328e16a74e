"""Carry bus events between processes: Redis pub/sub, or PostgreSQL LISTEN/NOTIFY.

The embedded instance is one process and needs none of this. A production instance runs the
web server and the MQTT ingestion worker as separate processes (and perhaps several web
workers); an alarm the worker commits must still reach the big screens the web process
serves. Each process that runs a relay forwards the events it publishes, in small batches,
to a channel private to the instance, and hands the events the other processes forwarded to
its *remote* listeners (`bus.listen(..., remote=True)`, the live screens). Handlers never see
relayed events: a reaction runs once, in the process that published.

Delivery is best effort, like any pub/sub: a screen that missed something catches up on its
next snapshot, and the database stays the record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from django.conf import settings

from anbao.core import bus

log = logging.getLogger(__name__)

__all__ = [
    "PostgresTransport",
    "RedisTransport",
    "Relay",
    "RemoteEvent",
    "channel_name",
    "coalesce",
    "decode_batch",
    "encode_batches",
    "running",
    "start_from_settings",
    "stop",
]

#: PostgreSQL refuses NOTIFY payloads of 8,000 bytes or more; Redis takes any size.
MAX_MESSAGE_BYTES = 7_500
#: Events published within this long of each other travel in one message.
LINGER_S = 0.02
#: Events waiting to be sent when the channel is down; beyond this the oldest are dropped.
BACKLOG = 20_000
RECONNECT_S = (0.5, 1.0, 2.0, 5.0)


class RemoteEvent(bus.Event):
    """An event another process published: its type name, module and payload, as sent."""

    def __init__(self, name: str, module: str, data: dict[str, Any]) -> None:
        """Wrap a relayed event (frozen like every event)."""
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_data", data)

    @property
    def type(self) -> str:
        """Return the type name the publishing process gave."""
        return str(self._name)  # type: ignore[attr-defined]

    @property
    def module(self) -> str:
        """Return the module of the event in the publishing process."""
        return str(self._module)  # type: ignore[attr-defined]

    def payload(self) -> dict[str, Any]:
        """Return the payload as it arrived (JSON types: times are ISO strings)."""
        return dict(self._data)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"RemoteEvent({self.type}, {self.payload()!r})"


def channel_name(secret_key: str) -> str:
    """Return the instance's channel: two instances sharing a Redis must not hear each other."""
    return "anbao_bus_" + hashlib.sha256(secret_key.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """Return times as ISO strings and anything else JSON cannot hold as its text."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def encode_batches(origin: str, events: list[dict[str, Any]]) -> list[bytes]:
    """Pack encoded events into messages no larger than ``MAX_MESSAGE_BYTES``."""
    head = '{"o":' + json.dumps(origin) + ',"e":['
    out: list[bytes] = []
    parts: list[str] = []
    size = len(head) + 2
    for event in events:
        text = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=_plain)
        n = len(text.encode()) + 1
        if len(head) + n + 2 > MAX_MESSAGE_BYTES:
            log.warning("relay: %s is too large to relay (%d bytes)", event.get("t"), n)
            continue
        if parts and size + n > MAX_MESSAGE_BYTES:
            out.append((head + ",".join(parts) + "]}").encode())
            parts, size = [], len(head) + 2
        parts.append(text)
        size += n
    if parts:
        out.append((head + ",".join(parts) + "]}").encode())
    return out


def coalesce(events: list[bus.Event]) -> list[bus.Event]:
    """Keep every event, except only the last of each kind marked ``relay_latest_only``."""
    last: dict[type, int] = {}
    for i, event in enumerate(events):
        if event.relay_latest_only:
            last[type(event)] = i
    return [e for i, e in enumerate(events) if not e.relay_latest_only or last[type(e)] == i]


def decode_batch(message: bytes | str) -> tuple[str, list[RemoteEvent]]:
    """Return the origin and the events of one message; ``ValueError`` names what is wrong."""
    try:
        data = json.loads(message)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("o"), str):
        raise ValueError("no origin")
    items = data.get("e")
    if not isinstance(items, list):
        raise ValueError("no event list")
    events: list[RemoteEvent] = []
    for i, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("t"), str)
            and isinstance(item.get("m"), str)
            and isinstance(item.get("p"), dict)
        ):
            raise ValueError(f"event {i}: needs a type 't', a module 'm' and a payload 'p'")
        events.append(RemoteEvent(item["t"], item["m"], item["p"]))
    return data["o"], events


class Transport(Protocol):
    """A pub/sub channel: send one message; yield what arrives until told to stop."""

    def send(self, message: bytes) -> None:
        """Publish one message on the channel."""

    def receive(self, stop: threading.Event, ready: Callable[[], None]) -> Iterator[bytes]:
        """Yield messages as they arrive (calling ``ready`` once listening) until ``stop``."""

    def close(self) -> None:
        """Release the connections."""


class RedisTransport:
    """Redis pub/sub on one channel."""

    def __init__(self, url: str, channel: str) -> None:
        """Connect lazily to ``url``."""
        import redis

        self.channel = channel
        self._client = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)

    def send(self, message: bytes) -> None:
        """Publish one message."""
        self._client.publish(self.channel, message)

    def receive(self, stop: threading.Event, ready: Callable[[], None]) -> Iterator[bytes]:
        """Subscribe and yield the messages."""
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            ready()
            while not stop.is_set():
                msg = pubsub.get_message(timeout=0.5)
                if msg is not None and msg.get("type") == "message":
                    yield msg["data"]
        finally:
            with contextlib.suppress(Exception):
                pubsub.close()

    def close(self) -> None:
        """Close the connection pool."""
        with contextlib.suppress(Exception):
            self._client.close()


class PostgresTransport:
    """PostgreSQL NOTIFY and LISTEN, on connections of their own (autocommit)."""

    def __init__(self, conninfo: str, channel: str) -> None:
        """Remember where to connect; connections open on first use."""
        self.conninfo = conninfo
        self.channel = channel
        self._send: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
        # A notification need not survive a crash: don't make each NOTIFY wait for the WAL
        # flush, which queued it behind the scans' own commits (25 % of their throughput).
        conn.execute("SET synchronous_commit = off")
        return conn

    def send(self, message: bytes) -> None:
        """NOTIFY the channel (a closed connection is reopened once)."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._send is None or self._send.closed:
                        self._send = self._connect()
                    self._send.execute("SELECT pg_notify(%s, %s)", (self.channel, message.decode()))
                    return
                except Exception:
                    self._send = None
                    if attempt == 2:
                        raise

    def receive(self, stop: threading.Event, ready: Callable[[], None]) -> Iterator[bytes]:
        """LISTEN and yield the notifications' payloads."""
        from psycopg import sql

        conn = self._connect()
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            ready()
            while not stop.is_set():
                for note in conn.notifies(timeout=0.5, stop_after=256):
                    yield note.payload.encode()
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        """Close the sending connection."""
        with self._lock, contextlib.suppress(Exception):
            if self._send is not None:
                self._send.close()


class Relay:
    """Forward this process's events to the channel, and the channel's to remote listeners."""

    def __init__(self, transport: Transport, *, linger_s: float = LINGER_S) -> None:
        """Make a stopped relay over ``transport``."""
        self.transport = transport
        self.origin = secrets.token_hex(8)
        self.linger_s = linger_s
        self._queue: deque[bus.Event] = deque(maxlen=BACKLOG)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unlisten: Callable[[], None] | None = None
        self.sent = 0
        self.coalesced = 0
        self.received = 0
        self.dropped = 0
        self.rejected = 0
        self.subscribed = threading.Event()

    def start(self) -> Relay:
        """Listen to the bus and start the sending and receiving threads."""
        self._unlisten = bus.listen(self._on_local)
        for name, target in (("bus-relay-out", self._send_loop), ("bus-relay-in", self._recv_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop forwarding and receiving; what is queued is sent first (briefly)."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=3)
        self._threads.clear()
        self.transport.close()

    def _on_local(self, event: bus.Event) -> None:
        if isinstance(event, RemoteEvent):
            return  # never echo what came from elsewhere
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(event)  # encoded on the sending thread, not the publisher's
        self._wake.set()

    def _send_loop(self) -> None:
        failures = 0
        while True:
            self._wake.wait(timeout=1.0)
            stopping = self._stop.is_set()
            self._wake.clear()
            if self._queue and not stopping:
                time.sleep(self.linger_s)  # let the rest of a burst join this message
            taken: list[bus.Event] = []
            while self._queue:
                taken.append(self._queue.popleft())
            batch = coalesce(taken)
            self.coalesced += len(taken) - len(batch)
            if batch:
                try:
                    encoded = [{"t": e.type, "m": e.module, "p": e.payload()} for e in batch]
                    for message in encode_batches(self.origin, encoded):
                        self.transport.send(message)
                    self.sent += len(batch)
                    failures = 0
                except Exception as exc:
                    failures += 1
                    self.dropped += len(batch)
                    log.warning("relay: could not send %d events: %s", len(batch), exc)
                    if self._stop.wait(RECONNECT_S[min(failures, len(RECONNECT_S)) - 1]):
                        return
            if stopping:
                return

    def _recv_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                for message in self.transport.receive(self._stop, self.subscribed.set):
                    failures = 0
                    self._deliver(message)
            except Exception as exc:
                self.subscribed.clear()
                failures += 1
                log.warning("relay: channel lost (%s); listening again", exc)
                if self._stop.wait(RECONNECT_S[min(failures, len(RECONNECT_S)) - 1]):
                    return

    def _deliver(self, message: bytes) -> None:
        if not bus.has_remote_listeners():
            return  # no screen open in this process: not worth decoding
        try:
            origin, events = decode_batch(message)
        except ValueError as exc:
            self.rejected += 1
            log.warning("relay: a message on the channel was refused: %s", exc)
            return
        if origin == self.origin:
            return
        for event in events:
            self.received += 1
            bus.dispatch_remote(event)


_running: Relay | None = None
_running_lock = threading.Lock()


def _conninfo() -> str | None:
    db = settings.DATABASES["default"]
    if "postgresql" not in str(db.get("ENGINE", "")):
        return None
    parts = {
        "dbname": db.get("NAME"),
        "user": db.get("USER"),
        "password": db.get("PASSWORD"),
        "host": db.get("HOST"),
        "port": db.get("PORT"),
    }
    from psycopg.conninfo import make_conninfo

    return make_conninfo(**{k: str(v) for k, v in parts.items() if v})


def start_from_settings() -> Relay | None:
    """Start this process's relay: Redis when configured, else PostgreSQL; none on SQLite."""
    global _running
    with _running_lock:
        if _running is not None:
            return _running
        if os.environ.get("ANBAO_RELAY", "").lower() in ("off", "0", "no"):
            return None  # one server process and no ingestion worker: nothing to relay
        channel = channel_name(settings.SECRET_KEY)
        redis_url = settings.CONFIG.redis_url
        transport: Transport
        if redis_url:
            transport = RedisTransport(redis_url, channel)
            kind = "Redis"
        else:
            conninfo = _conninfo()
            if conninfo is None:
                return None  # one process on SQLite: the in-process bus is the whole bus
            transport = PostgresTransport(conninfo, channel)
            kind = "PostgreSQL LISTEN/NOTIFY"
        _running = Relay(transport).start()
        log.info("bus relay over %s on channel %s", kind, channel)
        return _running


def running() -> Relay | None:
    """Return this process's relay, if one runs."""
    return _running


def stop() -> None:
    """Stop this process's relay (tests, shutdown)."""
    global _running
    with _running_lock:
        if _running is not None:
            _running.stop()
            _running = None
