"""Online scan decisions over HTTP: sustained rate and latency (targets: ≥ 1,500/s; p99 ≤ 50 ms
at 300/s). The server is `anbao serve` (uvicorn, 2 workers) on a temporary SQLite instance with
the demo's 2,758 credentials; the load generator is a separate process of keep-alive clients.

The server runs simulated time on an event day, so the credentials are valid and entries and
exits meet anti-passback. Server and load generator share the machine's cores; the server's
CPU per scan is measured too, which gives its rate on 2 cores of its own.

Run: .venv/bin/python bench/bench_scan.py [--seconds 20] [--clients 16] [--procs 2]
     [--rate 300] [--database postgres://postgres@127.0.0.1:5432/anbao_bench]
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
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _instance import demo_instance, fresh_postgres
from _machine import describe

TARGET_RATE, TARGET_P99_MS, PACED_RATE = 1500, 50.0, 300


def prepare(home: Path) -> dict[str, object]:
    """Make a demo instance with credentials and one enrolled lane scanner."""
    demo_instance(home)
    from anbao.accounts import services as accounts
    from anbao.accreditation.models import IssuedCredential
    from anbao.demo import setup
    from anbao.sites.models import Device

    device = Device.objects.select_related(
        "lane__checkpoint__to_zone", "lane__checkpoint__venue"
    ).get(external_id="GS-wicc-n-l1")
    token = accounts.redeem_enrolment(
        device_id=device.external_id, code=accounts.start_enrolment(device_id=device.external_id)
    )
    cp = device.lane.checkpoint
    zone, venue = cp.to_zone.number, cp.venue.code
    # The holders who may pass this checkpoint: the queue at a lane is mostly them.
    qrs = [
        qr
        for qr, claims in IssuedCredential.objects.filter(
            revoked_at__isnull=True, purpose="badge"
        ).values_list("qr_text", "claims")
        if zone in claims["zones"] and venue in claims["venues"]
    ]
    return {
        "clock_start": (setup.simulation_start() + timedelta(hours=2)).isoformat(),
        "token": token,
        "device": device.external_id,
        "checkpoint": device.lane.checkpoint.code,
        "lane": device.lane.code,
        "qrs": qrs,
    }


def _client(
    port: int,
    cfg: dict,
    stop_at: float,
    interval: float,
    out: list[float],
    errors: list[int],
    statuses: dict[str, int],
    part: int,
    parts: int,
) -> None:
    conn = HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {cfg['token']}", "Content-Type": "application/json"}
    # Each client owns its own holders and walks them in and out, as a lane's queue does.
    qrs = cfg["qrs"][part::parts]
    inside = [False] * len(qrs)
    n = 0
    next_at = time.perf_counter()
    while time.perf_counter() < stop_at:
        if interval:
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        n += 1
        i = n % len(qrs)
        body = json.dumps(
            {
                "qr_text": qrs[i],
                "checkpoint": cfg["checkpoint"],
                "lane": cfg["lane"],
                "device": cfg["device"],
                "direction": "exit" if inside[i] else "entry",
                "device_time": datetime.now(tz=UTC).isoformat(),
                "nonce": uuid.uuid4().hex,
            }
        )
        t0 = time.perf_counter()
        conn.request("POST", "/api/screening/scan", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        out.append((time.perf_counter() - t0) * 1000)
        if response.status != 200:
            errors.append(response.status)
        else:
            answer = json.loads(data)
            key = answer["status"] if answer["status"] == "allow" else answer["reason"]
            statuses[key] = statuses.get(key, 0) + 1
            if answer["status"] != "deny":
                inside[i] = answer["direction"] == "entry"
            elif answer["reason"] in ("already_inside", "not_inside"):
                inside[i] = answer["reason"] == "already_inside"  # an earlier run left them


def load(
    port: int,
    cfg: dict,
    seconds: float,
    clients: int,
    rate: float,
    q: mp.Queue,
    base: int,
    parts: int,
) -> None:
    """The load generator process: closed loop (rate 0) or paced to ``rate`` per second."""
    stop_at = time.perf_counter() + seconds
    per_client = (clients / rate) if rate else 0.0
    latencies: list[float] = []
    errors: list[int] = []
    statuses: dict[str, int] = {}
    args = (port, cfg, stop_at, per_client, latencies, errors, statuses)
    threads = [
        threading.Thread(target=_client, args=(*args, base + k, parts)) for k in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put((latencies, errors, statuses))


def run_load(
    port: int, cfg: dict, seconds: float, clients: int, rate: float, procs: int = 1
) -> tuple[list[float], list[int], dict[str, int], float]:
    """Run ``procs`` load processes; return latencies, errors, statuses and their CPU seconds."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    each = max(1, clients // procs)
    workers = [
        ctx.Process(
            target=load, args=(port, cfg, seconds, each, rate / procs, q, k * each, each * procs)
        )
        for k in range(procs)
    ]
    before = _children_cpu()
    for w in workers:
        w.start()
    lat: list[float] = []
    err: list[int] = []
    statuses: dict[str, int] = {}
    for _ in workers:
        a, b, c = q.get()
        lat += a
        err += b
        for k, v in c.items():
            statuses[k] = statuses.get(k, 0) + v
    for w in workers:
        w.join()
    return lat, err, statuses, _children_cpu() - before


WRK = "/usr/bin/wrk"
WRK_SCRIPT = r"""
-- Generated by bench_scan.py: each wrk thread walks its own holders in, then out, as a lane does.
local qrs = { %(qrs)s }
local token, checkpoint, lane, device = %(args)s
local threads, tid = {}, 0
function setup(thread)
  thread:set("id", tid)
  tid = tid + 1
  table.insert(threads, thread)
end
function init(args)
  local n = tonumber(args[1])
  mine = {}
  for i = id + 1, #qrs, n do mine[#mine + 1] = qrs[i] end
  k, pass, counter, statuses = 0, 0, 0, {}
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  k = k + 1
  if k > #mine then k, pass = 1, pass + 1 end
  counter = counter + 1
  local body = string.format(
    '{"qr_text":"%%s","checkpoint":"%%s","lane":"%%s","device":"%%s","direction":"%%s",' ..
    '"device_time":"%%s","nonce":"w%%d-%%d-%%d"}',
    mine[k], checkpoint, lane, device, (pass %% 2 == 0) and "entry" or "exit",
    os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ"), id, counter, math.random(1000000000))
  return wrk.format(nil, "/api/screening/scan", nil, body)
end
function response(status, headers, body)
  local key = "http" .. status
  if status == 200 then
    key = body:match('"status":"(%%a+)"')
    if key ~= "allow" then key = body:match('"reason":"([%%w_]+)"') or key end
  end
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for key, v in pairs(t:get("statuses")) do
      io.write(string.format("STATUS %%s %%d\n", key, v))
    end
  end
  io.write(string.format("LAT %%f %%f %%d\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests))
end
"""


def run_wrk(
    port: int, cfg: dict, seconds: float, clients: int, threads: int, folder: Path
) -> tuple[int, float, float, dict[str, int], float]:
    """Closed loop with wrk (C, one process): requests, p50, p99 (ms), statuses, its CPU s."""
    script = folder / "scan.lua"
    qrs = ", ".join(f"[[{q}]]" for q in cfg["qrs"])
    args = ", ".join(f'"{cfg[k]}"' for k in ("token", "checkpoint", "lane", "device"))
    script.write_text(WRK_SCRIPT % {"qrs": qrs, "args": args})
    before = _children_cpu()
    done = subprocess.run(
        [
            WRK,
            "-t",
            str(threads),
            "-c",
            str(clients),
            "-d",
            f"{seconds:.0f}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(threads),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    statuses: dict[str, int] = {}
    requests, p50, p99 = 0, 0.0, 0.0
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["STATUS"]:
            statuses[parts[1]] = statuses.get(parts[1], 0) + int(parts[2])
        elif parts[:1] == ["LAT"]:
            p50, p99, requests = float(parts[1]), float(parts[2]), int(parts[3])
    return requests, p50, p99, statuses, _children_cpu() - before


def _children_cpu() -> float:
    """CPU seconds used by this process's finished children (the load generators)."""
    t = os.times()
    return t.children_user + t.children_system


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its live descendants (the server's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo += [c for c, parent in parents.items() if parent == p]
    return total


def _named_cpu(name: str) -> float:
    """CPU seconds used so far by the live processes called ``name`` (PostgreSQL's backends)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, rest = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[1] == name:
            fields = rest.split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _idle_cpu() -> float:
    """CPU seconds the whole machine has spent idle so far (all cores)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def _commits(url: str) -> int:
    """Transactions committed so far in the benchmark's PostgreSQL database."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


class DiskProbe:
    """Time a small write and fdatasync every 20 ms beside the database, as a commit waits.

    A commit waits for its log to reach the disk. On a shared virtual disk that wait is
    usually a fraction of a millisecond but sometimes hundreds, and every commit of every
    worker waits behind it: the probe shows whether a run's slow answers line up with it.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"disk-probe-{os.getpid()}.bin"
        self.waits: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start timing (a new series of waits)."""
        self.waits = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> str:
        """Stop timing and describe the waits."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        w = sorted(self.waits)
        if not w:
            return "  disk: no fdatasync timed"
        slow = [x for x in w if x > 20.0]
        return (
            f"  disk (fdatasync beside the database, every 20 ms): p50 {w[len(w) // 2]:.2f} ms, "
            f"p99 {w[int(len(w) * 0.99)]:.2f} ms, max {w[-1]:.0f} ms; {len(slow)} over 20 ms, "
            f"{sum(slow) / 1000:.2f} s in all"
        )

    def _run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            n = 0
            while not self._stop.wait(0.02):
                os.pwrite(fd, os.urandom(8192), (n % 64) * 8192)
                t0 = time.perf_counter()
                os.fdatasync(fd)
                self.waits.append((time.perf_counter() - t0) * 1000)
                n += 1
        finally:
            os.close(fd)
            self.path.unlink(missing_ok=True)


def _database_directory(url: str, fallback: Path) -> Path:
    """The directory holding PostgreSQL's data when this process may write beside it."""
    if not url:
        return fallback
    import psycopg

    try:
        with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as c:
            row = c.execute("SHOW data_directory").fetchone()
    except psycopg.Error:
        return fallback
    parent = Path(str(row[0])).parent if row else fallback
    return parent if os.access(parent, os.W_OK) else fallback


def _report(label: str, lat: list[float], err: list[int], st: dict[str, int], secs: float) -> str:
    p99 = statistics.quantiles(lat, n=100)[98]
    mix = ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
    return (
        f"{label}: {len(lat) / secs:,.0f} scans/s, p50 {statistics.median(lat):.1f} ms, "
        f"p99 {p99:.1f} ms, errors {len(err)} ({mix})"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--rate", type=float, default=PACED_RATE)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="closed-loop load generator: wrk (C, far cheaper) when installed, else Python",
    )
    parser.add_argument(
        "--database", default="", help="postgres://... to run on PostgreSQL (recreated)"
    )
    opts = parser.parse_args()
    if opts.database:
        fresh_postgres(opts.database)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        t0 = time.perf_counter()
        cfg = prepare(home)
        print(f"machine: {describe()}")
        print(f"database: {'PostgreSQL' if opts.database else 'SQLite (WAL)'}")
        print(f"prepared {len(cfg['qrs'])} credentials in {time.perf_counter() - t0:.1f} s")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "ANBAO_HOME": str(home)}
        command = [sys.executable, "-m", "anbao.cli", "serve", "--port", str(port)]
        command += ["--workers", str(opts.workers), "--clock-start", str(cfg["clock_start"])]
        server = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(100):
                try:
                    HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/accounts/login/")
                    break
                except OSError:
                    time.sleep(0.2)
            run_load(port, cfg, 3, 4, 0, 2)  # warm up both workers
            probe = DiskProbe(_database_directory(opts.database, Path(tmp)))
            probe.start()
            use_wrk = opts.loadgen == "wrk" or (opts.loadgen == "auto" and Path(WRK).exists())
            cpu0 = _tree_cpu(server.pid)
            pg0, idle0 = _named_cpu("postgres"), _idle_cpu()
            commits0 = _commits(opts.database) if opts.database else 0
            if use_wrk:
                n, p50, p99w, st, load_cpu = run_wrk(
                    port, cfg, opts.seconds, opts.clients, opts.procs, Path(tmp)
                )
                server_cpu = _tree_cpu(server.pid) - cpu0
                rate = n / opts.seconds
                mix = ", ".join(f"{k} {v}" for k, v in sorted(st.items()))
                print(
                    f"closed loop, wrk, {opts.clients} connections: {rate:,.0f} scans/s, "
                    f"p50 {p50:.1f} ms, p99 {p99w:.1f} ms ({mix})"
                )
                scans = n
            else:
                lat, err, st, load_cpu = run_load(
                    port, cfg, opts.seconds, opts.clients, 0, opts.procs
                )
                server_cpu = _tree_cpu(server.pid) - cpu0
                rate = len(lat) / opts.seconds
                print(_report(f"closed loop, {opts.clients} clients", lat, err, st, opts.seconds))
                scans = len(lat)
            per_scan = server_cpu / max(scans, 1) * 1000
            idle = _idle_cpu() - idle0
            if opts.database:
                pg_cpu = _named_cpu("postgres") - pg0
                commits = _commits(opts.database) - commits0
                print(
                    f"  PostgreSQL: {pg_cpu:.1f} s CPU ({pg_cpu / max(scans, 1) * 1000:.2f} ms "
                    f"per scan), {commits:,} commits ({commits / max(scans, 1):.2f} per scan); "
                    f"machine idle {idle:.1f} s"
                )
            else:
                print(f"  machine idle {idle:.1f} s")
            print(
                f"  CPU: server {server_cpu:.1f} s ({per_scan:.2f} ms per scan), load generator "
                f"{load_cpu:.1f} s, of {opts.seconds * (os.cpu_count() or 1):.0f} s on "
                f"{os.cpu_count()} cores; server alone on 2 cores would do "
                f"{2000 / per_scan:,.0f} scans/s"
            )
            print(probe.stop())
            probe.start()
            paced, perr, pst, _ = run_load(
                port, cfg, opts.seconds, opts.clients, opts.rate, opts.procs
            )
            p99 = statistics.quantiles(paced, n=100)[98]
            print(_report(f"paced at {opts.rate:.0f}/s", paced, perr, pst, opts.seconds))
            print(probe.stop())
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
