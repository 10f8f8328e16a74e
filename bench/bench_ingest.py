"""Sensor ingestion through Mosquitto: sustained rate and alarm latency (targets: ≥ 20,000
messages/s on 2 cores; alarm p99 ≤ 500 ms from device publish to the committed alarm's
publication).

A fresh instance (temporary ANBAO_HOME, `anbao migrate`, `anbao site load` of the Wuzhen demo
site, a heartbeat fleet of rate x --heartbeat-period devices registered as running), a private
Mosquitto on a free localhost port with generated password, ACL and config files, the worker
`anbao ingest run` as its own process, and publisher processes sharing one `devicesim.mix`
stream (radar scans of 200 drones at 4 Hz, Remote ID and RF at 1 Hz a drone, perimeter
reports, alarms, weather, and heartbeats for the rest) at a paced rate with QoS 1.
Publisher 0 also sends door `forced` probes on distinct doors of DC-wicc-01 and records when
it published each; the bench listens to `anbao/<event>/out/alarms/+`, where the worker
announces every alarm after its batch committed, and matches the probes' AlarmRaised.

Two phases: the paced run (offered, broker-acknowledged and processed rates, backlog, alarm
latency, CPU of every process from /proc), then the closed-loop maximum: the worker stops, a
backlog is queued on its persistent session, and the worker drains it alone.

Run: .venv/bin/python bench/bench_ingest.py [--seconds 30] [--rate 20000] [--publishers 2]
     [--backlog 60000] [--profile] [--database postgres://...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

TARGET_RATE, TARGET_P99_MS = 20_000, 500.0
INGEST_USER, INGEST_PASSWORD = "ingest", "bench-ingest-secret"
PROBE_DEVICE = "DC-wicc-01"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    """Return a free localhost TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of a process (all its threads) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _env(home: Path, database: str | None) -> dict[str, str]:
    env = {**os.environ, "ANBAO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["ANBAO_MQTT_PASSWORD"] = INGEST_PASSWORD
    if database:
        env["ANBAO_DATABASE_URL"] = database
    else:
        env.pop("ANBAO_DATABASE_URL", None)
    return env


def _anbao(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "anbao.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"anbao {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def prepare_instance(home: Path, database: str | None, fleet: int) -> dict[str, str]:
    """Migrate a fresh instance, load the demo site and register the status fleet."""
    env = _env(home, database)
    if database:
        _anbao(["dbshell", "--", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], env)
    _anbao(["migrate", "--verbosity", "0"], env)
    from anbao.sites.demo import DEMO_SITE_PATH

    _anbao(["site", "load", str(DEMO_SITE_PATH)], env)
    if fleet:
        _anbao(["shell", "-c", FLEET_SCRIPT.format(count=fleet)], env)
    return env


# The fleet is registered, and every device set, as running (online, just heard from), as at
# an event in progress: the benchmark is about the steady stream, not devices coming online
# (the site's 73 devices doing so in the first batch held the first alarms for a second).
FLEET_SCRIPT = """
from anbao.alarms.devicesim import fleet
from anbao.core import clock
from anbao.sites.models import Device, Event
event = Event.objects.get()
now = clock.now()
Device.objects.bulk_create(
    [Device(event=event, external_id=d.device_id, name=d.device_id, kind=d.device_type,
            online=True, last_seen=now) for d in fleet({count})],
    batch_size=2000,
)
Device.objects.filter(event=event).update(online=True, last_seen=now)
"""


def broker_files(folder: Path, port: int, publishers: int) -> Path:
    """Write password, ACL and config files: one user per device plus the bench publishers."""
    from anbao.alarms import mosquitto
    from anbao.alarms.devicesim import FLEET_TYPES, load_site
    from anbao.alarms.payloads import ALLOWED_KINDS, topic_for
    from anbao.sites.demo import DEMO_SITE_PATH

    site = load_site(DEMO_SITE_PATH)
    devices = [d for d in site.devices if d.device_type in ALLOWED_KINDS]
    entries = [(INGEST_USER, mosquitto.hash_password(INGEST_PASSWORD))]
    entries += [(d.device_id, mosquitto.hash_password(f"pw-{d.device_id}")) for d in devices]
    pubs = [*range(publishers), 100]
    entries += [(f"bench-pub-{i}", mosquitto.hash_password("bench-pub")) for i in pubs]
    acls = [mosquitto.DeviceAcl(d.device_id, d.device_type, d.device_id) for d in devices]
    acl = mosquitto.acl_file(acls, event=site.event, ingest_user=INGEST_USER)
    # A publisher process speaks for many devices over one connection: it may write every
    # device topic, nothing else, so the broker's ACL work per message is a device's.
    topics = [
        topic_for(site.event, d.device_type, d.device_id, kind)
        for d in devices
        for kind in sorted(ALLOWED_KINDS[d.device_type])
    ]
    # The status fleet's heartbeats: one pattern per fleet device type.
    topics += [f"anbao/{site.event}/{t}/+/heartbeat" for t in FLEET_TYPES]
    for i in pubs:
        acl += f"\nuser bench-pub-{i}\n" + "".join(f"topic write {t}\n" for t in topics)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(mosquitto.password_file(entries))
    (folder / "acl").write_text(acl)
    conf = folder / "mosquitto.conf"
    run_as = "root" if os.geteuid() == 0 else None
    conf.write_text(
        mosquitto.broker_config(
            port, folder / "passwd", folder / "acl", folder / "data", run_as=run_as
        )
    )
    return conf


def start_broker(conf: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start Mosquitto and wait until it listens."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mosquitto exited: {log.read_text()[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    raise SystemExit("mosquitto did not start listening")


def start_worker(
    env: dict[str, str], event: str, port: int, stats: Path, log: Path, extra: list[str]
) -> subprocess.Popen[bytes]:
    """Start `anbao ingest run` writing its counters to ``stats``."""
    stats.unlink(missing_ok=True)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "anbao.cli",
            "ingest",
            "run",
            "--event",
            event,
            "--port",
            str(port),
            "--username",
            INGEST_USER,
            "--stats-file",
            str(stats),
            *extra,
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


DRONE_TYPES = "radar,rf_receiver,remote_id_receiver"
OTHER_TYPES = (
    "leaky_cable_processor,fence_controller,weather_station,camera,panic_button,"
    "door_controller,gate_scanner,queue_sensor,other"
)


class Workers:
    """One worker, or (``--split``) one for drone sensors and one for everything else."""

    def __init__(self, procs: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
        self.procs = procs

    @classmethod
    def start(
        cls, args: argparse.Namespace, env: dict[str, str], event: str, port: int, work: Path
    ) -> Workers:
        """Start the worker processes of this run."""
        groups: list[tuple[str, list[str]]] = [("", [])]
        if args.split:
            groups = [
                ("drones", ["--device-types", DRONE_TYPES]),
                ("rest", ["--device-types", OTHER_TYPES]),
            ]
        procs = []
        for name, extra in groups:
            tag = f"-{name}" if name else ""
            client = ["--client-id", f"anbao-ingest{tag}"]
            stats = work / f"worker{tag}-stats.json"
            log = work / f"worker{tag}.log"
            procs.append(
                (
                    start_worker(
                        env, event, port, stats, log, [*client, *extra, *args.worker_args]
                    ),
                    stats,
                )
            )
        return cls(procs)

    @property
    def pid(self) -> int:
        """The first worker's pid (the one profiled)."""
        return int(self.procs[0][0].pid)

    def stats(self) -> dict[str, Any]:
        """The workers' counters added up (connects: the fewest of any worker)."""
        parts = [read_stats(path) for _, path in self.procs]
        out: dict[str, Any] = {"outcomes": {}}
        for key in ("messages", "accepted", "dead", "duplicates", "batches", "queued"):
            out[key] = sum(int(p.get(key, 0)) for p in parts)
        out["connects"] = min(int(p.get("connects", 0)) for p in parts)
        for p in parts:
            for k, v in p.get("outcomes", {}).items():
                out["outcomes"][k] = out["outcomes"].get(k, 0) + v
        return out

    def cpu(self) -> float:
        """CPU seconds of all workers."""
        return sum(cpu_seconds(int(proc.pid)) for proc, _ in self.procs)

    def poll(self) -> int | None:
        """An exit code when any worker has exited."""
        for proc, _ in self.procs:
            if proc.poll() is not None:
                return proc.returncode
        return None

    def stop(self) -> None:
        """Stop every worker."""
        for proc, _ in self.procs:
            stop(proc)


def read_stats(path: Path) -> dict[str, Any]:
    """Read the worker's counters (empty until its first write)."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM a child and wait; SIGKILL when it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- publishers ----------------------------------------------------------------------------


def _probe(event: str, n: int, at: datetime) -> tuple[str, bytes, str]:
    from anbao.alarms.payloads import topic_for

    door = f"bench{n:06d}"
    body = {"id": f"probe-{n:06d}", "ts": at.isoformat(), "door": door, "event": "forced"}
    topic = topic_for(event, "door_controller", PROBE_DEVICE, "door")
    return topic, json.dumps(body).encode(), door


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return len(raw).to_bytes(2, "big") + raw


# Packet ids 1..STREAM_MIDS go to the pre-built stream, the rest to the probes made on the go.
STREAM_MIDS = 60_000


def publish_packet(topic: str, payload: bytes, mid: int) -> bytes:
    """Return a QoS 1 PUBLISH packet."""
    body = _mqtt_string(topic) + mid.to_bytes(2, "big") + payload
    return b"\x32" + _remaining_length(len(body)) + body


class RawPublisher:
    """A minimal MQTT 3.1.1 QoS 1 publisher: packets written in bulk, PUBACKs counted.

    A paho publisher costs about 200 µs of CPU per message, which on two cores would starve
    the worker being measured; devices are other machines. This one costs a few µs.
    """

    def __init__(self, port: int, client_id: str, username: str, password: str) -> None:
        """Connect (clean session, no keep-alive) and start counting acknowledgements."""
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = (
            _mqtt_string("MQTT")
            + bytes([4, 0xC2, 0, 0])
            + _mqtt_string(client_id)
            + _mqtt_string(username)
            + _mqtt_string(password)
        )
        self.sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
        connack = self.sock.recv(4)
        if len(connack) != 4 or connack[0] != 0x20 or connack[3] != 0:
            raise RuntimeError(f"the broker refused the publisher: {connack!r}")
        self.sent = 0
        self.acked = 0
        self._mid = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        rest = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            # Devices are other machines: read PUBACKs in bulk rather than per packet, so
            # the load generator takes little of the two cores it shares with the worker.
            time.sleep(0.002)
            rest += chunk
            whole = len(rest) - len(rest) % 4
            # The broker sends this client nothing but 4-byte PUBACKs.
            self.acked += whole // 4
            rest = rest[whole:]

    def packet(self, topic: str, payload: bytes) -> bytes:
        """Return one QoS 1 PUBLISH packet with the next packet id of the probes' range."""
        self._mid = self._mid % (65535 - STREAM_MIDS) + 1
        return publish_packet(topic, payload, STREAM_MIDS + self._mid)

    def send(self, packets: list[bytes]) -> None:
        """Write packets in one system call."""
        self.sock.sendall(b"".join(packets))
        self.sent += len(packets)

    def close(self) -> None:
        """Disconnect."""
        try:
            self.sock.sendall(b"\xe0\x00")
        finally:
            self.sock.close()


def publisher(
    index: int,
    port: int,
    rate: float,
    count: int,
    start_at: float,
    probes_per_s: float,
    out: Any,
    ready: Any,
    share: tuple[int, int, int, int] = (0, 1, 1000, 0),
) -> None:
    """Publish ``count`` mix messages with QoS 1 at ``rate``/s (0: as fast as the broker takes).

    ``share`` is (part, parts, seed, fleet): this publisher sends every ``parts``-th message
    of one mix stream, so the publishers together send one site's traffic.
    """
    from anbao.alarms.devicesim import fleet, load_site, mix
    from anbao.sites.demo import DEMO_SITE_PATH

    part, parts, seed, fleet_size = share
    site = load_site(DEMO_SITE_PATH)
    # Generated and framed ahead, so the generator's CPU is not in the measurement.
    stream: list[bytes] = [
        publish_packet(m.topic, m.payload, k % STREAM_MIDS + 1)
        for k, m in enumerate(
            mix(
                site,
                start=datetime.fromtimestamp(start_at, UTC),
                seed=seed,
                rate_per_s=(rate or 20_000.0) * parts,
                count=count * parts,
                devices=fleet(fleet_size),
                part=part,
                parts=parts,
            )
        )
    ]
    probe_every = int(rate / probes_per_s) if probes_per_s > 0 and rate > 0 else 0
    client = RawPublisher(
        port, f"bench-pub-{index}-{os.getpid()}", f"bench-pub-{index}", "bench-pub"
    )
    probes: dict[str, float] = {}
    # Every publisher starts together: one radar's scans, split between them, stay in order.
    ready.wait(timeout=600)
    time.sleep(max(0.0, start_at - time.time()))
    first = time.time()
    event = site.event
    i, n = 0, len(stream)
    while i < n:
        now = time.time()
        if rate > 0:
            due = min(n, int((now - first) * rate) + 1)
            if due <= i:
                # Sent every few milliseconds in one write: a load generator, not a device,
                # and the cores it takes are the worker's and the broker's.
                time.sleep(0.005)
                continue
        else:
            due = min(n, i + 500)
            while client.sent - client.acked > 20_000:  # the broker's pace, not a flood
                time.sleep(0.001)
        packets = []
        if probe_every:
            for j in range(i, due):
                if j % probe_every == 0:
                    ptopic, pbody, door = _probe(
                        event, len(probes) + index * 1_000_000, datetime.now(UTC)
                    )
                    probes[door] = time.time()
                    packets.append(client.packet(ptopic, pbody))
                packets.append(stream[j])
        else:
            packets = stream[i:due]
        client.send(packets)
        i = due
    last = time.time()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and client.acked < client.sent:
        time.sleep(0.01)
    acked_at = time.time()
    client.close()
    out.put(
        {
            "index": index,
            "published": client.sent,
            "acked": client.acked,
            "first": first,
            "last": last,
            "acked_at": acked_at,
            "probes": probes,
        }
    )


class AlarmListener:
    """Subscribe to the worker's alarm announcements and note when each probe's arrived."""

    def __init__(self, event: str, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.seen: dict[str, float] = {}
        self.raised = 0
        self._prefix = f"door:{PROBE_DEVICE}/"
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"bench-listener-{os.getpid()}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(INGEST_USER, INGEST_PASSWORD)
        self.client.on_message = self._on_message
        topic = f"anbao/{event}/out/alarms/+"
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        now = time.time()
        body = json.loads(msg.payload)
        if body.get("type") != "AlarmRaised":
            return
        self.raised += 1
        key = str(body.get("source_key", ""))
        if key.startswith(self._prefix):
            self.seen.setdefault(key[len(self._prefix) :], now)

    def close(self) -> None:
        """Disconnect."""
        self.client.loop_stop()
        self.client.disconnect()


# --- profile -------------------------------------------------------------------------------


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """Sample the worker with py-spy (when installed) for ``seconds``."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    return subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "50",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frames(stack: str) -> Iterator[str]:
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        where = where.rstrip(")")
        path, _, _line = where.rpartition(":")
        short = "/".join(Path(path).parts[-2:]) if path else ""
        yield f"{name} ({short})"


_BOILERPLATE = frozenset(
    {
        "<module> (anbao/cli.py)",
        "main (anbao/cli.py)",
        "_run_module_as_main (<frozen runpy>)",
        "_run_code (<frozen runpy>)",
        "execute_from_command_line (management/__init__.py)",
        "ManagementUtility.execute (management/__init__.py)",
        "BaseCommand.run_from_argv (management/base.py)",
        "BaseCommand.execute (management/base.py)",
        "Command.handle (commands/ingest.py)",
        "Thread._bootstrap (threading.py)",
        "Thread._bootstrap_inner (threading.py)",
        "Thread.run (threading.py)",
        "Client._thread_main (mqtt/client.py)",
        "Client.loop_forever (mqtt/client.py)",
    }
)


def summarise_profile(raw: Path, top: int = 25) -> list[tuple[str, float, float]]:
    """Return (function, inclusive %, self %) of the busiest functions in a py-spy raw file."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = list(_frames(stack))
        if not frames:
            continue
        # Idle waits are not work: the batch loop's queue wait and paho's select.
        leaf = frames[-1]
        if leaf.startswith(("wait ", "select ", "_loop ", "get ")) and "threading" in leaf:
            continue
        total += count
        for f in set(frames) - _BOILERPLATE:
            inclusive[f] += count
        own[leaf] += count
    if total == 0:
        return []
    return [(f, 100.0 * n / total, 100.0 * own[f] / total) for f, n in inclusive.most_common(top)]


# --- phases --------------------------------------------------------------------------------


def paced_phase(
    args: argparse.Namespace,
    env: dict[str, str],
    event: str,
    port: int,
    work: Path,
    broker: subprocess.Popen[bytes],
) -> dict[str, Any]:
    """Offer ``args.rate``/s for ``args.seconds``; measure rates, latency and CPU."""
    workers = Workers.start(args, env, event, port, work)
    while not workers.stats().get("connects"):
        if workers.poll() is not None:
            raise SystemExit("a worker exited; see its log in the work folder (--keep)")
        time.sleep(0.1)
    listener = AlarmListener(event, port)
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    per = args.rate / args.publishers
    count = int(args.rate * args.seconds / args.publishers)
    start_at = time.time() + 3.0 + count / 30_000
    ready = ctx.Barrier(args.publishers + 1)
    procs = [
        ctx.Process(
            target=publisher,
            args=(
                i,
                port,
                per,
                count,
                start_at,
                args.probes if i == 0 else 0.0,
                out,
                ready,
                (i, args.publishers, 1000, args.fleet),
            ),
        )
        for i in range(args.publishers)
    ]
    for p in procs:
        p.start()
    ready.wait(timeout=600)
    start_at = max(start_at, time.time())
    time.sleep(max(0.0, start_at - time.time()))
    warm = min(5.0, args.seconds / 5)
    time.sleep(warm)
    profiler = None
    if args.profile:
        profiler = start_profile(workers.pid, args.seconds - 2 * warm, work / "profile.txt")
    s0, t0 = workers.stats(), time.time()
    cpu0 = {
        "worker": workers.cpu(),
        "mosquitto": cpu_seconds(broker.pid),
        "publishers": sum(cpu_seconds(p.pid or 0) for p in procs),
    }
    time.sleep(max(0.0, start_at + args.seconds - warm - time.time()))
    s1, t1 = workers.stats(), time.time()
    cpu1 = {
        "worker": workers.cpu(),
        "mosquitto": cpu_seconds(broker.pid),
        "publishers": sum(cpu_seconds(p.pid or 0) for p in procs),
    }
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    offered = sum(r["published"] for r in results)
    acked = sum(r["acked"] for r in results)
    # Drain: the worker finishes what the broker holds for it.
    drain_start = time.time()
    last, last_change = -1, time.time()
    while time.time() - last_change < 10 and time.time() - drain_start < 180:
        n = workers.stats().get("messages", 0)
        if n >= acked:
            break
        if n != last:
            last, last_change = n, time.time()
        time.sleep(0.2)
    drained_at = time.time()
    time.sleep(1.5)  # the last announcements
    if profiler is not None:
        profiler.wait(timeout=60)
    end = workers.stats()
    listener.close()
    workers.stop()
    probes: dict[str, float] = {}
    for r in results:
        probes.update(r["probes"])
    latencies = sorted(
        (listener.seen[door] - t) * 1000.0 for door, t in probes.items() if door in listener.seen
    )
    # Every probe's publication time (from the start) and latency, for a look at a kept run.
    (work / "latency.csv").write_text(
        "".join(
            f"{t - start_at:.3f},{(listener.seen[door] - t) * 1000.0:.1f}\n"
            for door, t in sorted(probes.items(), key=lambda kv: kv[1])
            if door in listener.seen
        )
    )
    # The same probes, only those published in the measured window (the worker warmed up).
    in_window = sorted(
        (listener.seen[door] - t) * 1000.0
        for door, t in probes.items()
        if door in listener.seen and t0 <= t <= t1
    )
    span = max(r["last"] for r in results) - min(r["first"] for r in results)
    window = t1 - t0
    processed = s1.get("messages", 0) - s0.get("messages", 0)
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    return {
        "offered": offered,
        "offered_rate": offered / span if span > 0 else 0.0,
        "acked": acked,
        "acked_rate": acked / (max(r["acked_at"] for r in results) - start_at),
        "processed_total": end.get("messages", 0),
        "processed_rate": processed / window,
        "backlog_start": s0.get("queued", 0),
        "lag_start": offered * (t0 - start_at) / args.seconds - s0.get("messages", 0),
        "lag_end": offered * (t1 - start_at) / args.seconds - s1.get("messages", 0),
        "drain_s": drained_at - start_at - args.seconds,
        "window_s": window,
        "cpu": cpu,
        "cpu_per_msg_us": 1e6 * cpu["worker"] / processed if processed else float("nan"),
        "probes": len(probes),
        "probes_seen": len(latencies),
        "latency_ms": latencies,
        "window_latency_ms": in_window,
        "outcomes": end.get("outcomes", {}),
        "dead": end.get("dead", 0),
        "duplicates": end.get("duplicates", 0),
        "batches": s1.get("batches", 0) - s0.get("batches", 0),
    }


def closed_loop_phase(
    args: argparse.Namespace,
    env: dict[str, str],
    event: str,
    port: int,
    work: Path,
    broker: subprocess.Popen[bytes],
) -> dict[str, Any]:
    """Queue a backlog on the stopped worker's session, then time the worker draining it."""
    # The worker's persistent session exists from the paced phase; it is stopped now.
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    # One publisher with its own seed: fresh message ids, and radar plots in time order (two
    # unpaced publishers would interleave one radar's scans out of order).
    count = args.backlog
    start_at = time.time() + 2.0 + count / 30_000
    ready = ctx.Barrier(2)
    share = (0, 1, 1100, args.fleet)
    procs = [
        ctx.Process(
            target=publisher, args=(100, port, 0.0, count, start_at, 0.0, out, ready, share)
        )
    ]
    for p in procs:
        p.start()
    ready.wait(timeout=600)
    results = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    queued = sum(r["acked"] for r in results)
    span = max(r["acked_at"] for r in results) - min(r["first"] for r in results)
    time.sleep(1.0)
    workers = Workers.start(args, env, event, port, work)
    cpu_start = 0.0
    started = None
    deadline = time.monotonic() + 300
    samples: list[tuple[float, int]] = []
    while time.monotonic() < deadline:
        s = workers.stats()
        n = int(s.get("messages", 0))
        if started is None and n > 0:
            started, cpu_start = time.time(), workers.cpu()
            samples.append((started, n))
        elif started is not None:
            samples.append((time.time(), n))
        if n >= queued or workers.poll() is not None:
            break
        time.sleep(0.1)
    done = time.time()
    cpu = workers.cpu() - cpu_start
    mosq = cpu_seconds(broker.pid)
    final = workers.stats()
    workers.stop()
    n_end = int(final.get("messages", 0))
    first_n = samples[0][1] if samples else 0
    elapsed = done - (started or done)
    return {
        "queued": queued,
        "broker_accept_rate": queued / span if span > 0 else 0.0,
        "processed": n_end,
        "drain_rate": (n_end - first_n) / elapsed if elapsed > 0 else 0.0,
        "cpu_per_msg_us": 1e6 * cpu / max(1, n_end - first_n),
        "worker_cores": cpu / elapsed if elapsed > 0 else 0.0,
        "mosquitto_cpu_total_s": mosq,
        "dead": final.get("dead", 0),
        "outcomes": final.get("outcomes", {}),
    }


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    """Run both phases and print a Markdown table; non-zero when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=float(TARGET_RATE))
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--probes", type=float, default=20.0, help="door probes per second")
    parser.add_argument("--backlog", type=int, default=60_000, help="0: no closed-loop phase")
    parser.add_argument("--profile", action="store_true", help="py-spy the worker")
    parser.add_argument(
        "--heartbeat-period",
        type=float,
        default=5.0,
        help="seconds between a fleet device's heartbeats: the fleet is rate x period devices",
    )
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in the temp home)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--worker-arg", dest="worker_args", action="append", default=[], help="passed on"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="two workers: drone sensors in one, every other device type in the other",
    )
    args = parser.parse_args()
    if args.seconds < 5 or args.rate <= 0 or args.publishers < 1:
        parser.error("need --seconds ≥ 5, --rate > 0 and --publishers ≥ 1")
    work = Path(tempfile.mkdtemp(prefix="anbao-bench-ingest-"))
    os.environ["ANBAO_HOME"] = str(work / "home")
    args.fleet = int(args.rate * args.heartbeat_period) if args.heartbeat_period > 0 else 0
    env = prepare_instance(work / "home", args.database, args.fleet)
    from anbao.alarms.devicesim import load_site
    from anbao.sites.demo import DEMO_SITE_PATH

    event = load_site(DEMO_SITE_PATH).event
    port = free_port()
    conf = broker_files(work / "broker", port, args.publishers)
    broker = start_broker(conf, port, work / "mosquitto.log")
    try:
        paced = paced_phase(args, env, event, port, work, broker)
        closed = (
            closed_loop_phase(args, env, event, port, work, broker) if args.backlog > 0 else None
        )
    finally:
        stop(broker)
    lat = paced["latency_ms"]
    p50, p95, p99 = _pct(lat, 0.50), _pct(lat, 0.95), _pct(lat, 0.99)
    cpu, window = paced["cpu"], paced["window_s"]
    print(f"\nMachine: {describe()}; database: {'PostgreSQL' if args.database else 'SQLite'}")
    print(
        f"Paced: {args.rate:,.0f}/s offered by {args.publishers} publishers for "
        f"{args.seconds:.0f} s; measured over the middle {window:.1f} s\n"
    )
    print("| what | value |")
    print("|---|---|")
    print(
        f"| offered (published, QoS 1) | {paced['offered']:,} msgs, "
        f"{paced['offered_rate']:,.0f}/s |"
    )
    print(f"| acknowledged by the broker | {paced['acked']:,}, {paced['acked_rate']:,.0f}/s |")
    print(f"| processed by the worker (window) | {paced['processed_rate']:,.0f}/s |")
    print(f"| processed in all (after drain) | {paced['processed_total']:,} |")
    print(
        f"| worker behind the offer, window start / end | {paced['lag_start']:,.0f} / "
        f"{paced['lag_end']:,.0f} msgs |"
    )
    print(f"| drain after the publishers stopped | {max(0.0, paced['drain_s']):.1f} s |")
    print(f"| batches in the window | {paced['batches']:,} |")
    print(f"| worker CPU per message | {paced['cpu_per_msg_us']:.0f} µs |")
    print(
        f"| CPU cores used: worker / mosquitto / publishers | {cpu['worker'] / window:.2f} / "
        f"{cpu['mosquitto'] / window:.2f} / {cpu['publishers'] / window:.2f} |"
    )
    print(
        f"| alarm latency publish → AlarmRaised on MQTT: p50 / p95 / p99 / max | "
        f"{p50:.0f} / {p95:.0f} / {p99:.0f} / {max(lat, default=float('nan')):.0f} ms |"
    )
    print(f"| probes seen / sent | {paced['probes_seen']} / {paced['probes']} |")
    win = paced["window_latency_ms"]
    print(
        f"| alarm latency, probes sent in the measured window ({len(win)}): p50 / p99 / max | "
        f"{_pct(win, 0.5):.0f} / {_pct(win, 0.99):.0f} / {max(win, default=float('nan')):.0f} ms |"
    )
    print(f"| dead letters / duplicates | {paced['dead']} / {paced['duplicates']} |")
    if closed:
        print(
            f"| closed loop: broker accepted {closed['queued']:,} queued | "
            f"{closed['broker_accept_rate']:,.0f}/s |"
        )
        print(
            f"| closed loop: worker drain rate (alone) | {closed['drain_rate']:,.0f}/s, "
            f"{closed['cpu_per_msg_us']:.0f} µs CPU/msg, {closed['worker_cores']:.2f} cores |"
        )
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(paced["outcomes"].items()))
    print(f"\nOutcomes: {outcomes}")
    if closed:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(closed["outcomes"].items()))
        print(f"Closed loop outcomes: {outcomes}; dead letters {closed['dead']:,}")
    if args.profile and (work / "profile.txt").exists():
        print("\nWorker profile (py-spy, busy samples): inclusive % / self %\n")
        print("| function | incl % | self % |")
        print("|---|---|---|")
        for name, inc, own in summarise_profile(work / "profile.txt"):
            print(f"| `{name}` | {inc:.1f} | {own:.1f} |")
    if args.keep:
        print(f"\nkept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    ok = paced["processed_rate"] >= 0.97 * TARGET_RATE and p99 <= TARGET_P99_MS
    print(
        f"\nTargets (≥ {TARGET_RATE:,}/s, p99 ≤ {TARGET_P99_MS:.0f} ms): "
        f"{'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
