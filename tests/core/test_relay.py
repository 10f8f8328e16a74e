"""The bus relay: events cross to other processes through real Redis and real PostgreSQL.

One relay runs in this process as it would in a server; the "other process" is a bare
transport on the same channel, sending and receiving raw messages, so each direction is
checked on the wire.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from anbao.core import bus, relay
from tests.conftest import require_service


@dataclass(frozen=True)
class ThingHappened(bus.Event):
    """A test event."""

    thing_id: int
    at: datetime


def _redis_up() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


REDIS_URL = os.environ.get("ANBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# --- the message format ----------------------------------------------------------------------


def test_a_batch_round_trips_with_type_module_and_payload() -> None:
    at = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)
    [message] = relay.encode_batches(
        "abc", [{"t": "ThingHappened", "m": __name__, "p": {"thing_id": 7, "at": at}}]
    )
    origin, [event] = relay.decode_batch(message)
    assert origin == "abc"
    assert event.type == "ThingHappened"
    assert event.module == __name__
    assert event.payload() == {"thing_id": 7, "at": "2026-11-09T02:00:00+00:00"}


def test_a_burst_is_split_into_messages_postgres_can_carry() -> None:
    events = [{"t": "T", "m": "m", "p": {"i": i, "pad": "x" * 300}} for i in range(200)]
    messages = relay.encode_batches("o", events)
    assert len(messages) > 1
    assert all(len(m) < relay.MAX_MESSAGE_BYTES for m in messages)
    back = [e.payload()["i"] for m in messages for e in relay.decode_batch(m)[1]]
    assert back == list(range(200))


def test_an_event_too_large_to_relay_is_left_out_not_sent_broken() -> None:
    events = [
        {"t": "Big", "m": "m", "p": {"pad": "x" * 9000}},
        {"t": "Small", "m": "m", "p": {}},
    ]
    [message] = relay.encode_batches("o", events)
    assert [e.type for e in relay.decode_batch(message)[1]] == ["Small"]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "no origin"),
        (b'{"o": "x"}', "no event list"),
        (b'{"o": "x", "e": [{"t": "T", "m": "m"}]}', "event 0"),
        (b'{"o": "x", "e": [{"t": 1, "m": "m", "p": {}}]}', "event 0"),
    ],
)
def test_a_malformed_message_is_refused_with_the_reason(message: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        relay.decode_batch(message)


def test_the_channel_is_private_to_the_instance() -> None:
    assert relay.channel_name("key-one") != relay.channel_name("key-two")
    assert relay.channel_name("key-one") == relay.channel_name("key-one")
    assert len(relay.channel_name("k")) < 63  # a PostgreSQL identifier


def test_the_broadcaster_takes_relayed_alarm_and_incident_events() -> None:
    from anbao.dashboard.broadcaster import Broadcaster

    b = Broadcaster()
    b.on_event(relay.RemoteEvent("AlarmRaised", "anbao.alarms.events", {"alarm_id": 41}))
    b.on_event(relay.RemoteEvent("IncidentOpened", "anbao.incidents.events", {"id": 3}))
    assert b._dirty.alarms == {41}
    assert b._dirty.incidents is True


# --- over real transports --------------------------------------------------------------------


class Peer:
    """The other process: a bare transport that records what arrives on the channel."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.messages: list[bytes] = []
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "the peer never subscribed"

    def _run(self) -> None:
        for message in self.transport.receive(self._stop, self.ready.set):
            self.messages.append(message)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.transport.close()


def _wait(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def wire(request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """A maker of transports on one fresh channel, of the kind the test is parametrised with."""
    kind = request.param
    channel = "anbao_bus_test_" + secrets.token_hex(6)
    if kind == "redis":
        require_service(_redis_up(), "no Redis server on 127.0.0.1:6379")
        yield lambda: relay.RedisTransport(REDIS_URL, channel)
    else:
        conninfo = relay._conninfo()
        require_service(
            conninfo is not None and os.environ.get("ANBAO_TEST_POSTGRES") == "1",
            "PostgreSQL run not requested (set ANBAO_TEST_POSTGRES=1 and ANBAO_DATABASE_URL)",
        )
        assert conninfo is not None
        yield lambda: relay.PostgresTransport(conninfo, channel)


@pytest.fixture
def running(wire: Callable[[], Any]) -> Iterator[tuple[relay.Relay, Peer]]:
    """This process's relay and a peer on the same channel."""
    r = relay.Relay(wire()).start()
    assert r.subscribed.wait(10), "the relay never subscribed"
    peer = Peer(wire())
    try:
        yield r, peer
    finally:
        r.stop()
        peer.close()


TRANSPORTS = [
    pytest.param("redis", id="redis"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.mark.django_db(transaction=True)  # publish waits for a commit
@pytest.mark.parametrize("wire", TRANSPORTS, indirect=True)
def test_a_published_event_goes_out_on_the_wire(running) -> None:  # type: ignore[no-untyped-def]
    r, peer = running
    at = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)
    bus.publish(ThingHappened(thing_id=5, at=at))
    assert _wait(lambda: bool(peer.messages)), "nothing reached the channel"
    data = json.loads(peer.messages[0])
    assert data["o"] == r.origin
    assert data["e"] == [
        {"t": "ThingHappened", "m": __name__, "p": {"thing_id": 5, "at": at.isoformat()}}
    ]


@pytest.mark.parametrize("wire", TRANSPORTS, indirect=True)
def test_an_event_from_elsewhere_reaches_remote_listeners_only(running) -> None:  # type: ignore[no-untyped-def]
    r, peer = running
    remote_seen: list[bus.Event] = []
    local_seen: list[bus.Event] = []
    handled: list[bus.Event] = []
    undo_remote = bus.listen(remote_seen.append, remote=True)
    undo_local = bus.listen(local_seen.append)
    bus.subscribe(ThingHappened, handled.append)
    try:
        (message,) = relay.encode_batches(
            "elsewhere", [{"t": "ThingHappened", "m": __name__, "p": {"thing_id": 9}}]
        )
        peer.transport.send(message)
        assert _wait(lambda: bool(remote_seen)), "the relayed event never arrived"
        assert remote_seen[0].type == "ThingHappened"
        assert remote_seen[0].payload() == {"thing_id": 9}
        assert local_seen == []
        assert handled == []
        assert r.received == 1
        # and a relayed event is never sent back out
        time.sleep(0.2)
        assert all(json.loads(m)["o"] != r.origin for m in peer.messages)
    finally:
        undo_remote()
        undo_local()
        bus._handlers[ThingHappened].remove(handled.append)


@pytest.mark.parametrize("wire", TRANSPORTS, indirect=True)
def test_own_echo_is_ignored_and_a_bad_message_does_not_stop_the_relay(running) -> None:  # type: ignore[no-untyped-def]
    r, peer = running
    seen: list[bus.Event] = []
    undo = bus.listen(seen.append, remote=True)
    try:
        (own,) = relay.encode_batches(r.origin, [{"t": "Echo", "m": "m", "p": {}}])
        peer.transport.send(own)
        peer.transport.send(b"garbage")
        (good,) = relay.encode_batches("elsewhere", [{"t": "After", "m": "m", "p": {}}])
        peer.transport.send(good)
        assert _wait(lambda: bool(seen))
        assert [e.type for e in seen] == ["After"]
        assert r.rejected == 1
    finally:
        undo()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("wire", [TRANSPORTS[0]], indirect=True)
def test_a_burst_travels_in_few_messages(running) -> None:  # type: ignore[no-untyped-def]
    r, peer = running
    for i in range(500):
        bus.publish(ThingHappened(thing_id=i, at=datetime(2026, 11, 9, tzinfo=UTC)))
    assert _wait(lambda: r.sent == 500)
    assert _wait(lambda: sum(len(json.loads(m)["e"]) for m in peer.messages) == 500), (
        "events were lost on the way"
    )
    assert len(peer.messages) < 100  # batched, not one message per event


@dataclass(frozen=True)
class CountChanged(bus.Event):
    """A test event of which only the latest need cross."""

    relay_latest_only = True
    n: int


def test_a_burst_of_latest_only_events_crosses_as_the_last_one() -> None:
    at = datetime(2026, 11, 9, tzinfo=UTC)
    events: list[bus.Event] = [
        CountChanged(1),
        ThingHappened(1, at),
        CountChanged(2),
        ThingHappened(2, at),
        CountChanged(3),
    ]
    kept = relay.coalesce(events)
    assert kept == [ThingHappened(1, at), ThingHappened(2, at), CountChanged(3)]


def test_scans_are_relayed_latest_only_and_alarms_each() -> None:
    from anbao.alarms.events import AlarmRaised
    from anbao.screening.events import PassageRecorded

    assert PassageRecorded.relay_latest_only is True
    assert AlarmRaised.relay_latest_only is False


@pytest.mark.parametrize("wire", [TRANSPORTS[0]], indirect=True)
def test_a_process_with_no_screen_open_does_not_decode_what_arrives(running, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    r, peer = running
    monkeypatch.setattr(bus, "_remote_listeners", [])  # no screen open here
    assert not bus.has_remote_listeners()
    (message,) = relay.encode_batches("elsewhere", [{"t": "T", "m": "m", "p": {}}])
    peer.transport.send(message)
    time.sleep(0.5)
    assert r.received == 0
    assert r.rejected == 0
