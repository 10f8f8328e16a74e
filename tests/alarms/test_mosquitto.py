"""Mosquitto password, ACL and configuration files, checked against the real broker."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from paho.mqtt.client import Client, ConnectFlags, MQTTMessage, MQTTv311
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from anbao.alarms.mosquitto import (
    DeviceAcl,
    acl_file,
    broker_config,
    check_username,
    hash_password,
    password_file,
    verify_password,
)
from anbao.alarms.payloads import topic_for
from tests.conftest import require_service

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
EVENT = "wic2026"
B64 = r"[A-Za-z0-9+/]+={0,2}"


# --- passwords ---------------------------------------------------------------------------


def test_hash_has_mosquittos_layout() -> None:
    stored = hash_password("s3cret")
    match = re.fullmatch(rf"\$7\$101\$({B64})\$({B64})", stored)
    assert match is not None
    assert len(base64.b64decode(match[1])) == 12
    assert len(base64.b64decode(match[2])) == 64


def test_hash_is_pbkdf2_sha512_of_the_salt() -> None:
    salt = os.urandom(12)
    stored = hash_password("pässword", salt=salt, iterations=5)
    _, seven, iterations, salt_b64, digest_b64 = stored.split("$")
    assert (seven, iterations, base64.b64decode(salt_b64)) == ("7", "5", salt)
    expected = hashlib.pbkdf2_hmac("sha512", "pässword".encode(), salt, 5)
    assert base64.b64decode(digest_b64) == expected


def test_random_salts_differ_but_both_verify() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second
    assert verify_password("same", first)
    assert verify_password("same", second)
    assert not verify_password("Same", first)


def test_verify_accepts_legacy_sha512() -> None:
    salt = os.urandom(12)
    digest = hashlib.sha512(b"old" + salt).digest()
    stored = f"$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_password("old", stored)
    assert not verify_password("new", stored)


@pytest.mark.parametrize(
    "stored",
    ["", "plain", "$7$101$abc", "$7$x$YWJj$YWJj", "$7$0$YWJj$YWJj", "$7$101$***$YWJj", "$5$a$b"],
)
def test_verify_is_false_for_malformed_hashes(stored: str) -> None:
    assert verify_password("anything", stored) is False


def test_hash_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")
    with pytest.raises(ValueError, match="iterations"):
        hash_password("x", iterations=0)
    with pytest.raises(ValueError, match="salt"):
        hash_password("x", salt=b"")


def test_mosquitto_passwd_agrees(tmp_path: Path) -> None:
    require_service(Path(MOSQUITTO_PASSWD).exists(), "mosquitto_passwd is not installed")
    path = tmp_path / "passwd"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-c", "-b", str(path), "dev", "horse battery"],
        check=True,
        capture_output=True,
    )
    username, stored = path.read_text().strip().split(":", 1)
    assert username == "dev"
    assert verify_password("horse battery", stored)
    assert not verify_password("horse batterY", stored)
    _, _, iterations, salt_b64, _ = stored.split("$")
    ours = hash_password(
        "horse battery", salt=base64.b64decode(salt_b64), iterations=int(iterations)
    )
    assert ours == stored


# --- files -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "a b", "a\tb", "a:b", "a#", "a+b", "a\nb", "x" * 129])
def test_bad_usernames_are_rejected_everywhere(name: str) -> None:
    with pytest.raises(ValueError, match="username"):
        check_username(name)
    with pytest.raises(ValueError, match="username"):
        password_file([(name, hash_password("x"))])
    with pytest.raises(ValueError, match="username"):
        acl_file([DeviceAcl(name, "radar", "RADAR-01")], event=EVENT, ingest_user="ingest")
    with pytest.raises(ValueError, match="username"):
        acl_file([], event=EVENT, ingest_user=name)


def test_password_file_lines() -> None:
    a, b = hash_password("a"), hash_password("b")
    text = password_file([("dev-a", a), ("dev-b", b)])
    assert text.splitlines() == [f"dev-a:{a}", f"dev-b:{b}"]
    with pytest.raises(ValueError, match="twice"):
        password_file([("dev-a", a), ("dev-a", b)])
    with pytest.raises(ValueError, match="hash"):
        password_file([("dev-a", "plaintext")])


def acl_blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.removeprefix("user "), [])
        elif line.startswith("topic ") and current is not None:
            current.append(line)
    return blocks


def test_acl_gives_each_device_only_its_own_topics() -> None:
    devices = [
        DeviceAcl("radar-user", "radar", "RADAR-01"),
        DeviceAcl("lcp", "leaky_cable_processor", "LCP-canal-n"),
        DeviceAcl("gate", "gate_scanner", "GS-1"),
        DeviceAcl("quiet-radar", "radar", "RADAR-02", kinds=frozenset({"heartbeat"})),
    ]
    blocks = acl_blocks(acl_file(devices, event=EVENT, ingest_user="ingest"))
    assert blocks["ingest"] == [f"topic read anbao/{EVENT}/#", f"topic write anbao/{EVENT}/out/#"]
    assert blocks["radar-user"] == [
        f"topic write {topic_for(EVENT, 'radar', 'RADAR-01', 'heartbeat')}",
        f"topic write {topic_for(EVENT, 'radar', 'RADAR-01', 'plots')}",
    ]
    assert blocks["lcp"] == [
        f"topic write anbao/{EVENT}/leaky_cable_processor/LCP-canal-n/heartbeat",
        f"topic write anbao/{EVENT}/leaky_cable_processor/LCP-canal-n/intrusion",
    ]
    assert blocks["gate"] == [f"topic write anbao/{EVENT}/gate_scanner/GS-1/heartbeat"]
    assert blocks["quiet-radar"] == [f"topic write anbao/{EVENT}/radar/RADAR-02/heartbeat"]
    device_lines = [line for user, lines in blocks.items() if user != "ingest" for line in lines]
    assert all(line.startswith("topic write ") for line in device_lines)
    assert not any("#" in line or "+" in line for line in device_lines)


@pytest.mark.parametrize(
    ("device", "match"),
    [
        (DeviceAcl("r", "radar", "RADAR-01", kinds=frozenset({"intrusion"})), "may not send"),
        (DeviceAcl("r", "toaster", "T1"), "unknown device type"),
        (DeviceAcl("r", "radar", "RADAR/01"), "device id"),
        (DeviceAcl("ingest", "radar", "RADAR-01"), "twice"),
    ],
)
def test_acl_rejects_bad_devices(device: DeviceAcl, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        acl_file([device], event=EVENT, ingest_user="ingest")


def test_acl_rejects_a_bad_event() -> None:
    with pytest.raises(ValueError, match="event code"):
        acl_file([], event="wic/#", ingest_user="ingest")


def test_broker_config_settings(tmp_path: Path) -> None:
    text = broker_config(18883, tmp_path / "pw", tmp_path / "acl", tmp_path / "data")
    lines = text.splitlines()
    assert "listener 18883 127.0.0.1" in lines
    assert "allow_anonymous false" in lines
    assert f"password_file {tmp_path / 'pw'}" in lines
    assert f"acl_file {tmp_path / 'acl'}" in lines
    assert "persistence true" in lines
    assert f"persistence_location {tmp_path / 'data'}/" in lines
    assert not any(line.startswith("user ") for line in lines)
    assert "user mosquitto" in broker_config(1, "p", "a", "d", run_as="mosquitto").splitlines()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"password_file": "a\nlistener 1"}, "one line"),
        ({"persistence_dir": ""}, "one line"),
        ({"bind_address": "0.0.0.0 1884"}, "bind_address"),
    ],
)
def test_broker_config_rejects_bad_input(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "port": 1883,
        "password_file": "pw",
        "acl_file": "acl",
        "persistence_dir": "data",
    }
    bind = kwargs.pop("bind_address", "127.0.0.1")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        broker_config(**args, bind_address=bind)  # type: ignore[arg-type]


# --- the real broker ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """A private Mosquitto on a free localhost port, configured from our generated files."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    def start(self) -> None:
        conf = self.folder / "mosquitto.conf"
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    self.process.stderr.read().decode() if self.process.stderr else ""
                )
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a clean stop saves the persistence db
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


PASSWORDS = {"ingest": "ingest-pw", "radar-user": "radar-pw", "lcp-user": "lcp-pw"}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    require_service(Path(MOSQUITTO).exists(), "the mosquitto broker is not installed")
    folder = tmp_path / "broker"
    (folder / "data").mkdir(parents=True)
    (folder / "passwd").write_text(
        password_file((user, hash_password(pw)) for user, pw in PASSWORDS.items())
    )
    devices = [
        DeviceAcl("radar-user", "radar", "RADAR-01"),
        DeviceAcl("lcp-user", "leaky_cable_processor", "LCP-canal-n"),
    ]
    (folder / "acl").write_text(acl_file(devices, event=EVENT, ingest_user="ingest"))
    port = free_port()
    # Started as root, Mosquitto would drop to its own user and lose the temp files.
    run_as = "root" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    (folder / "mosquitto.conf").write_text(
        broker_config(port, folder / "passwd", folder / "acl", folder / "data", run_as=run_as)
    )
    server = Broker(folder, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Session:
    """A paho client with thread-safe records of its connection and received messages."""

    def __init__(
        self, port: int, username: str, password: str, *, client_id: str = "", clean: bool = True
    ) -> None:
        self.connected = threading.Event()
        self.reason: ReasonCode | None = None
        self.received: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self._lock = threading.Lock()
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean,
            protocol=MQTTv311,
        )
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), "no CONNACK"

    def _on_connect(
        self,
        client: Client,
        userdata: object,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.reason = reason
        self.connected.set()

    def _on_subscribe(
        self,
        client: Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self.subscribed.set()

    def _on_message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        with self._lock:
            self.received.append((message.topic, message.payload))

    def messages(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return list(self.received)

    def wait_for(self, payload: bytes, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p == payload for _t, p in self.messages()):
                return True
            time.sleep(0.02)
        return False

    def subscribe(self, pattern: str) -> None:
        self.subscribed.clear()
        self.client.subscribe(pattern, qos=1)
        assert self.subscribed.wait(10)

    def publish(self, topic: str, payload: bytes) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.mqtt
def test_devices_publish_only_on_their_own_topics(broker: Broker) -> None:
    ingest = Session(broker.port, "ingest", PASSWORDS["ingest"])
    radar = Session(broker.port, "radar-user", PASSWORDS["radar-user"])
    try:
        assert ingest.reason is not None
        assert not ingest.reason.is_failure
        assert radar.reason is not None
        assert not radar.reason.is_failure
        ingest.subscribe(f"anbao/{EVENT}/+/+/+")
        own = topic_for(EVENT, "radar", "RADAR-01", "plots")
        radar.publish(own, b"own-plots")
        assert ingest.wait_for(b"own-plots")
        # Another device's topic, and a kind a radar may not send, are both dropped;
        # QoS 1 keeps one client's messages in order, so the marker sent after them
        # proves they would have arrived by now.
        radar.publish(
            topic_for(EVENT, "leaky_cable_processor", "LCP-canal-n", "intrusion"), b"spoof"
        )
        radar.publish(f"anbao/{EVENT}/radar/RADAR-01/intrusion", b"wrong-kind")
        radar.publish(f"anbao/{EVENT}/radar/RADAR-02/plots", b"other-radar")
        radar.publish(topic_for(EVENT, "radar", "RADAR-01", "heartbeat"), b"marker")
        assert ingest.wait_for(b"marker")
        payloads = [p for _t, p in ingest.messages()]
        assert payloads == [b"own-plots", b"marker"]
    finally:
        radar.close()
        ingest.close()


@pytest.mark.mqtt
def test_wrong_password_and_unknown_user_are_refused(broker: Broker) -> None:
    for username, password in (("radar-user", "guess"), ("nobody", "radar-pw"), ("ingest", "")):
        session = Session(broker.port, username, password)
        try:
            assert session.reason is not None
            assert session.reason.is_failure
        finally:
            session.close()


@pytest.mark.mqtt
def test_devices_cannot_read_and_ingest_writes_only_out(broker: Broker) -> None:
    ingest = Session(broker.port, "ingest", PASSWORDS["ingest"])
    lcp = Session(broker.port, "lcp-user", PASSWORDS["lcp-user"])
    try:
        lcp.subscribe(f"anbao/{EVENT}/#")
        ingest.subscribe(f"anbao/{EVENT}/#")
        ingest.publish(f"anbao/{EVENT}/radar/RADAR-01/plots", b"forged-by-ingest")
        ingest.publish(f"anbao/{EVENT}/out/alarms", b"out-message")
        assert ingest.wait_for(b"out-message")
        assert b"forged-by-ingest" not in [p for _t, p in ingest.messages()]
        lcp.publish(topic_for(EVENT, "leaky_cable_processor", "LCP-canal-n", "intrusion"), b"cut")
        assert ingest.wait_for(b"cut")
        time.sleep(0.3)
        assert lcp.messages() == []
    finally:
        lcp.close()
        ingest.close()


@pytest.mark.mqtt
def test_queued_qos1_messages_survive_a_broker_restart(broker: Broker) -> None:
    worker = Session(
        broker.port, "ingest", PASSWORDS["ingest"], client_id="anbao-ingest", clean=False
    )
    worker.subscribe(f"anbao/{EVENT}/+/+/+")
    worker.close()
    radar = Session(broker.port, "radar-user", PASSWORDS["radar-user"])
    radar.publish(topic_for(EVENT, "radar", "RADAR-01", "heartbeat"), b"while-away")
    radar.close()
    broker.stop()
    assert any((broker.folder / "data").iterdir()), "no persistence file written"
    broker.start()
    worker = Session(
        broker.port, "ingest", PASSWORDS["ingest"], client_id="anbao-ingest", clean=False
    )
    try:
        assert worker.wait_for(b"while-away")
    finally:
        worker.close()
