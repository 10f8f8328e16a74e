"""Group commit of scans: one transaction per group; one bad write fails alone (both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from django.db import DatabaseError, connection

from anbao.screening import decisions, scan_writer
from anbao.screening.models import Passage, Presence
from anbao.sites.models import Device
from tests.screening.test_scan import issued

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("at_event"),
]


@pytest.fixture(autouse=True)
def _site() -> None:
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH
    from anbao.sites.models import Event

    if not Event.objects.exists():  # committed data is flushed after each test here
        sites.load_site(DEMO_SITE_PATH)


@pytest.fixture
def postgres() -> None:
    """Skip a test of PostgreSQL's own statements or session on another database."""
    if connection.vendor != "postgresql":
        pytest.skip("checks PostgreSQL's statements or session settings")


def prepared(qr: str, nonce: str, direction: str = "entry") -> decisions.ScanWrite:
    """Decide a scan at the north gate's lane 1 and return what it must store."""
    device = Device.objects.get(external_id="GS-wicc-n-l1")
    ctx = decisions.lane_context(event_id=device.event_id, checkpoint_code="wicc-n", lane_code="l1")
    _, write = decisions.prepare_scan(
        lane=ctx,
        direction=direction,
        nonce=nonce,
        source="device:GS-wicc-n-l1",
        qr_text=qr,
        device=device,
    )
    return write


def test_a_group_is_stored_in_one_go_and_a_replayed_nonce_in_it_is_not_stored_twice() -> None:
    a, b = issued("VIP"), issued("VIP")
    writes = [prepared(a.qr_text, "g1"), prepared(b.qr_text, "g2"), prepared(a.qr_text, "g1")]
    results = scan_writer.write_group(writes)
    assert isinstance(results[0], int)
    assert isinstance(results[1], int)
    assert results[2] is None  # the same nonce again: a replay, nothing written
    assert sorted(Passage.objects.values_list("nonce", flat=True)) == ["g1", "g2"]
    inside = set(Presence.objects.values_list("accreditation_id", flat=True))
    assert inside == {a.accreditation_id, b.accreditation_id}


def test_on_sqlite_a_group_takes_one_turn_of_the_writers_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the writers' lock queues SQLite's writers; PostgreSQL has no such turn")
    turns: list[int] = []
    real = scan_writer.writer_turn

    @contextmanager
    def counted() -> Iterator[None]:
        turns.append(1)
        with real():
            yield

    monkeypatch.setattr(scan_writer, "writer_turn", counted)
    people = [issued("VIP") for _ in range(3)]
    results = scan_writer.write_group([prepared(p.qr_text, f"t{i}") for i, p in enumerate(people)])
    assert all(isinstance(r, int) for r in results), results
    assert len(turns) == 1  # one lock hand-over and one commit for the three scans
    assert Passage.objects.count() == 3


def test_a_write_that_fails_at_the_commit_leaves_the_rest_of_its_group_stored() -> None:
    good, other = issued("VIP"), issued("VIP")
    bad = prepared(issued("VIP").qr_text, "bad")
    # A lane that vanished between the decision and the write: its foreign key is only checked
    # at the commit, so the whole group's transaction fails and each write is retried alone.
    bad = replace(bad, ctx=replace(bad.ctx, lane_id=10**9))
    results = scan_writer.write_group(
        [prepared(good.qr_text, "ok1"), bad, prepared(other.qr_text, "ok2")]
    )
    assert isinstance(results[0], int)
    assert isinstance(results[2], int)
    assert isinstance(results[1], DatabaseError)
    assert sorted(Passage.objects.values_list("nonce", flat=True)) == ["ok1", "ok2"]
    assert not Presence.objects.filter(accreditation_id=bad.accreditation_id()).exists()


def test_a_holder_twice_in_one_group_is_stored_in_two_statements_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="anbao.screening.scan_writer")
    a, b = issued("VIP"), issued("VIP")
    # Two entries of the same holder decided before either is stored (a retry with a fresh
    # nonce, in one batch): one statement cannot move the same presence row twice.
    writes = [prepared(a.qr_text, "a1"), prepared(b.qr_text, "b1"), prepared(a.qr_text, "a2")]
    assert [len(r) for r in scan_writer._rounds(writes)] == [2, 1]
    results = scan_writer.write_group(writes)
    assert all(isinstance(r, int) for r in results), results
    assert sorted(Passage.objects.values_list("nonce", flat=True)) == ["a1", "a2", "b1"]
    inner = writes[0].ctx.to_zone_id
    rows = dict(
        Presence.objects.filter(zone_id=inner).values_list("accreditation_id", "passage_id")
    )
    assert rows == {a.accreditation_id: results[2], b.accreditation_id: results[1]}
    assert "one by one" not in caplog.text  # stored as a group, not by the fallback


def test_a_replay_of_a_holderless_scan_in_the_same_statement_is_stored_once() -> None:
    forged = issued("VIP").qr_text[:-4] + "AAAA"  # a broken signature: no holder is read
    writes = [prepared(forged, "f1"), prepared(forged, "f1"), prepared(forged, "f2")]
    assert writes[0].accreditation_id() is None
    assert len(scan_writer._rounds(writes)) == 1
    results = scan_writer.write_group(writes)
    assert isinstance(results[0], int)
    assert results[1] is None
    assert isinstance(results[2], int)
    stored = Passage.objects.order_by("nonce")
    assert [(p.nonce, p.status) for p in stored] == [("f1", "deny"), ("f2", "deny")]


@pytest.mark.usefixtures("postgres")  # SQLite does not enforce a column's length
def test_an_over_long_text_fails_its_own_write_only() -> None:
    good = issued("VIP")
    bad = replace(prepared(issued("VIP").qr_text, "long"), source="device:" + "x" * 200)
    results = scan_writer.write_group([prepared(good.qr_text, "fine"), bad])
    assert isinstance(results[0], int)
    assert isinstance(results[1], DatabaseError)
    assert "too long" in str(results[1])
    assert list(Passage.objects.values_list("nonce", flat=True)) == ["fine"]


def test_holders_read_in_one_statement_match_the_one_by_one_read() -> None:
    a, b = issued("VIP"), issued("VIP")
    assert isinstance(scan_writer.write_group([prepared(a.qr_text, "in")])[0], int)  # a inside
    zone = prepared(b.qr_text, "probe").ctx.to_zone_id
    keys = [(a.cid, zone), ("00" * 16, zone), (b.cid, zone), (a.cid, None)]
    together = decisions._holders(keys)
    assert together == [decisions._holder(cid, z) for cid, z in keys]
    assert together[1] is None  # an unknown credential
    assert [h.inside for h in (together[0], together[2], together[3])] == [True, False, False]
    assert together[0].accreditation_id == a.accreditation_id


def _prepared_here() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        return int(cur.fetchone()[0])


@pytest.mark.usefixtures("postgres")
def test_scan_statements_are_prepared_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = issued("VIP"), issued("VIP")
    connection.close()  # a fresh session: nothing prepared yet
    monkeypatch.setattr(decisions, "PREPARE", False)  # ANBAO_DB_PREPARE=0, behind a pooler
    assert isinstance(scan_writer.write_group([prepared(first.qr_text, "p1")])[0], int)
    assert _prepared_here() == 0
    monkeypatch.setattr(decisions, "PREPARE", True)
    assert isinstance(scan_writer.write_group([prepared(second.qr_text, "p2")])[0], int)
    assert _prepared_here() >= 2  # the holder read and the write
    assert sorted(Passage.objects.values_list("nonce", flat=True)) == ["p1", "p2"]


def _setting(name: str) -> str:
    with connection.cursor() as cur:
        cur.execute(f"SHOW {name}")
        return str(cur.fetchone()[0])


@pytest.mark.usefixtures("postgres")
def test_the_scan_connection_keeps_generic_plans_and_key_lookups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connection.close()
    monkeypatch.setattr(decisions, "PREPARE", False)  # behind a pooler: leave the session alone
    decisions.tune_for_scans()
    assert (_setting("plan_cache_mode"), _setting("enable_seqscan")) == ("auto", "on")
    monkeypatch.setattr(decisions, "PREPARE", True)
    decisions.tune_for_scans()
    assert (_setting("plan_cache_mode"), _setting("enable_seqscan")) == (
        "force_generic_plan",
        "off",
    )
    connection.close()  # a new session starts plain and is set up again on first use
    assert _setting("enable_seqscan") == "on"
    decisions.tune_for_scans()
    assert _setting("enable_seqscan") == "off"
    connection.close()  # leave later tests a plain session
