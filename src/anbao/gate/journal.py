"""The gate's local journal: an append-only SQLite log of decisions and screenings.

Every offline decision is written here before the lane shows it as durable; the journal is
uploaded in ``seq`` order when the server can be reached. SQLite runs in WAL mode with
``synchronous=FULL``: a committed entry survives a killed process and a power cut.

Entries are never changed. Sync results go into a second table (``marks``), so a damaged
mark can never damage the decision it marks.

Group commit: entries are written by one writer thread, which commits whatever has queued
up since its last commit in one transaction (one fsync for the batch), while the lane goes on
deciding. An entry that arrives when the journal has been idle for ``window`` seconds waits
for its own commit before :meth:`Journal.append` returns, so at a lane's pace (a scan a
second) every decision is durable before it is shown. During a burst (entries less than
``window`` apart: a replay, the benchmark) the writer gathers entries for up to ``window``,
and an entry is durable within about ``window`` plus one fsync. ``window=0`` writes and
commits each entry in the caller's thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('passage', 'screening')),
    nonce TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('offline', 'online')),
    upload INTEGER NOT NULL CHECK (upload IN (0, 1)),
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS marks (
    seq INTEGER PRIMARY KEY REFERENCES entries (seq),
    result TEXT NOT NULL CHECK (result IN ('stored', 'duplicate', 'rejected')),
    passage_id INTEGER,
    code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
"""
DEFAULT_WINDOW = 0.02
# One encoder for every entry: json.dumps with options builds a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
RESULTS = ("stored", "duplicate", "rejected")


class Journal:
    """An append-only journal in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path | str, *, window: float = DEFAULT_WINDOW) -> None:
        self.path = Path(path)
        self.window = window
        self._db = threading.RLock()  # the connection
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=10
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        last = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM entries").fetchone()[0]
        self._cond = threading.Condition()  # the queue and the counters below
        self._queue: list[tuple[int, str, str, str, str, int, str]] = []
        self._next_seq = int(last) + 1
        self._committed = int(last)
        self._last_commit = 0.0
        self._last_append = 0.0
        self._error: BaseException | None = None
        self._closed = False
        self._pending = self._count_pending()
        self._writer: threading.Thread | None = None
        self._waiters = 0

    # --- writing --------------------------------------------------------------------------

    def append(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        mode: str = "offline",
        upload: bool = True,
    ) -> int:
        """Append one entry (``body`` holds nonce and at) and return its seq."""
        # Checked here, not only by the table: a refused row would stop the writer for good.
        if kind not in ("passage", "screening") or mode not in ("offline", "online"):
            raise ValueError(f"bad journal entry kind {kind!r} or mode {mode!r}")
        if not body.get("nonce") or not body.get("at"):
            raise ValueError("a journal entry needs a nonce and a time")
        text = _ENCODE(body)
        if self.window <= 0:
            with self._cond:
                self._raise()
                seq = self._next_seq
                row = (seq, kind, body["nonce"], body["at"], mode, int(upload), text)
                with self._db:
                    self._write([row])
                self._next_seq += 1
                self._committed = seq
                self._pending += int(upload)
            return seq
        with self._cond:
            self._raise()
            seq = self._next_seq
            self._next_seq += 1
            self._queue.append((seq, kind, body["nonce"], body["at"], mode, int(upload), text))
            self._pending += int(upload)
            # Idle: nothing was appended for a window. In a burst the lane does not wait.
            now = time.monotonic()
            idle = now - self._last_append >= self.window
            self._last_append = now
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="journal")
                self._writer.daemon = True
                self._writer.start()
            if len(self._queue) == 1:
                self._cond.notify_all()  # the writer may be asleep on an empty queue
            if idle:
                self._wait(seq)
        return seq

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"the journal cannot be written: {self._error}")
        if self._closed:
            raise RuntimeError("the journal is closed")

    def _wait(self, seq: int) -> None:
        if self._committed >= seq:
            return self._raise()
        self._waiters += 1
        self._cond.notify_all()  # someone waits: the writer commits now, not at the window
        try:
            while self._committed < seq and self._error is None:
                self._cond.wait()
        finally:
            self._waiters -= 1
        return self._raise()

    def _write(self, rows: list[tuple[int, str, str, str, str, int, str]]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT INTO entries (seq, kind, nonce, at, mode, upload, body) "
                "VALUES (?,?,?,?,?,?,?)",
                rows,
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if not self._queue:
                        if self._closed:
                            return
                        self._cond.wait()
                        continue
                    # Gather a burst for one fsync, unless someone waits for their entry.
                    left = self._last_commit + self.window - time.monotonic()
                    if self._waiters or self._closed or left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._queue = self._queue, []
            try:
                with self._db:
                    self._write(batch)  # sqlite lets the GIL go: the lane decides meanwhile
            except Exception as exc:
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._committed = batch[-1][0]
                self._last_commit = time.monotonic()
                self._cond.notify_all()

    def flush(self) -> None:
        """Return once every entry appended so far is committed (and fsynced)."""
        with self._cond:
            self._wait(self._next_seq - 1)

    def mark(self, results: Iterable[Mapping[str, Any]]) -> int:
        """Record the server's answers (``seq``, ``result``...) to uploaded entries."""
        now = time.time()
        rows = [
            (
                int(r["seq"]),
                str(r["result"]),
                r.get("passage_id"),
                str(r.get("code") or ""),
                str(r.get("message") or "")[:500],
                now,
            )
            for r in results
            if r.get("result") in RESULTS
        ]
        self.flush()
        with self._db:
            self._conn.execute("BEGIN IMMEDIATE")
            before = self._conn.total_changes
            try:
                self._conn.executemany(
                    "INSERT OR IGNORE INTO marks (seq, result, passage_id, code, message, at) "
                    "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
                    "(SELECT 1 FROM entries WHERE seq = ? AND upload = 1)",
                    [(*row, row[0]) for row in rows],
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            added = self._conn.total_changes - before
            self._conn.execute("COMMIT")
        self.recount()
        return added

    def recount(self) -> int:
        """Count the waiting entries again (``anbao gate sync`` may have marked some)."""
        self.flush()
        with self._db:
            count = self._count_pending()
        with self._cond:
            # Entries appended meanwhile are committed by now or still queued: add those.
            self._pending = count + sum(row[5] for row in self._queue)
            return self._pending

    # --- reading --------------------------------------------------------------------------

    def _count_pending(self) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM entries e WHERE e.upload = 1 "
            "AND NOT EXISTS (SELECT 1 FROM marks m WHERE m.seq = e.seq)"
        ).fetchone()
        return int(row[0])

    @property
    def pending_count(self) -> int:
        """Return how many entries wait for upload."""
        return self._pending

    def pending(self, limit: int = 500) -> list[dict[str, Any]]:
        """Return the oldest entries waiting for upload, in seq order, with seq and kind."""
        self.flush()
        with self._db:
            rows = self._conn.execute(
                "SELECT e.seq, e.kind, e.body FROM entries e WHERE e.upload = 1 "
                "AND NOT EXISTS (SELECT 1 FROM marks m WHERE m.seq = e.seq) "
                "ORDER BY e.seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [{**json.loads(body), "seq": seq, "kind": kind} for seq, kind, body in rows]

    def pending_passages(self) -> list[dict[str, Any]]:
        """Return every unsynced passage in seq order (to replay onto a fresh bundle)."""
        return [e for e in self.pending(limit=1_000_000) if e["kind"] == "passage"]

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """Return the newest entries, newest first, with their sync marks."""
        self.flush()
        with self._db:
            rows = self._conn.execute(
                "SELECT e.seq, e.kind, e.mode, e.upload, e.body, m.result, m.code, m.message "
                "FROM entries e LEFT JOIN marks m ON m.seq = e.seq ORDER BY e.seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                **json.loads(body),
                "seq": seq,
                "kind": kind,
                "mode": mode,
                "sync": result or ("pending" if upload else "local"),
                "code": code or "",
                "message": message or "",
            }
            for seq, kind, mode, upload, body, result, code, message in rows
        ]

    def rejected(self) -> list[dict[str, Any]]:
        """Return the entries the server rejected (shown to the operator, never resent)."""
        self.flush()
        with self._db:
            rows = self._conn.execute(
                "SELECT e.seq, e.kind, e.body, m.code, m.message FROM entries e "
                "JOIN marks m ON m.seq = e.seq WHERE m.result = 'rejected' ORDER BY e.seq"
            ).fetchall()
        return [
            {**json.loads(body), "seq": seq, "kind": kind, "code": code, "message": message}
            for seq, kind, body, code, message in rows
        ]

    def counts(self) -> dict[str, int]:
        """Return entry counts: total, pending, and by sync result."""
        self.flush()
        with self._db:
            total = self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            by = dict(self._conn.execute("SELECT result, COUNT(*) FROM marks GROUP BY result"))
        return {
            "total": int(total),
            "pending": self._pending,
            **{r: int(by.get(r, 0)) for r in RESULTS},
        }

    def close(self) -> None:
        """Write what waits and close the file."""
        with self._cond:
            if self._closed:
                return
            if self._error is None:
                self._wait(self._next_seq - 1)
            self._closed = True
            self._cond.notify_all()
        if self._writer is not None:
            self._writer.join(timeout=10)
        with self._db:
            self._conn.close()
