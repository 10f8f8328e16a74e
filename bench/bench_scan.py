"""Online scan decisions over HTTP: sustained rate and latency (targets: ≥ 1,500/s; p99 ≤ 50 ms
at 300/s). The server is `anbao serve` (uvicorn, 2 workers) on a temporary SQLite instance with
the demo's 2,758 credentials; the load generator is a separate process of keep-alive clients.

Run: .venv/bin/python bench/bench_scan.py [--seconds 20] [--clients 8] [--rate 300]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

TARGET_RATE, TARGET_P99_MS, PACED_RATE = 1500, 50.0, 300


def prepare(home: Path) -> dict[str, object]:
    """Make a demo instance with credentials and one enrolled lane scanner."""
    os.environ["ANBAO_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anbao.settings")
    import django

    django.setup()
    from anbao.accounts import services as accounts
    from anbao.accreditation.models import IssuedCredential
    from anbao.demo import setup
    from anbao.sites.models import Device

    state = setup.DemoState()
    setup.migrate()
    setup.ensure_site(state)
    setup.ensure_demo_data(state)
    setup.ensure_accreditations(state)
    device = Device.objects.select_related("lane__checkpoint").get(external_id="GS-wicc-n-l1")
    token = accounts.redeem_enrolment(
        device_id=device.external_id, code=accounts.start_enrolment(device_id=device.external_id)
    )
    qrs = list(
        IssuedCredential.objects.filter(revoked_at__isnull=True).values_list("qr_text", flat=True)
    )
    return {
        "token": token,
        "device": device.external_id,
        "checkpoint": device.lane.checkpoint.code,
        "lane": device.lane.code,
        "qrs": qrs,
    }


def _client(
    port: int, cfg: dict, stop_at: float, interval: float, out: list[float], errors: list[int]
) -> None:
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {cfg['token']}", "Content-Type": "application/json"}
    qrs = cfg["qrs"]
    n = 0
    next_at = time.perf_counter()
    while time.perf_counter() < stop_at:
        if interval:
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        n += 1
        body = json.dumps(
            {
                "qr_text": qrs[(hash(threading.get_ident()) + n) % len(qrs)],
                "checkpoint": cfg["checkpoint"],
                "lane": cfg["lane"],
                "device": cfg["device"],
                "direction": "entry" if n % 2 else "exit",
                "device_time": datetime.now(tz=UTC).isoformat(),
                "nonce": uuid.uuid4().hex,
            }
        )
        t0 = time.perf_counter()
        conn.request("POST", "/api/screening/scan", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - t0) * 1000)
        if response.status != 200:
            errors.append(response.status)


def load(port: int, cfg: dict, seconds: float, clients: int, rate: float, q: mp.Queue) -> None:
    """The load generator process: closed loop (rate 0) or paced to ``rate`` per second."""
    stop_at = time.perf_counter() + seconds
    per_client = (clients / rate) if rate else 0.0
    latencies: list[float] = []
    errors: list[int] = []
    threads = [
        threading.Thread(target=_client, args=(port, cfg, stop_at, per_client, latencies, errors))
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put((latencies, errors))


def run_load(
    port: int, cfg: dict, seconds: float, clients: int, rate: float
) -> tuple[list[float], list[int]]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=load, args=(port, cfg, seconds, clients, rate, q))
    proc.start()
    result = q.get()
    proc.join()
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=PACED_RATE)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        cfg = prepare(home)
        print(f"machine: {describe()}")
        print(f"prepared {len(cfg['qrs'])} credentials in {time.perf_counter() - t0:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "ANBAO_HOME": str(home)}
        server = subprocess.Popen(
            [sys.executable, "-m", "anbao.cli", "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/accounts/login/")
                    break
                except OSError:
                    time.sleep(0.2)
            run_load(port, cfg, 3, 2, 0)  # warm up both workers
            lat, err = run_load(port, cfg, opts.seconds, opts.clients, 0)
            rate = len(lat) / opts.seconds
            lat99 = statistics.quantiles(lat, n=100)[98]
            print(
                f"closed loop, {opts.clients} clients, {opts.seconds:.0f} s: {rate:,.0f} scans/s, "
                f"p50 {statistics.median(lat):.1f} ms, p99 {lat99:.1f} ms, errors {len(err)}"
            )
            paced, perr = run_load(port, cfg, opts.seconds, opts.clients, opts.rate)
            p99 = statistics.quantiles(paced, n=100)[98]
            print(
                f"paced at {opts.rate:.0f}/s: achieved {len(paced) / opts.seconds:,.0f}/s, "
                f"p50 {statistics.median(paced):.1f} ms, p99 {p99:.1f} ms, errors {len(perr)}"
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    ok_rate, ok_p99 = rate >= TARGET_RATE, p99 <= TARGET_P99_MS
    print(
        f"targets: >= {TARGET_RATE}/s sustained: {'met' if ok_rate else 'MISSED'}; "
        f"p99 <= {TARGET_P99_MS:.0f} ms at {opts.rate:.0f}/s: {'met' if ok_p99 else 'MISSED'}"
    )
    ok = ok_rate and ok_p99
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
