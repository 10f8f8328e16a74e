"""The Gate with a stand-in server: modes, fallback, inside replay, sync in ordered chunks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from anbao.gate.client import Answer, Refused, Unreachable
from anbao.gate.gate import Gate, GateConfig
from tests.gate.factory import NOW, Keys, claims, envelope, payload, person

AT = datetime.fromtimestamp(NOW, UTC)


class FakeServer:
    """Answers like the server, or fails like a dead one."""

    def __init__(self, keys: Keys, people: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.people = people
        self.up = True
        self.scan_error: Exception | None = None
        self.serial = 1
        self.chunks: list[list[int]] = []
        self.reject: set[int] = set()

    def _check(self) -> None:
        if not self.up:
            raise Unreachable("connection refused")

    def scan(self, body: dict[str, Any]) -> Answer:
        self._check()
        if self.scan_error is not None:
            raise self.scan_error
        decision = {"status": "allow", "reason": "ok", "cid": "", "passage_id": 1,
                    "accreditation_id": 7, "person_id": 8, "name": "李娜",
                    "category": "D", "text_zh": "通过", "text_en": "Pass"}  # fmt: skip
        return Answer(200, decision, 0.4)

    def bundle(self, since: int | None = None, *, photos: bool = True) -> Answer:
        self._check()
        if since == self.serial:
            return Answer(304, None, None)
        body = payload(self.keys, self.people, serial=self.serial)
        return Answer(200, envelope(self.keys, body), None)

    def sync(self, body: dict[str, Any]) -> Answer:
        self._check()
        seqs = [e["seq"] for e in body["entries"]]
        self.chunks.append(seqs)
        results = [
            {"seq": s, "result": "rejected", "code": "screening.bad", "message": "x"}
            if s in self.reject
            else {"seq": s, "result": "stored", "passage_id": s}
            for s in seqs
        ]
        return Answer(200, {"clock_skew_s": -0.4, "results": results, "conflicts": 0}, None)

    def photo(self, person_id: int) -> bytes | None:
        return None


@pytest.fixture
def keys() -> Keys:
    return Keys()


def make(tmp_path: Path, keys: Keys, server: FakeServer, **kw: Any) -> Gate:
    config = GateConfig(
        server="http://stand-in",
        token="t",
        device="GS-wicc-n-l1",
        checkpoint="wicc-n",
        lane="l1",
        root_public=keys.root_public,
        home=tmp_path,
        probe_s=0,
        sync_s=0,
    )
    return Gate(config, client=server, clock=lambda: AT, **kw)  # type: ignore[arg-type]


def test_online_offline_and_back(tmp_path: Path, keys: Keys) -> None:
    c = claims()
    server = FakeServer(keys, [person(c, 7)])
    gate = make(tmp_path, keys, server)
    gate.tick()
    assert gate.bundle is not None
    out = gate.scan(keys.badge.sign(c))
    assert (out["mode"], out["name"]) == ("online", "李娜")
    assert gate.inside == {"a7"}  # the online entry moved the local state too
    assert gate.date_skew_s == 0.4
    assert gate.journal.pending_count == 0
    server.up = False
    out = gate.scan(keys.badge.sign(c))
    assert (out["mode"], out["reason"]) == ("offline", "already_inside")
    assert gate.mode == "offline"
    out = gate.scan(keys.badge.sign(c), "exit")
    assert out["status"] == "allow"
    gate.tick()
    assert gate.mode == "offline"
    server.up = True
    gate.tick()
    assert gate.mode == "online"
    assert gate.journal.pending_count == 0
    assert gate.sync_skew_s == -0.4
    assert gate.state()["clock_skew_s"] == -0.4
    gate.stop()


def test_a_refused_request_is_decided_offline_without_leaving_online(
    tmp_path: Path, keys: Keys
) -> None:
    c = claims()
    server = FakeServer(keys, [person(c, 7)])
    gate = make(tmp_path, keys, server)
    gate.refresh_bundle()
    server.scan_error = Refused(401, "auth.invalid_token", "no")
    out = gate.scan(keys.badge.sign(c))
    assert (out["status"], out["mode"]) == ("allow", "online")
    assert gate.mode == "online"
    assert "auth.invalid_token" in gate.last_error
    assert gate.journal.pending_count == 1
    gate.stop()


def test_forced_offline_and_back_to_auto(tmp_path: Path, keys: Keys) -> None:
    c = claims()
    server = FakeServer(keys, [person(c, 7)])
    gate = make(tmp_path, keys, server)
    gate.refresh_bundle()
    assert gate.set_mode("offline") == "forced_offline"
    assert gate.scan(keys.badge.sign(c))["mode"] == "forced_offline"
    assert gate.journal.pending_count == 1
    assert gate.set_mode("auto") == "online"
    with pytest.raises(ValueError, match="mode"):
        gate.set_mode("sideways")
    gate.stop()


def test_a_new_bundle_keeps_the_unsynced_passages(tmp_path: Path, keys: Keys) -> None:
    c = claims()
    server = FakeServer(keys, [person(c, 7)])
    gate = make(tmp_path, keys, server, forced_offline=True)
    gate.refresh_bundle()
    assert gate.scan(keys.badge.sign(c))["status"] == "allow"
    server.serial = 2  # a newer bundle that does not know of the offline entry yet
    server.up = True
    assert gate.refresh_bundle() is True
    assert gate.bundle is not None
    assert gate.bundle.serial == 2
    assert gate.inside == {"a7"}
    assert gate.scan(keys.badge.sign(c))["reason"] == "already_inside"
    gate.stop()


def test_sync_sends_chunks_of_500_in_seq_order_and_never_resends_rejects(
    tmp_path: Path, keys: Keys
) -> None:
    c = claims()
    server = FakeServer(keys, [person(c, 7)])
    gate = make(tmp_path, keys, server, forced_offline=True, journal_window=0.005)
    gate.refresh_bundle()
    qr = keys.badge.sign(c)
    for i in range(1200):
        gate.scan(qr, ("entry", "exit")[i % 2])
    server.reject = {3, 700}
    counts = gate.sync()
    assert [len(chunk) for chunk in server.chunks] == [500, 500, 200]
    flat = [s for chunk in server.chunks for s in chunk]
    assert flat == sorted(flat) == list(range(1, 1201))
    assert counts == {"stored": 1198, "duplicate": 0, "rejected": 2, "conflicts": 0}
    assert gate.journal.pending_count == 0
    assert [e["seq"] for e in gate.journal.rejected()] == [3, 700]
    assert gate.sync() == {"stored": 0, "duplicate": 0, "rejected": 0, "conflicts": 0}
    assert len(server.chunks) == 3
    assert gate.state()["rejected"] == 2
    gate.stop()


def test_without_a_bundle_the_gate_refuses_and_uploads_nothing(tmp_path: Path, keys: Keys) -> None:
    server = FakeServer(keys, [])
    gate = make(tmp_path, keys, server, forced_offline=True)
    out = gate.scan("HC1:whatever")
    assert (out["status"], out["reason"]) == ("deny", "no_bundle")
    assert gate.journal.pending_count == 0
    gate.stop()
