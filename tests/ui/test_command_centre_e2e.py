"""The command centre end to end, against real parts running as separate processes.

A private Mosquitto (our generated password and ACL files), the MQTT ingestion worker
(`anbao ingest run`) and the web server (`anbao serve`) each run as a process of their own on
one SQLite file, the two Django processes relaying their bus events through Redis as in
production. A pulse fence controller publishes a cut over MQTT with its own credentials; the
test proves that:

* the alarm the worker commits reaches the commander's big screen, served by the other
  process, within 2 s of the publish (worker -> Redis relay -> broadcaster -> SSE -> page);
* a desk operator acknowledges it on the alarm console and opens an incident from it;
* the incident refuses to resolve while mandatory SOP steps are open;
* the nearest free reserve unit is dispatched, reports en route and on scene from its phone
  link, and its state reaches the big screen (the forces tile, the map, the incident row);
* once the mandatory steps are done the incident resolves and leaves the big screen.

Screenshots of the big screen go to ``$ANBAO_ARTIFACTS`` (or the test's tmp folder).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from anbao.alarms.mosquitto import DeviceAcl, acl_file, broker_config, hash_password, password_file
from anbao.alarms.payloads import topic_for
from anbao.sites.demo import DEMO_SITE_PATH
from tests.alarms.test_mosquitto import MOSQUITTO, Broker, free_port
from tests.conftest import require_service
from tests.ui.test_browser import PASSWORD, _login

pytestmark = [pytest.mark.browser, pytest.mark.mqtt, pytest.mark.slow]

EVENT = "wic2026"
# The pulse fence along Xizha's north side; its controller is a device of the demo site.
DEVICE = "FC-xizha-n"
DEVICE_TYPE = "fence_controller"
DEVICE_SECRET = "fence-secret"
INGEST_SECRET = "ingest-secret"
FENCE = "xizha-n"
SECTION = "s2"  # 214 m to 428 m along the fence
POSITION_M = 300.0  # about (120.4730, 30.7462)
REDIS_URL = os.environ.get("ANBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS = (urlsplit(REDIS_URL).hostname or "127.0.0.1", urlsplit(REDIS_URL).port or 6379)
CHIEF = "e2e-chief"  # watches the big screen
DESK = "e2e-desk"  # works the alarm console and the incident
# Reserve units south of the cut, nearest first (the first is about 110 m away).
UNITS = [
    ("foot-e2e-1", "机动E2E1组", "Foot E2E 1", "foot", 120.4732, 30.7452),
    ("dog-e2e-2", "警犬E2E2组", "Canine E2E 2", "canine", 120.4760, 30.7440),
    ("car-e2e-3", "车巡E2E3组", "Vehicle E2E 3", "vehicle", 120.4790, 30.7430),
]
NEAREST = UNITS[0]
NOT_AVAILABLE_COLOUR = "#9b59b6"  # screen.js paints a reserve unit that is not available so

# Keeps every delta the big screen receives, to tell which reserve state arrived.
RECORD_DELTAS = """
(() => {
  const Original = window.EventSource;
  if (!Original) { return; }
  window.__e2eDeltas = [];
  function Recording(url, options) {
    const source = new Original(url, options);
    source.addEventListener("delta", (ev) => {
      try { window.__e2eDeltas.push(JSON.parse(ev.data)); } catch (e) { /* not ours */ }
    });
    return source;
  }
  Recording.prototype = Original.prototype;
  window.EventSource = Recording;
})();
"""

RESERVE_STATE_ARRIVED = """([code, state]) => (window.__e2eDeltas || []).some((d) =>
  ((d.replace || {}).reserves || []).some((r) => r.code === code && r.state === state))"""

RESERVES_ON_MAP = """() => {
  const chart = echarts.getInstanceByDom(document.getElementById("bs-map"));
  const series = chart.getOption().series.find((s) => s.id === "reserves");
  return series.data.map((d) => ({name: d.name, colour: (d.itemStyle || {}).color}));
}"""


def _redis_up() -> bool:
    """Whether something answers on the local Redis port."""
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


def _redis_subscribers(channel: str) -> int:
    """Return how many clients listen on a Redis pub/sub channel (a raw RESP exchange)."""
    with socket.create_connection(REDIS, timeout=2) as sock:
        args = [b"PUBSUB", b"NUMSUB", channel.encode()]
        request = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
        sock.sendall(request)
        reply = b""
        # The answer is *2, $length, the channel, then :count.
        while (match := re.search(rb"\r\n:(\d+)\r\n", reply)) is None:
            chunk = sock.recv(4096)
            if not chunk:
                return 0
            reply += chunk
    return int(match[1])


def _env(home: Path) -> dict[str, str]:
    """Return the environment of every anbao process: its own home, no test settings."""
    env = {**os.environ, "ANBAO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("ANBAO_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("ANBAO_CLOCK", None)
    env["ANBAO_MQTT_PASSWORD"] = INGEST_SECRET
    env["ANBAO_REDIS_URL"] = REDIS_URL
    return env


def _anbao(args: list[str], env: dict[str, str]) -> str:
    """Run one `anbao` command to its end and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "anbao.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (args[:2], done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


SETUP = """
from django.conf import settings

from anbao.accounts import services as accounts
from anbao.core import relay
from anbao.core.cli_support import cli_context
from anbao.incidents.sop import ensure_types
from anbao.sites.models import Event
from anbao.workforce.models import ReserveUnit

event = Event.objects.get(code={event!r})
with cli_context():
    for name in {users!r}:
        accounts.create_user(username=name, role="commander", password={password!r}, language="en")
    ensure_types(event)
    for code, name, name_en, kind, lon, lat in {units!r}:
        ReserveUnit.objects.create(
            event=event, code=code, name=name, name_en=name_en, kind=kind, lon=lon, lat=lat
        )
print("CHANNEL=" + relay.channel_name(settings.SECRET_KEY))
"""


def _prepare_instance(home: Path) -> str:
    """Migrate, load the demo site, add the users, SOPs and units; return the relay channel."""
    env = _env(home)
    _anbao(["migrate", "--verbosity", "0"], env)
    _anbao(["site", "load", str(DEMO_SITE_PATH)], env)
    script = SETUP.format(event=EVENT, users=[CHIEF, DESK], password=PASSWORD, units=UNITS)
    out = _anbao(["shell", "-c", script], env)
    match = re.search(r"CHANNEL=(\S+)", out)
    assert match, out
    return match[1]


def _start_broker(folder: Path) -> Broker:
    """Start a private Mosquitto that admits the ingestion worker and the fence controller."""
    (folder / "data").mkdir(parents=True)
    (folder / "passwd").write_text(
        password_file(
            [("ingest", hash_password(INGEST_SECRET)), (DEVICE, hash_password(DEVICE_SECRET))]
        )
    )
    (folder / "acl").write_text(
        acl_file([DeviceAcl(DEVICE, DEVICE_TYPE, DEVICE)], event=EVENT, ingest_user="ingest")
    )
    port = free_port()
    run_as = "root" if os.geteuid() == 0 else None
    (folder / "mosquitto.conf").write_text(
        broker_config(port, folder / "passwd", folder / "acl", folder / "data", run_as=run_as)
    )
    broker = Broker(folder, port)
    broker.start()
    return broker


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a long-running `anbao` process writing to ``log``."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "anbao.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process we started: SIGTERM, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _tail(path: Path, n: int = 3000) -> str:
    """Return the end of a log file (or a note that it is missing)."""
    if not path.exists():
        return f"({path.name} missing)"
    return path.read_text(errors="replace")[-n:]


def _wait_until(check: Any, what: str, processes: list[Any], timeout: float = 60) -> None:
    """Poll ``check`` until it is true; fail early if one of ``processes`` has died."""
    deadline = time.monotonic() + timeout
    while not check():
        for p in processes:
            assert p.poll() is None, f"a process exited ({p.args[3:5]}) while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def _http_ok(url: str) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - localhost only
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read rows straight from the instance's SQLite file (not through Django)."""
    con = sqlite3.connect(db, timeout=10)
    try:
        return list(con.execute(sql, params).fetchall())
    finally:
        con.close()


def _artifacts(tmp_path: Path) -> Path:
    """Return the folder screenshots go to."""
    folder = Path(os.environ.get("ANBAO_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _device(port: int) -> mqtt.Client:
    """Connect the fence controller with its own credentials; return once the broker admits it."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=DEVICE,
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(DEVICE, DEVICE_SECRET)
    accepted = threading.Event()
    codes: list[Any] = []

    def on_connect(_c: object, _u: object, _flags: object, reason: Any, _p: object) -> None:
        codes.append(reason)
        if not reason.is_failure:
            accepted.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    if not accepted.wait(10):
        client.loop_stop()
        raise AssertionError(f"the broker did not admit {DEVICE}: {codes}")
    return client


def _fence_cut() -> bytes:
    """Return a fence controller's cut report for the test section."""
    body = {
        "id": f"cut-{int(time.time() * 1000)}",
        "ts": datetime.now(UTC).isoformat(),
        "fence": FENCE,
        "section": SECTION,
        "position_m": POSITION_M,
        "event": "cut",
        "voltage_kv": 0.0,
    }
    return json.dumps(body).encode()


def _click_and_wait(page: Any, locator: Any) -> None:
    """Submit a form by its button and wait for the page it leads to."""
    with page.expect_navigation():
        locator.click()


def _flow(
    browser: Any, base: str, broker_port: int, db: Path, shots: Path, report: dict[str, Any]
) -> None:
    """Drive the command centre from the alarm to the resolved incident."""
    errors: list[str] = []
    # a. The commander's big screen, painted and live.
    screen_ctx = browser.new_context(locale="en-GB", viewport={"width": 1920, "height": 1080})
    screen_ctx.add_init_script(RECORD_DELTAS)
    screen = screen_ctx.new_page()
    screen.on("pageerror", lambda exc: errors.append(f"screen: {exc}"))
    _login(screen, base, CHIEF, PASSWORD)
    screen.goto(f"{base}/dashboard/screen/")
    screen.wait_for_selector("body[data-ready='1']", timeout=15_000)
    first_paint = screen.evaluate(
        "() => performance.getEntriesByName('first-paint', 'measure')[0].duration"
    )
    assert first_paint > 0
    report["first_paint_ms"] = round(first_paint)
    screen.wait_for_function(
        "() => document.getElementById('live-state').className.includes('live')"
    )
    assert screen.locator("#alarms li.alarm").count() == 0
    forces = screen.locator('[data-force="reserves_available"]')
    total = len(UNITS)
    assert forces.inner_text() == f"{total}/{total}"

    # b. The fence controller reports a cut over MQTT; the worker's alarm reaches the screen.
    device = _device(broker_port)
    try:
        topic = topic_for(EVENT, DEVICE_TYPE, DEVICE, "fence")
        published = time.monotonic()
        info = device.publish(topic, _fence_cut(), qos=1)
        first = screen.locator("#alarms li.alarm").first
        first.wait_for(timeout=10_000)
        seen = time.monotonic()
        info.wait_for_publish(timeout=5)
        assert info.is_published()
    finally:
        device.loop_stop()
        device.disconnect()
    report["publish_to_screen_s"] = round(seen - published, 3)
    assert seen - published < 2.0, f"the alarm took {seen - published:.2f} s to reach the screen"
    alarm_id = int(first.get_attribute("data-alarm") or 0)
    stored = _rows(db, "SELECT source_type, source_key FROM alarms_alarm WHERE id = ?", (alarm_id,))
    assert stored == [("fence_cut", f"section:{FENCE}/{SECTION}")], stored
    alarm_row = screen.locator(f'#alarms li[data-alarm="{alarm_id}"]')
    assert alarm_row.locator("button[data-ack]").count() == 1
    screen.wait_for_timeout(300)  # let the map draw the flashing section once
    screen.screenshot(path=str(shots / "command-centre-1-alarm.png"))

    # c. The desk acknowledges the alarm on the console and opens an incident from it.
    desk_ctx = browser.new_context(locale="en-GB", viewport={"width": 1440, "height": 900})
    desk = desk_ctx.new_page()
    desk.on("pageerror", lambda exc: errors.append(f"desk: {exc}"))
    _login(desk, base, DESK, PASSWORD)
    desk.goto(f"{base}/alarms/")
    row = desk.locator(f'#alarm-table tr[data-id="{alarm_id}"]')
    assert row.get_attribute("data-workflow") == "new"
    ack = row.locator('form[action$="/acknowledge/"]')
    # The fence is still cut (the source is active): only a forced acknowledge, with a note.
    ack.locator("input[name=note]").fill("fence cut confirmed on camera; team on the way")
    _click_and_wait(desk, ack.locator("button[type=submit]"))
    row = desk.locator(f'#alarm-table tr[data-id="{alarm_id}"]')
    assert row.get_attribute("data-workflow") == "acknowledged"
    # The big screen hears it: the alarm no longer offers an acknowledge button.
    alarm_row.locator("button[data-ack]").wait_for(state="detached", timeout=5_000)
    opener = row.locator(f'form[data-open-incident="{alarm_id}"]')
    assert opener.locator("select[name=type]").input_value() == "intrusion"
    _click_and_wait(desk, opener.locator("button[type=submit]"))
    match = re.search(r"/incidents/(\d+)/$", desk.url)
    assert match, desk.url
    incident_id = int(match[1])
    state = desk.locator("#incident-state")
    assert state.get_attribute("data-state") == "open"
    screen.locator(f'#incidents li[data-incident="{incident_id}"]').wait_for(timeout=5_000)

    # d. Resolving is refused while mandatory SOP steps are open.
    mandatory_open = desk.locator("#sop-list li.step-pending:has(.badge)")
    assert mandatory_open.count() > 0
    _click_and_wait(desk, desk.locator("#resolve-button"))
    refusal = desk.locator("ul.messages li", has_text="incidents.sop_incomplete")
    assert refusal.count() == 1, desk.locator("ul.messages").all_inner_texts()
    assert desk.locator("#incident-state").get_attribute("data-state") != "resolved"

    # e. Dispatch the nearest free unit; it reports from its phone; the screen follows.
    proposals = desk.locator("#proposal-table tr")
    assert proposals.first.locator("td.mono").inner_text() == NEAREST[0]
    _click_and_wait(desk, proposals.first.locator("button[type=submit]"))
    dispatched = desk.locator(f'#dispatch-table tr[data-unit="{NEAREST[0]}"]')
    assert dispatched.get_attribute("data-state") == "dispatched"
    link = dispatched.locator('a[href*="/incidents/unit/"]').get_attribute("href")
    assert link, "no phone link for the dispatched unit"
    screen.wait_for_function(RESERVE_STATE_ARRIVED, arg=[NEAREST[0], "dispatched"], timeout=5_000)
    screen.wait_for_function(
        "([sel, text]) => document.querySelector(sel).textContent === text",
        arg=['[data-force="reserves_available"]', f"{total - 1}/{total}"],
        timeout=5_000,
    )

    phone_ctx = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    phone = phone_ctx.new_page()
    phone.on("pageerror", lambda exc: errors.append(f"phone: {exc}"))
    phone.goto(link)
    _click_and_wait(phone, phone.locator("#unit-en_route"))
    _click_and_wait(phone, phone.locator("#unit-on_scene"))
    assert phone.locator("#unit-error").count() == 0
    screen.wait_for_function(RESERVE_STATE_ARRIVED, arg=[NEAREST[0], "on_scene"], timeout=5_000)
    incident_row = screen.locator(f'#incidents li[data-incident="{incident_id}"]')
    screen.wait_for_function(
        "([sel, state]) => { const el = document.querySelector(sel + ' [data-state]');"
        " return !!el && el.getAttribute('data-state') === state; }",
        arg=[f'#incidents li[data-incident="{incident_id}"]', "responding"],
        timeout=5_000,
    )
    # The respond timer is met: it shows a tick, no longer a countdown.
    assert incident_row.locator('[data-timer="respond"]').get_attribute("class") == "timer met"
    assert incident_row.count() == 1
    assert forces.inner_text() == f"{total - 1}/{total}"
    on_map = {d["name"]: d["colour"] for d in screen.evaluate(RESERVES_ON_MAP)}
    assert on_map[NEAREST[2]] == NOT_AVAILABLE_COLOUR, on_map
    assert all(on_map[u[2]] != NOT_AVAILABLE_COLOUR for u in UNITS[1:]), on_map
    screen.screenshot(path=str(shots / "command-centre-2-unit-on-scene.png"))
    desk.reload()
    assert (
        desk.locator(f'#dispatch-table tr[data-unit="{NEAREST[0]}"]').get_attribute("data-state")
        == "on_scene"
    )
    assert desk.locator("#incident-state").get_attribute("data-state") == "responding"

    # d (continued). Do the mandatory steps; now resolving works.
    done_buttons = desk.locator(
        '#sop-list li.step-pending:has(.badge) form[action$="/step_done/"] button'
    )
    for _ in range(20):
        if done_buttons.count() == 0:
            break
        _click_and_wait(desk, done_buttons.first)
    assert mandatory_open.count() == 0
    assert desk.locator("#sop-list li.step-pending").count() > 0  # optional steps may stay open
    _click_and_wait(desk, desk.locator("#resolve-button"))
    assert desk.locator("#incident-state").get_attribute("data-state") == "resolved"
    assert desk.locator("ul.messages li", has_text="incidents.").count() == 0
    # The resolved incident leaves the big screen's open incidents.
    incident_row.wait_for(state="detached", timeout=5_000)
    assert screen.locator("#incident-count").inner_text() == "0"
    screen.screenshot(path=str(shots / "command-centre-3-end.png"))
    assert errors == []
    phone_ctx.close()
    desk_ctx.close()
    screen_ctx.close()


def test_fence_cut_to_resolved_incident_across_processes(browser: Any, tmp_path: Path) -> None:
    """A fence cut over MQTT reaches the big screen live and is worked to a resolved incident."""
    require_service(Path(MOSQUITTO).exists(), "the mosquitto broker is not installed")
    require_service(_redis_up(), f"no Redis at {REDIS_URL} (the bus relay needs it)")
    home = tmp_path / "home"
    channel = _prepare_instance(home)
    env = _env(home)
    db = home / "anbao.sqlite3"
    shots = _artifacts(tmp_path)
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    broker: Broker | None = None
    broker_process: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    report: dict[str, Any] = {}
    failure: BaseException | None = None
    started = time.monotonic()
    try:
        broker = _start_broker(tmp_path / "broker")
        broker_process = broker.process
        web_port = free_port()
        base = f"http://127.0.0.1:{web_port}"
        server = _spawn(["serve", "--host", "127.0.0.1", "--port", str(web_port)], env, server_log)
        worker = _spawn(
            [
                "ingest",
                "run",
                "--event",
                EVENT,
                "--port",
                str(broker.port),
                "--username",
                "ingest",
                "--window-ms",
                "20",
            ],
            env,
            worker_log,
        )
        running = [server, worker]
        _wait_until(lambda: _http_ok(f"{base}/accounts/login/"), "web server", running)
        _wait_until(
            lambda: "subscriptions confirmed by the broker" in _tail(worker_log, 100_000),
            "worker subscription",
            running,
        )
        # Both processes' relays listen on the instance's channel before anything happens.
        _wait_until(lambda: _redis_subscribers(channel) >= 2, "relay subscriptions", running)
        _flow(browser, base, broker.port, db, shots, report)
    except Exception as exc:
        failure = exc
    finally:
        _stop(worker)
        _stop(server)
        if broker is not None:
            broker.stop()
        broker_err = ""
        if broker_process is not None and broker_process.stderr is not None:
            broker_err = broker_process.stderr.read().decode(errors="replace")[-2000:]
            broker_process.stderr.close()
    report["total_s"] = round(time.monotonic() - started, 1)
    if failure is not None:
        raise AssertionError(
            f"{type(failure).__name__}: {failure}\n"
            f"--- report ---\n{report}\n"
            f"--- server log ---\n{_tail(server_log)}\n"
            f"--- worker log ---\n{_tail(worker_log)}\n"
            f"--- broker ---\n{broker_err}"
        ) from failure
    print(f"command centre e2e: {report}")  # shown with -s
