"""The Gate: decides online while the server answers, offline from its bundle when not.

Online decisions are stored by the server (and kept locally for the operator's history);
offline decisions and every screening go into the journal and are uploaded by :meth:`sync`.
A background loop probes a silent server, refreshes the bundle and syncs the journal.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anbao.gate import engine
from anbao.gate.bundle import Bundle, BundleRefused, BundleStore
from anbao.gate.client import Client, Refused, Unreachable
from anbao.gate.journal import Journal
from anbao.screening import taxonomy

ONLINE, OFFLINE, FORCED = "online", "offline", "forced_offline"
SYNC_CHUNK = 500
SUBJECTS = ("person", "bag", "vehicle")
OUTCOMES = ("clear", "alarm_resolved", "item_found", "refused")
DISPOSITIONS = taxonomy.DISPOSITIONS


@dataclass
class GateConfig:
    """What a gate needs to run: the server, its identity, the pinned root and its home."""

    server: str
    token: str
    device: str
    checkpoint: str
    lane: str
    root_public: bytes
    home: Path
    photos: bool = True
    refresh_s: float = 180.0
    probe_s: float = 5.0
    sync_s: float = 5.0
    timeout: float = 1.5


def utcnow() -> datetime:
    """Return the lane PC's clock as an aware UTC time."""
    return datetime.now(UTC)


class Gate:
    """One lane's gate client: decisions, journal, bundle, mode and sync."""

    def __init__(
        self,
        config: GateConfig,
        *,
        client: Client | None = None,
        clock: Callable[[], datetime] = utcnow,
        forced_offline: bool = False,
        journal_window: float | None = None,
    ) -> None:
        self.config = config
        self.home = Path(config.home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.client = client or Client(config.server, config.token, timeout=config.timeout)
        self.clock = clock
        kwargs = {} if journal_window is None else {"window": journal_window}
        self.journal = Journal(self.home / "journal.sqlite3", **kwargs)
        self.store = BundleStore(self.home, config.root_public)
        self.inside: set[str] = set()
        self.forced = forced_offline
        self.reachable = not forced_offline
        self.last_contact: float | None = None
        self.last_error = ""
        self.sync_skew_s: float | None = None
        self.date_skew_s: float | None = None
        self.last_sync_at = ""
        self.last_result: dict[str, Any] | None = None
        self.last_passage_nonce = ""
        self._decide_lock = threading.RLock()
        self._net_lock = threading.Lock()
        self._next_probe = 0.0
        self._next_refresh = 0.0
        self._next_sync = 0.0
        self._stop = threading.Event()
        # A random prefix per start and a counter: unique for ever, without a syscall per scan.
        self._nonce_prefix = f"{secrets.token_hex(8)}-"
        self._nonce_count = itertools.count(1)
        self._thread: threading.Thread | None = None
        self.store.on_change = self._rebuild_inside
        self.store.load_saved(self.clock())

    def _nonce(self) -> str:
        return f"{self._nonce_prefix}{next(self._nonce_count):x}"

    # --- modes ----------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        """Return ``online``, ``offline`` or ``forced_offline``."""
        if self.forced:
            return FORCED
        return ONLINE if self.reachable else OFFLINE

    def set_mode(self, mode: str) -> str:
        """Force offline (``offline``) or let the gate choose (``auto``); return the mode."""
        if mode not in ("offline", "auto"):
            raise ValueError("mode must be offline or auto")
        self.forced = mode == "offline"
        if not self.forced:
            self._next_probe = 0.0  # look for the server at once
        return self.mode

    def _went_offline(self, why: str) -> None:
        self.reachable = False
        self.last_error = why
        self._next_probe = time.monotonic() + self.config.probe_s

    def _contact(self, date_skew: float | None) -> None:
        if not self.reachable:
            self.last_error = ""  # the failure that took the gate offline is over
        self.reachable = True
        self.last_contact = time.time()
        if date_skew is not None:
            self.date_skew_s = date_skew

    # --- the bundle -----------------------------------------------------------------------

    @property
    def bundle(self) -> Bundle | None:
        """Return the bundle decisions are made from."""
        return self.store.current

    def _rebuild_inside(self, bundle: Bundle) -> None:
        """Start from the bundle's inside state and replay the passages it cannot know of."""
        inside = set(bundle.inside)
        for entry in self.journal.pending_passages():
            cid = entry.get("cid") or ""
            person = bundle.people.get(cid)
            key = engine.holder_key(person) if person is not None else None
            if key is not None and entry.get("status") != "deny":
                engine.move(inside, key, entry.get("direction", ""))
        with self._decide_lock:
            self.inside = inside

    def refresh_bundle(self) -> bool:
        """Fetch the bundle if it changed; return True when a new one was installed."""
        current = self.store.current
        try:
            answer = self.client.bundle(
                current.serial if current else None, photos=self.config.photos
            )
        except Unreachable as exc:
            self._went_offline(str(exc))
            raise
        self._contact(answer.date_skew_s)
        self._next_refresh = time.monotonic() + self.config.refresh_s
        if answer.status == 304 or answer.body is None:
            return False
        self.store.accept(answer.body, self.clock())
        return True

    # --- scanning -------------------------------------------------------------------------

    def scan(self, qr_text: str, direction: str = "entry") -> dict[str, Any]:
        """Decide one scan (online when possible) and return what the lane screen shows."""
        if direction not in (engine.ENTRY, engine.EXIT):
            raise ValueError("direction must be entry or exit")
        nonce = self._nonce()
        now = self.clock()
        at = now.isoformat()
        if self.mode == ONLINE:
            try:
                return self._scan_online(qr_text, direction, nonce, at)
            except Unreachable as exc:
                self._went_offline(str(exc))
            except Refused as exc:
                # The server refused the request itself (token, payload): decide locally.
                self.last_error = f"{exc.code}: {exc.message}"
        return self._scan_offline(qr_text, direction, nonce, now, at)

    def _scan_online(self, qr_text: str, direction: str, nonce: str, at: str) -> dict[str, Any]:
        c = self.config
        answer = self.client.scan(
            {
                "qr_text": qr_text,
                "checkpoint": c.checkpoint,
                "lane": c.lane,
                "device": c.device,
                "direction": direction,
                "device_time": at,
                "nonce": nonce,
            }
        )
        self._contact(answer.date_skew_s)
        r = dict(answer.body)
        bundle = self.store.current
        person = bundle.people.get(r.get("cid") or "") if bundle else None
        with self._decide_lock:
            if r.get("status") != "deny" and r.get("accreditation_id") is not None:
                engine.move(self.inside, f"a{r['accreditation_id']}", direction)
        photo = ""
        if person is not None and person.get("photo"):
            photo = f"data:image/jpeg;base64,{person['photo']}"
        elif r.get("person_id"):
            photo = f"/photo/{int(r['person_id'])}"
        body = _passage_body(nonce, at, direction, qr_text, r, bundle)
        body["passage_id"] = r.get("passage_id")
        self.journal.append("passage", body, mode=ONLINE, upload=False)
        return self._shown(
            {
                "status": r.get("status", "deny"),
                "reason": r.get("reason", ""),
                "rule": r.get("rule", ""),
                "direction": direction,
                "cid": r.get("cid", ""),
                "accreditation_id": r.get("accreditation_id"),
                "person_id": r.get("person_id"),
                "name": r.get("name", ""),
                "category": r.get("category", ""),
                "photo": photo,
                "text_zh": r.get("text_zh", ""),
                "text_en": r.get("text_en", ""),
                "flags": r.get("flags", []),
            },
            nonce,
            ONLINE,
        )

    def _scan_offline(
        self, qr_text: str, direction: str, nonce: str, now: datetime, at: str
    ) -> dict[str, Any]:
        with self._decide_lock:
            bundle = self.store.current
            out = engine.decide(bundle, self.inside, qr_text, direction, now).as_json()
            body = _passage_body(nonce, at, direction, qr_text, out, bundle)
            # Without a bundle there is no decision to upload: keep it for the history only.
            upload = out["reason"] != "no_bundle"
            self.journal.append("passage", body, mode=OFFLINE, upload=upload)
        return self._shown(out, nonce, self.mode)

    def _shown(self, result: dict[str, Any], nonce: str, mode: str) -> dict[str, Any]:
        result = {**result, "nonce": nonce, "mode": mode}
        self.last_result = result
        self.last_passage_nonce = nonce
        return result

    def screening(
        self,
        *,
        subject: str,
        method: str,
        outcome: str,
        seizures: list[dict[str, Any]] | None = None,
        passage_nonce: str | None = None,
    ) -> dict[str, Any]:
        """Journal a screening result (and its seizures) for upload; return the entry."""
        if subject not in SUBJECTS or outcome not in OUTCOMES:
            raise ValueError("unknown subject or outcome")
        tax = taxonomy.default()
        items = []
        for s in seizures or ():
            item = tax.item(str(s.get("item", "")))
            if item is None:
                raise ValueError(f"unknown item {s.get('item')!r}")
            disposition = s.get("disposition") or item.disposition
            if disposition not in DISPOSITIONS:
                raise ValueError(f"unknown disposition {disposition!r}")
            quantity = int(s.get("quantity") or 1)
            if not 1 <= quantity <= 1000:
                raise ValueError("quantity must be 1 to 1000")
            items.append({"item": item.code, "quantity": quantity, "disposition": disposition})
        if items and outcome == "clear":
            outcome = "item_found"
        body = {
            "nonce": self._nonce(),
            "at": self.clock().isoformat(),
            "subject": subject,
            "method": str(method)[:20],
            "outcome": outcome,
            "passage_nonce": self.last_passage_nonce if passage_nonce is None else passage_nonce,
            "seizures": items,
        }
        journal_mode = ONLINE if self.mode == ONLINE else OFFLINE  # forced is offline too
        seq = self.journal.append("screening", body, mode=journal_mode, upload=True)
        self._next_sync = 0.0
        return {**body, "seq": seq, "kind": "screening"}

    # --- sync -----------------------------------------------------------------------------

    def sync(self) -> dict[str, int]:
        """Upload the journal in chunks of 500, in seq order; return the results counted."""
        counts = {"stored": 0, "duplicate": 0, "rejected": 0, "conflicts": 0}
        with self._net_lock:
            self.journal.flush()
            while True:
                chunk = self.journal.pending(SYNC_CHUNK)
                if not chunk:
                    self.journal.recount()  # another process (anbao gate sync) may have synced
                    break
                bundle = self.store.current
                body = {
                    "device": self.config.device,
                    "device_time": self.clock().isoformat(),
                    "mode": self.mode,
                    "bundle_serial": bundle.serial if bundle else 0,
                    # What will still wait once this chunk is in: the server's view after it.
                    "pending": max(self.journal.pending_count - len(chunk), 0),
                    "entries": chunk,
                }
                try:
                    answer = self.client.sync(body)
                except Unreachable as exc:
                    self._went_offline(str(exc))
                    raise
                self._contact(answer.date_skew_s)
                reply = answer.body or {}
                results = reply.get("results") or []
                for r in results:
                    if r.get("result") in counts:
                        counts[r["result"]] += 1
                counts["conflicts"] += int(reply.get("conflicts") or 0)
                if reply.get("clock_skew_s") is not None:
                    self.sync_skew_s = float(reply["clock_skew_s"])
                self.last_sync_at = self.clock().isoformat()
                if self.journal.mark(results) == 0:
                    self.last_error = "sync: the server answered no entry of the chunk"
                    break
        return counts

    # --- the background loop --------------------------------------------------------------

    def tick(self) -> None:
        """Probe, refresh and sync when due (the background loop calls this every second)."""
        self.journal.flush()
        now = time.monotonic()
        try:
            if not self.reachable:
                if now < self._next_probe:
                    return
                self.refresh_bundle()  # the probe: a 304 costs the server next to nothing
            elif now >= self._next_refresh or self.store.current is None:
                self.refresh_bundle()
            if self.journal.pending_count and time.monotonic() >= self._next_sync:
                counts = self.sync()
                self._next_sync = time.monotonic() + self.config.sync_s
                if counts["stored"]:
                    self._next_refresh = 0.0  # the server's presence moved: fetch it
        except Unreachable:
            return
        except Refused as exc:
            self.last_error = f"{exc.code}: {exc.message}"
            self._next_probe = time.monotonic() + self.config.probe_s
            self._next_refresh = self._next_probe
        except BundleRefused as exc:
            self.last_error = f"{exc.code}: {exc.message}"
            self._next_refresh = time.monotonic() + self.config.refresh_s

    def save_state(self) -> None:
        """Write the running gate's state to ``HOME/state.json`` for ``anbao gate status``."""
        state = {**self.state(), "saved_at": utcnow().isoformat()}
        state.pop("last_result", None)
        tmp = self.home / "state.json.tmp"
        tmp.write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        os.replace(tmp, self.home / "state.json")

    def start(self, interval: float = 1.0) -> None:
        """Run :meth:`tick` in a background thread until :meth:`stop`."""

        def loop() -> None:
            beat = 0
            while not self._stop.wait(interval):
                self.tick()
                beat += 1
                if beat % 5 == 0:
                    with contextlib.suppress(OSError):
                        self.save_state()

        self.tick()
        self._thread = threading.Thread(target=loop, name="gate-tick", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background loop and close the journal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            with contextlib.suppress(OSError):
                self.save_state()
        self.journal.close()

    # --- what the screen shows ------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Return the gate's state for the lane screen and ``anbao gate status``."""
        bundle = self.store.current
        refusal = self.store.last_refusal
        return {
            "mode": self.mode,
            "forced": self.forced,
            "reachable": self.reachable,
            "device": self.config.device,
            "checkpoint": self.config.checkpoint,
            "lane": self.config.lane,
            "bundle": bundle.summary() if bundle else None,
            "bundle_refused": f"{refusal.code}: {refusal.message}" if refusal else "",
            "pending": self.journal.pending_count,
            "rejected": len(self.journal.rejected()),
            "clock_skew_s": self.sync_skew_s,
            "clock_skew_date_s": self.date_skew_s,
            "last_sync_at": self.last_sync_at,
            "last_error": self.last_error,
            "last_result": self.last_result,
            "inside": len(self.inside),
        }


def _passage_body(
    nonce: str,
    at: str,
    direction: str,
    qr_text: str,
    result: dict[str, Any],
    bundle: Bundle | None,
) -> dict[str, Any]:
    """Return a journal passage entry in the sync protocol's shape."""
    return {
        "nonce": nonce,
        "at": at,
        "direction": direction,
        "qr_text": qr_text,
        "cid": result.get("cid") or "",
        "status": result.get("status", "deny"),
        "reason": result.get("reason", ""),
        "rule": result.get("rule", ""),
        "bundle_serial": bundle.serial if bundle else 0,
    }
