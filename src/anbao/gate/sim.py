"""``anbao gate sim``: drive N real gate clients with a simulated queue at each lane.

Each gate is a :class:`Gate` with its own home (journal, bundle) talking HTTP to the server,
exactly as on a lane PC. A thread per gate draws arrivals from the arrival profile and shows
each arrival's badge at once (the gate is never the bottleneck here, so no queue is modelled),
and records bags and seizures at the reference rates.
Time in the profile runs ``speed`` times faster than the wall clock, so a 10-minute run covers
an hour and a half of the morning rush.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from anbao.gate.client import Refused, Unreachable
from anbao.gate.gate import Gate, GateConfig
from anbao.screening import taxonomy as tx
from anbao.screening import traffic

__all__ = ["GateRun", "Running", "SimConfig", "run_sim", "start_sim"]

EXIT_SHARE = 0.2


@dataclass
class SimConfig:
    """What to simulate: where, how long, how fast, and what the people carry."""

    server: str
    root_public: bytes
    home: Path
    minutes: float = 10.0
    start: datetime = datetime(2026, 11, 8, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    speed: float = 9.0
    rate_scale: float = 1.0
    profile: traffic.ArrivalProfile = traffic.MORNING_RUSH
    mix: traffic.Mix | None = None
    seed: int = 2026
    photos: bool = False
    timeout: float = 1.5
    #: The lane PCs' clock (simulated time in drills, so that badges are valid).
    clock: Callable[[], datetime] | None = None


@dataclass
class GateRun:
    """What one simulated gate did."""

    device: str
    scans: int = 0
    online: int = 0
    offline: int = 0
    allowed: int = 0
    denied: int = 0
    screenings: int = 0
    seizures: int = 0
    errors: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the run as a JSON-ready dict."""
        return {k: v for k, v in self.__dict__.items() if k != "errors"} | {
            "errors": self.errors[:10]
        }


def _mix(config: SimConfig) -> traffic.Mix:
    if config.mix is not None:
        return config.mix
    items = [(i.code, i.common, i.item_class) for i in tx.default().items()]
    return traffic.Mix(items=traffic.item_weights(items))


def _drive(
    gate: Gate,
    spec: dict[str, Any],
    config: SimConfig,
    run: GateRun,
    stop_at: float,
    started: float,
    rng: random.Random,
    now: Callable[[], float] = time.monotonic,
) -> None:
    mix = _mix(config)
    eligible: list[str] = spec["eligible"]
    inside: set[str] = set()
    tz = config.start.tzinfo or UTC
    while now() < stop_at:
        simulated = config.start + timedelta(seconds=(now() - started) * config.speed)
        per_min = config.profile.rate(simulated.astimezone(tz).time()) * config.rate_scale
        per_wall_s = max(per_min * config.speed / 60, 1e-3)
        time.sleep(min(rng.expovariate(per_wall_s), max(stop_at - now(), 0)))
        if now() >= stop_at or not eligible:
            break
        arrival = mix.draw(rng)
        qr, direction = _credential(rng, spec, inside, arrival.bad)
        try:
            shown = gate.scan(qr, direction)
        except Exception as exc:  # the gate must keep going; record and continue
            run.errors.append(repr(exc))
            continue
        run.scans += 1
        if shown.get("mode") == "online":
            run.online += 1
        else:
            run.offline += 1
        reason = str(shown.get("reason", ""))
        run.reasons[reason] = run.reasons.get(reason, 0) + 1
        if shown.get("status") == "deny":
            run.denied += 1
            continue
        run.allowed += 1
        if direction == "exit":
            inside.discard(qr)
            continue
        inside.add(qr)
        if arrival.bag or arrival.item:
            seizures = [{"item": arrival.item}] if arrival.item else []
            subject = "bag" if arrival.bag else "person"
            gate.screening(
                subject=subject,
                method="xray" if arrival.bag else "handheld",
                outcome="item_found" if seizures else "clear",
                seizures=seizures,
            )
            run.screenings += 1
            run.seizures += len(seizures)


def _credential(
    rng: random.Random, spec: dict[str, Any], inside: set[str], bad: str | None
) -> tuple[str, str]:
    if bad == "revoked" and spec.get("revoked"):
        return rng.choice(spec["revoked"]), "entry"
    if bad == "wrong_zone" and spec.get("others"):
        return rng.choice(spec["others"]), "entry"
    if inside and rng.random() < EXIT_SHARE:
        return rng.choice(tuple(inside)), "exit"
    qr: str = rng.choice(spec["eligible"])
    if bad == "tampered":
        pos = rng.randrange(10, len(qr) - 10)
        return qr[:pos] + ("A" if qr[pos] != "A" else "B") + qr[pos + 1 :], "entry"
    return qr, "exit" if qr in inside else "entry"


def make_gate(config: SimConfig, spec: dict[str, Any]) -> Gate:
    """Return the gate client of one simulated lane, at its own home under the sim's home."""
    return Gate(
        clock=config.clock or (lambda: datetime.now(UTC)),
        config=GateConfig(
            server=config.server,
            token=spec["token"],
            device=spec["device"],
            checkpoint=spec["checkpoint"],
            lane=spec["lane"],
            root_public=config.root_public,
            home=config.home / spec["device"],
            photos=config.photos,
            timeout=config.timeout,
            probe_s=2.0,
            sync_s=2.0,
        ),
    )


@dataclass
class Running:
    """Gates being driven: the gate clients, their drivers and what they did so far."""

    gates: list[Gate]
    threads: list[threading.Thread]
    runs: list[GateRun]
    started: float
    stop_at: float

    def wait(self, on_progress: Callable[[float], None] | None = None) -> list[GateRun]:
        """Wait for the drivers to finish, then stop the gates; return the runs."""
        span = max(self.stop_at - self.started, 1e-9)
        while any(t.is_alive() for t in self.threads):
            for t in self.threads:
                t.join(timeout=1.0)
            if on_progress is not None:
                on_progress(min((time.monotonic() - self.started) / span, 1.0))
        for gate in self.gates:
            gate.stop()
        return self.runs


def start_sim(config: SimConfig, specs: list[dict[str, Any]]) -> Running:
    """Start every gate and its driver for ``config.minutes``; return at once."""
    if not specs:
        raise ValueError("no gates to drive")
    if config.minutes <= 0 or config.speed <= 0 or config.rate_scale < 0:
        raise ValueError("minutes and speed must be positive, rate_scale not negative")
    gates = [make_gate(config, spec) for spec in specs]
    runs = [GateRun(device=spec["device"]) for spec in specs]
    for gate in gates:
        gate.start(interval=1.0)
    started = time.monotonic()
    stop_at = started + config.minutes * 60
    threads = [
        threading.Thread(
            target=_drive,
            args=(g, s, config, r, stop_at, started, random.Random(config.seed + i)),  # noqa: S311
            name=f"sim-{s['device']}",
            daemon=True,
        )
        for i, (g, s, r) in enumerate(zip(gates, specs, runs, strict=True))
    ]
    for t in threads:
        t.start()
    return Running(gates, threads, runs, started, stop_at)


def run_sim(
    config: SimConfig,
    specs: list[dict[str, Any]],
    *,
    on_progress: Callable[[float], None] | None = None,
) -> list[GateRun]:
    """Run every gate for ``config.minutes``; gates keep their journals under ``config.home``."""
    return start_sim(config, specs).wait(on_progress)


def drain(config: SimConfig, specs: list[dict[str, Any]], *, deadline_s: float = 120) -> int:
    """Upload every gate's journal until nothing is pending; return what still waits."""
    left = 0
    until = time.monotonic() + deadline_s
    for spec in specs:
        gate = make_gate(config, spec)
        try:
            while gate.journal.pending_count and time.monotonic() < until:
                try:
                    gate.sync()
                except (Unreachable, Refused):
                    time.sleep(1.0)
            left += gate.journal.pending_count
        finally:
            gate.stop()
    return left


def journal_passages(config: SimConfig, device: str) -> list[tuple[str, str]]:
    """Return ``(nonce, mode)`` of every passage decided at ``device`` that the server must hold."""
    path = config.home / device / "journal.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        # Offline entries kept for the history only (no bundle yet) are never uploaded.
        rows = db.execute(
            "SELECT nonce, mode FROM entries WHERE kind = 'passage' "
            "AND (mode = 'online' OR upload = 1) ORDER BY seq"
        )
        return [(str(n), str(m)) for n, m in rows]


def write_specs(path: Path, root_public: bytes, specs: list[dict[str, Any]]) -> None:
    """Save the drill's gates (tokens included: owner-only) for a later run or check."""
    path.write_text(json.dumps({"root": root_public.hex(), "gates": specs}), "utf-8")
    path.chmod(0o600)
