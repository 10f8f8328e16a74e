"""The journal: append-only, ordered, marks, pending counts, and survival of a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anbao.gate.journal import Journal

WRITER = textwrap.dedent(
    """
    import sys
    from anbao.gate.journal import Journal

    path, window, start = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    j = Journal(path, window=window)
    i = start
    while True:
        body = {"nonce": f"n{i}", "at": "2026-11-09T02:00:00+00:00", "direction": "entry",
                "qr_text": "HC1:" + "x" * 300, "cid": f"{i:032x}", "status": "allow",
                "reason": "ok", "rule": "", "bundle_serial": 1}
        seq = j.append("passage", body)
        if window > 0 and i % 7 == 0:
            j.flush()
            print(f"durable {seq}", flush=True)
        elif window <= 0:
            print(f"durable {seq}", flush=True)
        i += 1
    """
)


def entry(i: int) -> dict[str, object]:
    return {"nonce": f"n{i}", "at": "2026-11-09T02:00:00+00:00", "status": "allow"}


def test_append_pending_mark_and_recent(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", window=0)
    seqs = [j.append("passage", entry(i)) for i in range(5)]
    j.append("passage", entry(99), mode="online", upload=False)
    assert seqs == [1, 2, 3, 4, 5]
    assert j.pending_count == 5
    chunk = j.pending(3)
    assert [e["seq"] for e in chunk] == [1, 2, 3]
    assert chunk[0]["nonce"] == "n0"
    assert chunk[0]["kind"] == "passage"
    added = j.mark(
        [
            {"seq": 1, "result": "stored", "passage_id": 10},
            {"seq": 2, "result": "duplicate", "passage_id": 9},
            {"seq": 3, "result": "rejected", "code": "screening.bad", "message": "no"},
            {"seq": 6, "result": "stored"},  # a local-only entry is never marked
            {"seq": 1, "result": "stored"},  # a repeat changes nothing
        ]
    )
    assert added == 3
    assert j.pending_count == 2
    assert [e["seq"] for e in j.pending()] == [4, 5]
    assert [(e["seq"], e["code"]) for e in j.rejected()] == [(3, "screening.bad")]
    recent = j.recent(10)
    assert [e["sync"] for e in recent] == [
        "local", "pending", "pending", "rejected", "duplicate", "stored",
    ]  # fmt: skip
    assert j.counts() == {"total": 6, "pending": 2, "stored": 1, "duplicate": 1, "rejected": 1}
    j.close()
    again = Journal(tmp_path / "j.sqlite3")
    assert again.pending_count == 2
    assert again.append("screening", entry(100)) == 7
    again.close()


def test_a_nonce_is_journaled_once(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", window=0)
    j.append("passage", entry(1))
    with pytest.raises(sqlite3.IntegrityError):
        j.append("passage", entry(1))
    j.close()


def test_group_commit_commits_within_the_window(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    j = Journal(path, window=0.005)
    for i in range(50):
        j.append("passage", entry(i))
    import time

    # Nobody waits: the writer commits the burst on its own, within about one window.
    reader = sqlite3.connect(path)
    deadline = time.monotonic() + 10
    while reader.execute("SELECT COUNT(*) FROM entries").fetchone()[0] < 50:
        assert time.monotonic() < deadline, "the burst was never committed"
        time.sleep(0.01)
    reader.close()
    j.close()


def test_wal_and_full_sync(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    conn = j._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    j.close()


def _kill_writer(path: Path, window: float, start: int, lines: int) -> list[int]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(window), str(start)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    durable = []
    try:
        for _ in range(lines):
            line = proc.stdout.readline()
            assert line.startswith("durable "), line
            durable.append(int(line.split()[1]))
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: it never stops appending
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return durable


def _check(path: Path, durable: list[int]) -> list[int]:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT seq, nonce, body FROM entries ORDER BY seq").fetchall()
    conn.close()
    seqs = [r[0] for r in rows]
    assert set(durable) <= set(seqs), "a committed entry was lost"
    assert seqs == list(range(1, len(seqs) + 1)), "seq must have no holes"
    for _seq, nonce, body in rows:
        data = json.loads(body)  # no partial entry: every body is whole JSON
        assert data["nonce"] == nonce
        assert data["qr_text"] == "HC1:" + "x" * 300
    return seqs


@pytest.mark.parametrize("window", [0.0, 0.005])
def test_the_journal_survives_sigkill_mid_write(tmp_path: Path, window: float) -> None:
    path = tmp_path / "j.sqlite3"
    start = 0
    for lines in (300, 57, 1000):
        durable = _kill_writer(path, window, start, lines)
        seqs = _check(path, durable)
        start += 100_000  # new nonces for the next writer
    reopened = Journal(path, window=0)
    assert reopened.pending_count == len(seqs)
    assert reopened.append("passage", entry(-1)) == len(seqs) + 1
    reopened.close()


def test_an_entry_after_a_pause_is_durable_when_append_returns(tmp_path: Path) -> None:
    import time

    path = tmp_path / "j.sqlite3"
    j = Journal(path, window=0.005)
    reader = sqlite3.connect(path)
    for i in range(3):
        time.sleep(0.02)  # a lane's pace: the journal is idle before each scan
        seq = j.append("passage", entry(i))
        row = reader.execute("SELECT nonce FROM entries WHERE seq = ?", (seq,)).fetchone()
        assert row == (f"n{i}",)
    reader.close()
    j.close()


def test_marks_made_by_another_process_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    running = Journal(path, window=0)
    for i in range(3):
        running.append("passage", entry(i))
    other = Journal(path, window=0)  # anbao gate sync, while the gate runs
    assert other.mark([{"seq": 1, "result": "stored"}, {"seq": 2, "result": "stored"}]) == 2
    other.close()
    assert running.pending_count == 3
    assert running.recount() == 1
    running.close()


def test_a_bad_entry_is_refused_before_it_can_stop_the_writer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        with pytest.raises(ValueError, match="mode"):
            journal.append("passage", {"nonce": "n1", "at": "t"}, mode="forced_offline")
        with pytest.raises(ValueError, match="nonce"):
            journal.append("passage", {"at": "t"})
        seq = journal.append("passage", {"nonce": "n2", "at": "t"})
        journal.flush()
        assert journal.pending_count == 1
        assert seq >= 1
    finally:
        journal.close()
