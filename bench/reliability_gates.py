"""Reliability drill: a simulated rush at 20 real gate clients, the server killed twice.

The server (`anbao serve`, 2 workers) is killed with SIGKILL at one third and two thirds of the
rush and restarted after a pause; the gates go offline, keep deciding from their bundles and
journals, and sync when it is back. Afterwards every decision in every gate's journal must be in
the database exactly once; the gate journals are compared with the server's counts.

Run: .venv/bin/python bench/reliability_gates.py [--gates 20] [--minutes 10] [--down 20]
     [--database postgres://postgres@127.0.0.1:5432/anbao_bench]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _instance import demo_instance, fresh_postgres
from _machine import describe


def prepare(home: Path, gates: int) -> tuple[bytes, list[dict], datetime]:
    """Make a demo instance with credentials and enrol the lane scanners to drive."""
    demo_instance(home)
    from anbao.demo import setup
    from anbao.screening import drill

    root, specs = drill.prepare_gates(gates=gates)
    start = setup.simulation_start() + timedelta(hours=1, minutes=30)  # 07:30, the rush
    return root, [s.as_json() for s in specs], start


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `anbao serve` in its own process group and wait until it answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "anbao.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/accounts/login/")
            conn.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def kill(server: subprocess.Popen[bytes]) -> None:
    """Kill the server and its workers at once, as a power cut would."""
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def check(config: object, specs: list[dict]) -> dict[str, object]:
    """Compare every gate's journal with the passages the database holds for that gate."""
    from django.db.models import Count

    from anbao.gate.sim import journal_passages
    from anbao.screening.models import Passage

    per_gate = []
    missing = duplicated = orphans = 0
    for spec in specs:
        journal = journal_passages(config, spec["device"])  # type: ignore[arg-type]
        nonces = {n for n, _m in journal}
        rows = dict(
            Passage.objects.filter(device__external_id=spec["device"])
            .values_list("nonce")
            .annotate(n=Count("id"))
            .values_list("nonce", "n")
        )
        gate_missing = [n for n in nonces if n not in rows]
        gate_dup = [n for n in nonces if rows.get(n, 0) > 1]
        gate_orphans = [n for n in rows if n not in nonces]
        missing += len(gate_missing)
        duplicated += len(gate_dup)
        orphans += len(gate_orphans)
        per_gate.append(
            {
                "device": spec["device"],
                "journal": len(journal),
                "journal_offline": sum(1 for _n, m in journal if m == "offline"),
                "server": sum(rows.values()),
                "missing": len(gate_missing),
                "duplicated": len(gate_dup),
                "server_only": len(gate_orphans),
            }
        )
    return {
        "gates": per_gate,
        "journal_total": sum(g["journal"] for g in per_gate),
        "offline_total": sum(g["journal_offline"] for g in per_gate),
        "server_total": sum(g["server"] for g in per_gate),
        "missing": missing,
        "duplicated": duplicated,
        "server_only": orphans,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gates", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--down", type=float, default=20.0, help="seconds the server stays dead")
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--speed", type=float, default=9.0, help="profile minutes per minute")
    parser.add_argument(
        "--database", default="", help="postgres://... to run on PostgreSQL (recreated)"
    )
    opts = parser.parse_args()
    if opts.database:
        fresh_postgres(opts.database)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        root, specs, start = prepare(home, opts.gates)
        print(f"machine: {describe()}")
        print(f"database: {'PostgreSQL' if opts.database else 'SQLite (WAL)'}")
        print(f"prepared {len(specs)} gates in {time.perf_counter() - t0:.1f} s")
        from anbao.core import clock
        from anbao.gate import sim

        anchor = time.time()
        sim_clock = clock.AnchoredClock(start=start, anchor=anchor)
        env = {
            **os.environ,
            "ANBAO_HOME": str(home),
            clock.CLOCK_ENV: f"{start.isoformat()}|{anchor:.6f}|1.0",
        }
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        config = sim.SimConfig(
            server=f"http://127.0.0.1:{port}",
            root_public=root,
            home=Path(tmp) / "gates",
            minutes=opts.minutes,
            start=start,
            speed=opts.speed,
            rate_scale=opts.rate_scale,
            clock=sim_clock.now,
        )
        server = start_server(port, env)
        runs: list[sim.GateRun] = []
        driver = threading.Thread(target=lambda: runs.extend(sim.run_sim(config, specs)))
        driver.start()
        kills = []
        for fraction in (1 / 3, 2 / 3):
            time.sleep(max(opts.minutes * 60 * fraction - (time.time() - anchor), 0))
            kill(server)
            killed_at = datetime.now(tz=UTC)
            time.sleep(opts.down)
            server = start_server(port, env)
            kills.append({"killed": killed_at.isoformat(), "down_s": opts.down})
            print(f"server killed at {killed_at:%H:%M:%S} and restarted", flush=True)
        driver.join()
        t1 = time.perf_counter()
        left = sim.drain(config, specs)
        drain_s = time.perf_counter() - t1
        result = check(config, specs)
        server.terminate()
        server.wait(timeout=30)
    scans = sum(r.scans for r in runs)
    summary = {
        "gates": len(specs),
        "minutes": opts.minutes,
        "scans": scans,
        "online": sum(r.online for r in runs),
        "offline": sum(r.offline for r in runs),
        "screenings": sum(r.screenings for r in runs),
        "seizures": sum(r.seizures for r in runs),
        "gate_errors": sum(len(r.errors) for r in runs),
        "kills": kills,
        "pending_after_drain": left,
        "drain_s": round(drain_s, 1),
        **{k: v for k, v in result.items() if k != "gates"},
    }
    print(json.dumps(summary, indent=2))
    ok = (
        left == 0
        and result["missing"] == 0
        and result["duplicated"] == 0
        and result["journal_total"] == scans
    )
    print(f"every gate decision in the database exactly once: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
