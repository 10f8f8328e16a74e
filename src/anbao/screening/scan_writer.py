"""Group commit of online scans on PostgreSQL: the scans that arrive together share one commit.

Each commit waits for PostgreSQL to flush its WAL, and a process that commits every scan on its
own spends most of a rush waiting on those flushes one after another. The scan fast path
therefore decides a scan at once (reads only) and hands what the scan must store to this
process's writer thread. The writer takes every write waiting at that moment, stores them in
one transaction and answers them all when it commits; scans arriving meanwhile form the next
group. No answer leaves before its own write has committed, so a lane never shows "allow" for a
passage the database does not hold.

A failed group (a deadlock with another process, a row that vanished between the decision and
the write) is retried scan by scan, each on its own, so one bad write never fails the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import DatabaseError, connection, transaction

from anbao.screening.decisions import ScanWrite, write_in_one_statement

log = logging.getLogger(__name__)

#: The most scans stored in one transaction; a longer queue is stored in several.
MAX_GROUP = 64


@dataclass(slots=True)
class _Pending:
    write: ScanWrite
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int | None]


def write_group(writes: Sequence[ScanWrite]) -> list[int | BaseException | None]:
    """Store ``writes`` in one transaction; per write its passage id, None (a replay) or the error.

    Writes are stored in the order of their holders, keeping each holder's scans in arrival
    order, so two processes' groups take the presence rows' locks in the same order.
    """
    order = sorted(range(len(writes)), key=lambda i: writes[i].accreditation_id() or 0)
    results: list[int | BaseException | None] = [None] * len(writes)
    try:
        with transaction.atomic():
            for i in order:
                results[i] = write_in_one_statement(writes[i])
        return results
    except DatabaseError as exc:
        if len(writes) == 1:
            return [exc]
        log.info("scan group of %d failed (%s); storing its scans one by one", len(writes), exc)
    for i in order:
        try:
            with transaction.atomic():
                results[i] = write_in_one_statement(writes[i])
        except DatabaseError as exc:
            results[i] = exc
    return results


class GroupWriter:
    """One process's scan writer: a thread with its own connection, storing scans in groups."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def close(self) -> None:
        """Stop the writer thread after the writes already queued, and close its connection."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout=10)
        self._thread = None

    async def store(self, write: ScanWrite) -> int | None:
        """Store one scan's write with the others waiting; its passage id, or None on a replay."""
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int | None] = loop.create_future()
        self._queue.put(_Pending(write, loop, future))
        return await future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="scan-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            while self._serve_one_group():
                pass
        finally:
            connection.close()

    def _serve_one_group(self) -> bool:
        """Store and answer the writes waiting now; False once asked to stop."""
        first = self._queue.get()
        if first is None:
            return False
        group = [first]
        stop = False
        while len(group) < MAX_GROUP:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            group.append(item)
        self._store_group(group)
        return not stop

    def _store_group(self, group: list[_Pending]) -> None:
        try:
            results = write_group([p.write for p in group])
        except Exception as exc:  # never let the writer die: answer the group with the error
            log.exception("scan writer: group failed")
            results = [exc] * len(group)
        if any(isinstance(r, DatabaseError) for r in results):
            connection.close()  # a server restart or failover: reconnect for the next group
        for pending, result in zip(group, results, strict=True):
            # RuntimeError: the loop has closed (the server is stopping).
            with contextlib.suppress(RuntimeError):
                pending.loop.call_soon_threadsafe(_settle, pending.future, result)


def _settle(future: asyncio.Future[int | None], result: int | BaseException | None) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
