"""``anbao gate run|status|sync``: the gate client's command line.

``run`` saves its settings in ``HOME/config.json`` (owner-only: it holds the device token),
so ``status`` and ``sync`` need only ``--home``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from anbao.gate.client import Refused, Unreachable
from anbao.gate.gate import Gate, GateConfig

CONFIG_FILE = "config.json"
FIELDS = ("server", "token", "device", "checkpoint", "lane", "root_key")


def parse_root_key(value: str) -> bytes:
    """Return the 32-byte root public key from hex text or a file holding hex or raw bytes."""
    text = value.strip()
    path = Path(text)
    if len(text) != 64 and path.is_file():
        raw = path.read_bytes()
        if len(raw) == 32:
            return raw
        text = raw.decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError("the root key must be 64 hex digits or a file holding them") from None
    if len(key) != 32:
        raise ValueError("the root key must be 32 bytes (64 hex digits)")
    return key


def load_config(home: Path) -> dict[str, Any]:
    """Return the saved settings of the gate at ``home`` (empty when there are none)."""
    try:
        data = json.loads((home / CONFIG_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_config(home: Path, settings: dict[str, Any]) -> None:
    """Write the settings readable by the owner only (the token is in them)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(settings, fh, indent=2)
    os.chmod(path, 0o600)


def gate_config(home: Path, settings: dict[str, Any]) -> GateConfig:
    """Build the gate's configuration from saved or given settings."""
    missing = [f for f in FIELDS if not settings.get(f)]
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        raise ValueError(f"missing {flags}")
    return GateConfig(
        server=settings["server"],
        token=settings["token"],
        device=settings["device"],
        checkpoint=settings["checkpoint"],
        lane=settings["lane"],
        root_public=parse_root_key(settings["root_key"]),
        home=home,
        photos=bool(settings.get("photos", True)),
        refresh_s=float(settings.get("refresh_minutes", 3)) * 60,
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``anbao gate``."""
    parser = argparse.ArgumentParser(prog="anbao gate", description="The offline lane gate.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the gate and its lane screen")
    run.add_argument("--server", help="the anbao server, e.g. https://anbao.example")
    run.add_argument("--token", help="the lane scanner's device token")
    run.add_argument("--device", help="the device id, e.g. GS-wicc-n-l1")
    run.add_argument("--checkpoint", help="the checkpoint code")
    run.add_argument("--lane", help="the lane code")
    run.add_argument("--root-key", dest="root_key", help="the root public key: hex or a file")
    run.add_argument("--home", required=True, type=Path, help="the gate's own folder")
    run.add_argument("--port", type=int, default=8765, help="lane screen port on 127.0.0.1")
    run.add_argument("--offline", action="store_true", help="start forced offline")
    run.add_argument("--no-photos", dest="photos", action="store_false", default=None)
    run.add_argument("--refresh-minutes", dest="refresh_minutes", type=float, default=None)
    sim = sub.add_parser(
        "sim",
        help="drive N gates with a simulated rush (on the server: enrols the lane scanners)",
    )
    sim.add_argument("--server", required=True, help="the anbao server the gates talk to")
    sim.add_argument("--gates", type=int, default=4, help="how many lanes to drive (1-200)")
    sim.add_argument("--minutes", type=float, default=10.0, help="wall-clock minutes to run")
    sim.add_argument("--start", help="profile time to start at, ISO 8601 (default 07:30 local)")
    sim.add_argument("--speed", type=float, default=9.0, help="profile minutes per minute")
    sim.add_argument("--rate-scale", dest="rate_scale", type=float, default=1.0)
    sim.add_argument("--seizure-rate", dest="seizure_rate", type=float, default=0.0072)
    sim.add_argument("--bag-rate", dest="bag_rate", type=float, default=0.05)
    sim.add_argument(
        "--bad",
        default="revoked=0.002,wrong_zone=0.004,tampered=0.001",
        help="shares of bad credentials, e.g. revoked=0.01,wrong_zone=0.02,tampered=0.005",
    )
    sim.add_argument("--checkpoint", action="append", help="only lanes of this checkpoint")
    sim.add_argument("--home", required=True, type=Path, help="folder for the gates' journals")
    sim.add_argument("--seed", type=int, default=2026)
    for name, text in (("status", "show the gate's state"), ("sync", "upload the journal now")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--home", required=True, type=Path)
    return parser


def _status(home: Path) -> int:
    settings = load_config(home)
    if not settings:
        print(f"anbao gate: no gate at {home} (run `anbao gate run` first)", file=sys.stderr)
        return 2
    gate = Gate(gate_config(home, settings), forced_offline=True)
    try:
        state = gate.state()
        for key in ("mode", "forced", "reachable", "clock_skew_s", "clock_skew_date_s",
                    "last_sync_at", "last_error", "last_result", "inside"):  # fmt: skip
            state.pop(key, None)
        # What the running gate said last (written every 5 s and when it stops).
        state["last_run"] = _saved_state(home)
        state["journal"] = gate.journal.counts()
        state["rejected_entries"] = gate.journal.rejected()[:20]
        state["recent"] = [
            {k: e.get(k) for k in ("seq", "kind", "at", "mode", "status", "reason", "sync")}
            for e in gate.journal.recent(10)
        ]
        print(json.dumps(state, ensure_ascii=False, indent=2))
    finally:
        gate.stop()
    return 0


def _saved_state(home: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((home / "state.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _sync(home: Path) -> int:
    settings = load_config(home)
    if not settings:
        print(f"anbao gate: no gate at {home}", file=sys.stderr)
        return 2
    gate = Gate(gate_config(home, settings))
    try:
        counts = gate.sync()
    except Unreachable as exc:
        print(f"anbao gate: the server cannot be reached: {exc}", file=sys.stderr)
        return 1
    except Refused as exc:
        print(f"anbao gate: the server refused: {exc}", file=sys.stderr)
        return 1
    finally:
        gate.stop()
    print(json.dumps({**counts, "pending": gate.journal.pending_count}))
    return 0


def _run(args: argparse.Namespace) -> int:
    from anbao.gate.lane import make_server

    home: Path = args.home
    settings = load_config(home)
    for name in (*FIELDS, "photos", "refresh_minutes"):
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    config = gate_config(home, settings)
    home.mkdir(parents=True, exist_ok=True)
    lock = open(home / "gate.lock", "w")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise ValueError(f"another gate runs with --home {home}") from None
    save_config(home, settings)
    gate = Gate(config, forced_offline=args.offline)
    server = make_server(gate, args.port)
    # A service manager stops the gate with SIGTERM: close the journal cleanly then too.
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    )
    gate.start()
    print(f"anbao gate: lane screen at http://127.0.0.1:{server.server_port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        gate.stop()
    return 0


def parse_shares(text: str) -> dict[str, float]:
    """Parse ``kind=share,...`` into a dict, naming the part that is wrong."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, value = part.partition("=")
        try:
            out[kind.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--bad: {part!r} is not kind=share") from None
    return out


def _sim(args: argparse.Namespace) -> int:
    import time as _time
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from anbao.core import clock
    from anbao.core.errors import DomainError
    from anbao.gate import sim
    from anbao.screening import drill, traffic
    from anbao.screening import taxonomy as tx
    from anbao.sites import services as sites

    event = sites.current_event()
    if event is None:
        raise ValueError("the instance has no event: load a site first")
    tz = ZoneInfo(event.time_zone)
    if args.start:
        start = datetime.fromisoformat(args.start)
        if start.tzinfo is None:
            raise ValueError("--start needs a UTC offset")
    else:
        from anbao.sites.models import PhaseKind

        phase = event.phases.filter(kind=PhaseKind.EVENT).order_by("start_date").first()
        day = phase.start_date if phase else event.start_date
        start = datetime.combine(day, time(7, 30), tzinfo=tz)  # the first event day's rush
    items = [(i.code, i.common, i.item_class) for i in tx.default().items()]
    mix = traffic.Mix(
        seizure_rate=args.seizure_rate,
        bag_rate=args.bag_rate,
        bad_rates=parse_shares(args.bad),
        items=traffic.item_weights(items),
    )
    try:
        root, specs = drill.prepare_gates(
            gates=args.gates, event=event, checkpoints=args.checkpoint
        )
    except DomainError as exc:
        raise ValueError(exc.message) from None
    # With --start the lane PCs run simulated time from it, like a server started with
    # `anbao serve --clock-start` at the same instant; otherwise they keep the wall clock.
    lane_clock = clock.AnchoredClock(start=start, anchor=_time.time()) if args.start else None
    config = sim.SimConfig(
        server=args.server,
        root_public=root,
        home=args.home,
        minutes=args.minutes,
        start=start,
        speed=args.speed,
        rate_scale=args.rate_scale,
        mix=mix,
        seed=args.seed,
        clock=lane_clock.now if lane_clock else None,
    )
    print(f"anbao gate sim: {len(specs)} gates for {args.minutes} min", file=sys.stderr)
    runs = sim.run_sim(config, [s.as_json() for s in specs])
    left = sim.drain(config, [s.as_json() for s in specs])
    print(json.dumps({"gates": [r.as_json() for r in runs], "pending": left}, ensure_ascii=False))
    return 0 if left == 0 else 1


def main(argv: list[str] | None = None) -> int:
    """Run ``anbao gate`` with ``argv`` and return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "status":
            return _status(args.home)
        if args.command == "sim":
            return _sim(args)
        return _sync(args.home)
    except ValueError as exc:
        print(f"anbao gate: {exc}", file=sys.stderr)
        return 2
