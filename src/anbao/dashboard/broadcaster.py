"""The per-process fan-out from the bus to the open big screens.

A bus listener only marks what changed (an alarm id, a checkpoint, "figures") and wakes one
refresher thread. The refresher, at most ``FLUSH_HZ`` times a second, reads the changed rows
once, encodes one delta once, and appends it to a bounded ring of frames. Each screen keeps a
cursor into the ring and is woken; a screen that falls behind the ring is told to resync
(fetch a fresh snapshot) rather than being fed an ever-growing queue. The database work and
the JSON encoding are therefore paid once per flush, not once per screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections

from anbao.core import bus, clock
from anbao.dashboard import snapshot as snap
from anbao.dashboard.tally import FigureTally

log = logging.getLogger(__name__)

__all__ = ["Broadcaster", "Subscriber", "get", "shutdown"]

FLUSH_HZ = 4.0
RING_SIZE = 2000
# Queues and throughput change with every scan; their per-lane estimate costs a few queries,
# so they are refreshed at most this often however many scans arrive.
CHECKPOINT_EVERY_S = 2.0
# Counters change with every scan too; once a second is live enough for a figure on a wall.
FIGURES_EVERY_S = 1.0

_ALARM_EVENTS = {"AlarmRaised", "AlarmChanged"}
_FIGURE_EVENTS = {"PassageRecorded", "ScreeningRecorded", "SeizureRecorded"}
_QUEUE_EVENTS = {"PassageRecorded", "LaneStateChanged", "QueueReported", "ArrivalsCounted"}
_FORCE_EVENTS = {"DutyChecked", "DutyAlertRaised"}


def encode(obj: Any) -> str:
    """Encode ``obj`` as compact JSON (times as ISO strings)."""
    return json.dumps(obj, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


@dataclass(eq=False)  # compared and hashed by identity: each screen is its own
class Subscriber:
    """One open screen: its cursor into the ring and how to wake it."""

    cursor: int
    loop: asyncio.AbstractEventLoop | None = None
    aevent: asyncio.Event | None = None
    tevent: threading.Event = field(default_factory=threading.Event)
    last_sent: float = 0.0

    def wake(self) -> None:
        """Wake the screen's sender (from any thread)."""
        self.tevent.set()
        if self.loop is not None and self.aevent is not None:
            # A closed loop means the screen is going away; nothing to wake.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.aevent.set)


@dataclass
class _Dirty:
    alarms: set[int] = field(default_factory=set)
    drones: set[str] = field(default_factory=set)
    checkpoints: bool = False
    figures: bool = False
    recount: bool = False
    forces: bool = False
    reserves: bool = False
    incidents: bool = False

    def any(self) -> bool:
        return bool(
            self.alarms
            or self.drones
            or self.checkpoints
            or self.figures
            or self.recount
            or self.forces
            or self.reserves
            or self.incidents
        )


class Broadcaster:
    """Marks changes from the bus, builds coalesced deltas, and keeps the ring of frames."""

    def __init__(self) -> None:
        """Create an idle broadcaster; ``start`` subscribes it to the bus."""
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self.ring: deque[tuple[int, str]] = deque(maxlen=RING_SIZE)
        self._lock = threading.Lock()
        self._dirty = _Dirty()
        self._wake = threading.Event()
        self._subs: set[Subscriber] = set()
        self._unlisten: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._tally: FigureTally | None = None
        self._tally_lock = threading.Lock()
        self._last_checkpoints = 0.0
        self._last_figures = 0.0
        self.flushes = 0

    # --- the bus side ---------------------------------------------------------------------

    def start(self, *, thread: bool = True) -> None:
        """Listen to the bus and (by default) run the refresher thread; idempotent."""
        with self._lock:
            if self._unlisten is None:
                self._unlisten = bus.listen(self.on_event, remote=True)
            if thread and (self._thread is None or not self._thread.is_alive()):
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="dashboard-broadcaster", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Stop listening and end the refresher thread."""
        with self._lock:
            if self._unlisten is not None:
                self._unlisten()
                self._unlisten = None
            self._stop.set()
            self._wake.set()
            t, self._thread = self._thread, None
        if t is not None:
            t.join(timeout=5)

    def on_event(self, event: bus.Event) -> None:
        """Mark what ``event`` changed (called in the publisher's thread: keep it cheap)."""
        name = event.type
        p = event.payload()
        with self._lock:
            d = self._dirty
            if name in _ALARM_EVENTS:
                d.alarms.add(int(p["alarm_id"]))
            elif name == "DroneTrackUpdated":
                d.drones.add(str(p["track_id"]))
            elif name == "ReserveUnitChanged":
                d.reserves = True
                d.forces = True
            elif name == "PassageAnnulled":
                d.recount = True
                d.figures = True
            elif event.module.startswith("anbao.incidents"):
                d.incidents = True
            if name in _FIGURE_EVENTS:
                d.figures = True
            if name in _QUEUE_EVENTS:
                d.checkpoints = True
            if name in _FORCE_EVENTS:
                d.forces = True
            if not d.any():
                return
        self._wake.set()

    # --- the refresher ----------------------------------------------------------------------

    def _run(self) -> None:
        interval = 1.0 / FLUSH_HZ
        last = 0.0
        while not self._stop.is_set():
            timeout = 5.0
            with self._lock:
                # A deferred refresh of the figures or the checkpoints comes due.
                if self._dirty.checkpoints:
                    due = self._last_checkpoints + CHECKPOINT_EVERY_S - time.monotonic()
                    timeout = min(timeout, max(0.05, due))
                if self._dirty.figures:
                    due = self._last_figures + FIGURES_EVERY_S - time.monotonic()
                    timeout = min(timeout, max(0.05, due))
            self._wake.wait(timeout=timeout)
            if self._stop.is_set():
                break
            self._wake.clear()
            with self._lock:
                idle = not self._dirty.any()
            if idle:
                continue  # nothing to send: leave the database alone
            wait = last + interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # coalesce the burst that woke us
            last = time.monotonic()
            try:
                close_old_connections()
                self.flush()
            except Exception:  # one bad flush must not end the live picture
                log.exception("dashboard flush failed")
            finally:
                # A connection that cannot even be closed is dropped with the next flush.
                with contextlib.suppress(Exception):
                    close_old_connections()

    def flush(self) -> dict[str, Any] | None:
        """Build one delta from what changed, append it to the ring and wake every screen."""
        with self._lock:
            d, self._dirty = self._dirty, _Dirty()
        if d.checkpoints and time.monotonic() - self._last_checkpoints < CHECKPOINT_EVERY_S:
            # Too soon: keep the checkpoints marked for a later flush.
            with self._lock:
                self._dirty.checkpoints = True
            d.checkpoints = False
        if d.figures and time.monotonic() - self._last_figures < FIGURES_EVERY_S:
            with self._lock:
                self._dirty.figures = True
                self._dirty.recount = self._dirty.recount or d.recount
            d.figures = d.recount = False
        if not d.any():
            return None
        delta = self.build(d)
        if delta is None:
            return None
        self.publish_frame(delta)
        return delta

    def build(self, d: _Dirty) -> dict[str, Any] | None:
        """Read the changed rows and return the delta (None when no event is loaded)."""
        from anbao.sites import services as sites

        event = sites.current_event()
        if event is None:
            return None
        now = clock.now()
        delta: dict[str, Any] = {"at": now.isoformat(), "replace": {}, "upsert": {}, "remove": {}}
        if d.alarms:
            rows = snap.alarm_rows(event, now, live=True, ids=sorted(d.alarms))
            open_rows = [r for r in rows if r["workflow"] != "closed"]
            delta["upsert"]["alarms"] = open_rows
            closed = {r["id"] for r in rows} - {r["id"] for r in open_rows}
            if closed:
                delta["remove"]["alarms"] = sorted(closed)
        if d.drones:
            delta["upsert"]["drones"] = [
                r for r in snap.drone_rows(event, now, live=True) if r["track_id"] in d.drones
            ]
        if d.figures:
            self._last_figures = time.monotonic()
            with self._tally_lock:
                tally = self._advance_tally(event, now, recount=d.recount)
                delta["replace"]["figures"] = tally.figures()
                delta["venue_figures"] = {v: tally.figures(v) for v in tally.venues()}
        if d.checkpoints:
            self._last_checkpoints = time.monotonic()
            delta["replace"]["checkpoints"] = snap.checkpoint_rows(event, now)
        reserves = None
        if d.reserves:
            reserves = snap.reserve_rows(event)
            delta["replace"]["reserves"] = reserves
        if d.forces:
            delta["replace"]["forces"] = snap.forces(
                event, now, reserves if reserves is not None else snap.reserve_rows(event)
            )
        if d.incidents:
            delta["replace"]["incidents"] = snap.incident_rows(event, now)
        return delta

    def _advance_tally(self, event: Any, now: Any, *, recount: bool = False) -> FigureTally:
        if self._tally is None or self._tally.event.pk != event.pk:
            self._tally = FigureTally(event)
        if recount:
            self._tally.invalidate()
        self._tally.advance(now, snap._day_start(event, now))
        return self._tally

    def reset_counts(self) -> None:
        """Forget the running figures; the next read counts afresh (a restored database)."""
        with self._tally_lock:
            self._tally = None

    def live_figures(self, event: Any, now: Any, venue: str | None = None) -> dict[str, Any]:
        """Return the running figures (the snapshot's live figures share the stream's tally)."""
        with self._tally_lock:
            return self._advance_tally(event, now).figures(venue)

    def publish_frame(self, delta: dict[str, Any]) -> int:
        """Append an encoded delta to the ring and wake every screen; return its sequence."""
        data = encode(delta)
        with self._lock:
            self.seq += 1
            seq = self.seq
            self.ring.append((seq, data))
            subs = list(self._subs)
            self.flushes += 1
        for s in subs:
            s.wake()
        return seq

    # --- the screen side --------------------------------------------------------------------

    def event_id(self, seq: int) -> str:
        """Return the SSE id of a frame: this process's epoch and the sequence number."""
        return f"{self.epoch}-{seq}"

    def subscribe(self, last_event_id: str | None) -> tuple[Subscriber, bool]:
        """Add a screen; return it and whether it must resync (its last id is unknown here)."""
        with self._lock:
            cursor = self.seq
            resync = False
            if last_event_id:
                epoch, _, seq_text = last_event_id.partition("-")
                seq = int(seq_text) if seq_text.isdigit() else -1
                oldest = self.ring[0][0] if self.ring else self.seq + 1
                if epoch == self.epoch and 0 <= seq <= self.seq and seq >= oldest - 1:
                    cursor = seq  # the missed frames are still in the ring: replay them
                else:
                    resync = True
            sub = Subscriber(cursor=cursor)
            self._subs.add(sub)
        return sub, resync

    def unsubscribe(self, sub: Subscriber) -> None:
        """Remove a screen."""
        with self._lock:
            self._subs.discard(sub)

    def pending(self, sub: Subscriber) -> tuple[list[tuple[int, str]], bool]:
        """Return the frames after the screen's cursor and whether it fell behind the ring."""
        with self._lock:
            if self.seq <= sub.cursor:
                return [], False
            oldest = self.ring[0][0] if self.ring else self.seq + 1
            if sub.cursor < oldest - 1:
                sub.cursor = self.seq
                return [], True
            frames = [(s, data) for s, data in self.ring if s > sub.cursor]
            sub.cursor = self.seq
        return frames, False

    @property
    def subscribers(self) -> int:
        """Return how many screens are connected."""
        with self._lock:
            return len(self._subs)


_instance: Broadcaster | None = None
_instance_lock = threading.Lock()


def get(*, start: bool = True) -> Broadcaster:
    """Return this process's broadcaster, started (listening, refreshing) unless told not to."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = Broadcaster()
        inst = _instance
    if start:
        inst.start()
    return inst


def shutdown() -> None:
    """Stop this process's broadcaster and forget it (tests; a server that stops)."""
    global _instance
    with _instance_lock:
        inst, _instance = _instance, None
    if inst is not None:
        inst.stop()
