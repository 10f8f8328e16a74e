"""End to end with a real server: online, then offline with a journal, then back and synced."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from anbao.accounts import services as accounts
from anbao.accreditation import keystore
from anbao.accreditation import services as registry
from anbao.core import clock
from anbao.gate.client import Unreachable
from anbao.gate.gate import Gate, GateConfig
from anbao.screening import decisions
from anbao.screening.models import GateState, Passage, Presence, ScreeningRecord, Seizure
from tests.accreditation.factories import image_bytes
from tests.screening.test_scan import EVENT_TIME, FixedClock, acc_of, issued

pytestmark = pytest.mark.django_db(transaction=True)
DEVICE = "GS-wicc-n-l1"


@pytest.fixture
def site(transactional_db) -> None:  # type: ignore[no-untyped-def]
    """The demo site, loaded again: transactional tests flush the database after each test."""
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH
    from anbao.sites.models import Event

    if not Event.objects.exists():
        sites.load_site(DEMO_SITE_PATH)


@pytest.fixture
def fixed(site) -> Iterator[FixedClock]:  # type: ignore[no-untyped-def]
    now = FixedClock(EVENT_TIME)
    previous = clock.install(now)  # process-wide: the live server's thread sees it too
    keystore._cache.clear()
    decisions.clear_cache()
    yield now
    clock.install(previous)
    keystore._cache.clear()
    decisions.clear_cache()


def closed_port() -> int:
    """Return a local port that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_gate(url: str, home: Path, fixed: FixedClock) -> Gate:
    keystore.ensure_keys()
    token = accounts.redeem_enrolment(
        device_id=DEVICE, code=accounts.start_enrolment(device_id=DEVICE)
    )
    config = GateConfig(
        server=url,
        token=token,
        device=DEVICE,
        checkpoint="wicc-n",
        lane="l1",
        root_public=keystore.root_public_key(),
        home=home,
        probe_s=0,
        sync_s=0,
    )

    def ticking() -> Any:
        fixed.current += timedelta(seconds=1)
        return fixed.current

    return Gate(config, clock=ticking)


def test_online_then_offline_then_synced_exactly_once(live_server, fixed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    alice, bob, carol = issued(), issued(), issued()
    registry.set_photo(acc_of(bob).person, data=image_bytes())
    gate = make_gate(live_server.url, tmp_path, fixed)
    try:
        assert gate.refresh_bundle() is True
        bundle = gate.bundle
        assert bundle is not None
        assert {alice.cid, bob.cid, carol.cid} <= set(bundle.people)
        assert gate.refresh_bundle() is False  # since=serial: 304

        # Online: the server decides and stores; nothing waits for upload.
        online = gate.scan(alice.qr_text, "entry")
        assert (online["mode"], online["status"], online["reason"]) == ("online", "allow", "ok")
        assert Passage.objects.get(nonce=online["nonce"]).offline is False
        assert gate.journal.pending_count == 0

        # The server goes away: the next scan is decided offline, at once.
        gate.client.server = f"http://127.0.0.1:{closed_port()}"
        first = gate.scan(bob.qr_text, "entry")
        assert (first["mode"], first["status"]) == ("offline", "allow")
        assert first["photo"].startswith("data:image/jpeg;base64,")
        again = gate.scan(alice.qr_text, "entry")  # inside since the online scan
        assert (again["status"], again["reason"]) == ("deny", "already_inside")
        out = gate.scan(alice.qr_text, "exit")
        assert out["status"] == "allow"
        stranger = gate.scan("HC1:not a credential", "entry")
        assert stranger["status"] == "deny"
        gate.scan(carol.qr_text, "entry")
        screening = gate.screening(
            subject="bag",
            method="xray",
            outcome="item_found",
            seizures=[{"item": "lighter"}],
        )
        assert gate.mode == "offline"
        assert gate.journal.pending_count == 6
        gate.tick()  # the probe fails: still offline
        assert gate.mode == "offline"
        with pytest.raises(Unreachable):
            gate.sync()

        # The server is back: the probe finds it, the journal goes up.
        gate.client.server = live_server.url
        gate.tick()
        assert gate.mode == "online"
        assert gate.journal.pending_count == 0
        assert gate.sync_skew_s is not None

        journaled = [e for e in gate.journal.recent(100) if e["mode"] == "offline"]
        assert len(journaled) == 6
        assert {e["sync"] for e in journaled} == {"stored"}
        for e in journaled:
            if e["kind"] == "passage":
                rows = Passage.objects.filter(nonce=e["nonce"])
                assert rows.count() == 1
                row = rows.get()
                assert row.offline
                assert (row.status, row.reason) == (e["status"], e["reason"])
        assert Passage.objects.filter(offline=True).count() == 5
        rec = ScreeningRecord.objects.get()
        assert rec.outcome == "item_found"
        assert rec.passage_id == Passage.objects.get(nonce=carol_nonce(journaled, carol.cid)).pk
        assert Seizure.objects.get().item_code == "lighter"
        assert screening["seizures"][0]["disposition"] == "deposited"
        # Presence moved as the offline gate decided: bob and carol in, alice out.
        inside = set(
            Presence.objects.filter(zone__number=1).values_list("accreditation", flat=True)
        )
        assert inside == {bob.accreditation_id, carol.accreditation_id}
        state = GateState.objects.get(device__external_id=DEVICE)
        assert state.pending == 0
        assert state.uploaded == 5

        # A lost answer: the same entries sent again are duplicates, stored once.
        entries = [{**e, "seq": e["seq"]} for e in journaled]
        reply = gate.client.sync(
            {
                "device": DEVICE,
                "device_time": fixed.current.isoformat(),
                "mode": "online",
                "bundle_serial": 1,
                "pending": 0,
                "entries": sorted(entries, key=lambda e: e["seq"]),
            }
        ).body
        assert {r["result"] for r in reply["results"]} == {"duplicate"}
        assert Passage.objects.filter(offline=True).count() == 5
        assert ScreeningRecord.objects.count() == 1

        # Back online, decisions are the server's again and see the synced presence.
        back = gate.scan(bob.qr_text, "entry")
        assert (back["mode"], back["reason"]) == ("online", "already_inside")
    finally:
        gate.stop()


def carol_nonce(entries: list[dict[str, Any]], cid: str) -> str:
    return next(e["nonce"] for e in entries if e["kind"] == "passage" and e["cid"] == cid)


def test_a_bundle_survives_a_restart_and_decides_offline(live_server, fixed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    gate = make_gate(live_server.url, tmp_path, fixed)
    gate.refresh_bundle()
    gate.stop()
    config = gate.config
    config.server = f"http://127.0.0.1:{closed_port()}"
    restarted = Gate(config, clock=lambda: fixed.current, forced_offline=True)
    try:
        assert restarted.bundle is not None
        out = restarted.scan(cred.qr_text, "entry")
        assert (out["mode"], out["status"]) == ("forced_offline", "allow")
        assert restarted.journal.pending_count == 1
    finally:
        restarted.stop()
