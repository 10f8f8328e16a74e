"""The ingestion pipeline: device messages in, alarms, tracks and dead letters out.

One pipeline serves every transport: the MQTT worker (`anbao ingest`), the HTTP device route
and the demo, which feeds its simulated devices straight in without a broker. A batch is
decoded, checked against the device registry, de-duplicated by (device, message id), handled
and committed in one transaction; only then does the worker acknowledge the messages, so a
crash redelivers them and the message ids make the replay change nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from django.db import DatabaseError, transaction
from pydantic import ValidationError

from anbao.alarms import payloads, services
from anbao.alarms.handlers import DeviceInfo, Handlers
from anbao.alarms.models import DeadLetter, SensorEvent
from anbao.core import clock
from anbao.sites.models import Device, Event

log = logging.getLogger(__name__)

# Kinds whose messages are stored once as sensor events (they can raise or clear alarms).
RECORDED_KINDS = frozenset({"intrusion", "fence", "analytics", "panic", "door"})
# Kinds whose handling writes to the database.
DB_KINDS = RECORDED_KINDS | {"weather"}
DEAD_LETTER_KEEP = 4096


class Incoming(NamedTuple):
    """One message as a transport received it."""

    topic: str
    payload: bytes
    received_at: datetime


class Arrival(Protocol):
    """What the pipeline reads of a received message (``Incoming``, or a transport's own)."""

    @property
    def topic(self) -> str:
        """The MQTT topic (or the route's equivalent)."""

    @property
    def payload(self) -> bytes:
        """The message bytes."""

    @property
    def received_at(self) -> datetime:
        """When the transport received it."""


# How many of a device's latest heartbeat ids are kept to recognise a replay in memory.
RECENT_HEARTBEATS = 4


@dataclass
class BatchResult:
    """What one batch did, counted by outcome."""

    accepted: int = 0
    duplicates: int = 0
    dead: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    dead_codes: Counter[str] = field(default_factory=Counter)
    dead_reasons: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Totals:
    """Running totals of a pipeline since it started."""

    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead: int = 0
    batches: int = 0
    dead_codes: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)


class Pipeline:
    """Decode, validate, de-duplicate and handle device messages for one event."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.totals = Totals()
        self._lock = threading.Lock()
        self.registry: dict[str, DeviceInfo] = {}
        # Heartbeat topics already accepted once, with their device: the fast path.
        self._heartbeat_topics: dict[str, DeviceInfo] = {}
        # Per device pk, its latest heartbeat ids: a QoS 1 resend changes nothing.
        self._recent_heartbeats: dict[int, tuple[str, ...]] = {}
        self.reload_registry()
        self.handlers = Handlers(event, self.registry)
        services.ensure_definitions(event)

    def reload_registry(self) -> None:
        """Read the device registry again (after devices are added or changed)."""
        rows = Device.objects.filter(event=self.event).select_related("segment")
        self.registry.clear()
        self._heartbeat_topics.clear()
        for d in rows:
            self.registry[d.external_id] = DeviceInfo(
                pk=d.pk,
                external_id=d.external_id,
                kind=d.kind,
                name=d.name,
                lon=d.lon,
                lat=d.lat,
                segment_code=d.segment.code if d.segment else None,
                last_seen=d.last_seen,
                online=d.online,
                stored_seen=d.last_seen,
            )
        # Every device's heartbeat topic, checked as the decoder would: a fleet's first
        # heartbeats after a start must not all take the slow path at once.
        code = self.event.code
        for info in self.registry.values():
            if info.kind not in payloads.ALLOWED_KINDS:
                continue
            topic = f"{payloads.TOPIC_ROOT}/{code}/{info.kind}/{info.external_id}/heartbeat"
            try:
                payloads.parse_topic(topic, event_code=code)
            except payloads.PayloadError:
                continue
            self._heartbeat_topics[topic] = info
        handlers: Handlers | None = getattr(self, "handlers", None)
        if handlers is not None:
            handlers.devices.clear()

    def handle(self, batch: Iterable[Arrival]) -> BatchResult:
        """Handle a batch in one transaction; malformed messages become dead letters."""
        with self._lock:
            return self._handle(list(batch))

    def _handle(self, batch: list[Arrival]) -> BatchResult:
        result = BatchResult()
        dead: list[DeadLetter] = []
        good: list[tuple[payloads.Decoded, DeviceInfo, Arrival]] = []
        heartbeat_topics, recent = self._heartbeat_topics, self._recent_heartbeats
        validate, seen = payloads.Heartbeat.model_validate_json, self.handlers.seen
        fresh_heartbeats: dict[tuple[int, str], DeviceInfo] = {}
        heartbeat_duplicates = 0
        for msg in batch:
            device = heartbeat_topics.get(msg.topic)
            if device is not None and len(msg.payload) <= payloads.MAX_PAYLOAD_BYTES:
                # Heartbeats are most of the stream and write nothing but a last-seen time:
                # validated by the same model, de-duplicated in memory, no per-message objects.
                # Anything the model refuses takes the full path below for its dead letter.
                try:
                    message_id = validate(msg.payload).id
                except ValidationError:
                    pass
                else:
                    key = (device.pk, message_id)
                    if key in fresh_heartbeats or message_id in recent.get(device.pk, ()):
                        heartbeat_duplicates += 1
                    else:
                        fresh_heartbeats[key] = device
                        seen(device, msg.received_at)
                    continue
            try:
                decoded = payloads.decode(msg.topic, msg.payload, event_code=self.event.code)
            except payloads.PayloadError as exc:
                dead.append(_dead(msg, exc.code, exc.reason, exc.message_id))
                continue
            device = self.registry.get(decoded.device_id)
            if device is None:
                dead.append(
                    _dead(
                        msg,
                        "device.unknown",
                        f"no device {decoded.device_id} is registered",
                        decoded.message_id,
                    )
                )
                continue
            if device.kind != decoded.device_type:
                dead.append(
                    _dead(
                        msg,
                        "device.wrong_type",
                        f"{decoded.device_id} is a {device.kind}, not a {decoded.device_type}",
                        decoded.message_id,
                    )
                )
                continue
            if decoded.kind == "heartbeat":
                heartbeat_topics[msg.topic] = device
                key = (device.pk, decoded.message_id)
                if key in fresh_heartbeats or decoded.message_id in recent.get(device.pk, ()):
                    heartbeat_duplicates += 1
                    continue
                fresh_heartbeats[key] = device
            good.append((decoded, device, msg))
        with transaction.atomic():
            fresh = self._deduplicate(good, result)
            for decoded, device, msg in fresh:
                try:
                    if decoded.kind in DB_KINDS:
                        # A savepoint, so a message that fails half-way leaves nothing behind.
                        with transaction.atomic():
                            outcome = self.handlers.handle(decoded, device, msg.received_at)
                    else:
                        outcome = self.handlers.handle(decoded, device, msg.received_at)
                except ValueError as exc:  # the engines refuse what they cannot place
                    dead.append(
                        _dead(msg, f"{decoded.kind}.rejected", str(exc)[:500], decoded.message_id)
                    )
                    continue
                result.accepted += 1
                result.outcomes[outcome.name] += 1
                if decoded.kind in RECORDED_KINDS:
                    SensorEvent.objects.create(
                        device_id=device.pk,
                        message_id=decoded.message_id,
                        kind=decoded.kind,
                        device_time=decoded.ts,
                        received_at=msg.received_at,
                        body=_jsonable_body(decoded),
                        alarm=outcome.alarm,
                        outcome=outcome.name[:40],
                    )
            if dead:
                DeadLetter.objects.bulk_create(dead)
        # Only a committed heartbeat is remembered: a batch tried again must count it again.
        for pk, message_id in fresh_heartbeats:
            before = recent.get(pk)
            recent[pk] = (
                (message_id,) if before is None else (*before, message_id)[-RECENT_HEARTBEATS:]
            )
        self._flush()
        counted = sum(1 for d, _, _ in good if d.kind == "heartbeat")
        fast = len(fresh_heartbeats) - counted
        if fast:
            result.accepted += fast
            result.outcomes["heartbeat"] += fast
        result.duplicates += heartbeat_duplicates
        result.dead = len(dead)
        for d in dead:
            result.dead_codes[d.code] += 1
            result.dead_reasons.append((d.code, d.reason))
        self._count(len(batch), result)
        return result

    def _deduplicate(
        self, good: list[tuple[payloads.Decoded, DeviceInfo, Arrival]], result: BatchResult
    ) -> list[tuple[payloads.Decoded, DeviceInfo, Arrival]]:
        recorded = [(d.message_id, dev.pk) for d, dev, _ in good if d.kind in RECORDED_KINDS]
        seen: set[tuple[str, int]] = set()
        if recorded:
            ids = {m for m, _ in recorded}
            devices = {p for _, p in recorded}
            seen = set(
                SensorEvent.objects.filter(device_id__in=devices, message_id__in=ids).values_list(
                    "message_id", "device_id"
                )
            )
        fresh = []
        for item in good:
            decoded, device, _ = item
            if decoded.kind in RECORDED_KINDS:
                key = (decoded.message_id, device.pk)
                if key in seen:
                    result.duplicates += 1
                    continue
                seen.add(key)
            fresh.append(item)
        return fresh

    def _flush(self) -> None:
        # After the batch's commit, so its alarms are on the bus before the once-a-second
        # writes (last-seen times, drone tracks) run; those keep what they could not write
        # for the next try, so a failure here must not send the stored batch round again.
        try:
            with transaction.atomic():
                self.handlers.flush(clock.now())
        except DatabaseError:
            log.exception("writing last-seen times and tracks failed; trying again later")

    def _count(self, n: int, result: BatchResult) -> None:
        t = self.totals
        t.messages += n
        t.batches += 1
        t.accepted += result.accepted
        t.duplicates += result.duplicates
        t.dead += result.dead
        t.dead_codes.update(result.dead_codes)
        t.outcomes.update(result.outcomes)

    def tick(self, now: datetime | None = None) -> dict[str, int]:
        """Run the timers: device timeouts, momentary clears, overdue alarms, track upkeep."""
        now = now or clock.now()
        with self._lock, transaction.atomic():
            out = self.handlers.tick(now)
            self.handlers.flush(now)
        out.update(services.tick(self.event, now=now))
        return out


def _dead(msg: Arrival, code: str, reason: str, message_id: str | None) -> DeadLetter:
    return DeadLetter(
        received_at=msg.received_at,
        topic=msg.topic[:300],
        payload=bytes(msg.payload[:DEAD_LETTER_KEEP]),
        size=len(msg.payload),
        code=code[:60],
        reason=reason[:500],
        message_id=(message_id or "")[:64],
    )


def _jsonable_body(decoded: payloads.Decoded) -> dict[str, Any]:
    body = decoded.body
    if isinstance(body, payloads.RidFrame):
        return {"message_id": body.message_id, "messages": len(body.messages)}
    return body.model_dump(mode="json")
