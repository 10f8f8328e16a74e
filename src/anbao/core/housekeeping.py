"""Periodic jobs of a running server: timers that must fire even when no request arrives.

An incident's acknowledge timer runs out at 03:12 whether or not anybody has a page open, so
escalation cannot wait for a request. Each domain registers its jobs in ``AppConfig.ready``;
the long-lived processes (`anbao serve`, `anbao ingest run`, the demo) run them on one
thread. Jobs must be safe to run in several processes at once (each takes its rows' locks),
because a production instance runs several of those processes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import close_old_connections

from anbao.core import clock

log = logging.getLogger(__name__)

__all__ = ["Housekeeper", "Job", "jobs", "register", "start", "stop"]

Runner = Callable[[datetime], Any]


@dataclass
class Job:
    """A named job, run every ``every_s`` seconds of wall time."""

    name: str
    every_s: float
    run: Runner
    last: float = 0.0
    runs: int = 0
    failures: int = 0


_jobs: dict[str, Job] = {}


def register(name: str, every_s: float, run: Runner) -> None:
    """Register (or replace) the job ``name``."""
    if every_s <= 0:
        raise ValueError(f"job {name}: every_s must be positive")
    _jobs[name] = Job(name, every_s, run)


def jobs() -> dict[str, Job]:
    """Return the registered jobs by name."""
    return dict(_jobs)


@dataclass
class Housekeeper:
    """Runs the registered jobs on a background thread."""

    jobs: list[Job]
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run_due(self, monotonic: float | None = None) -> list[str]:
        """Run every job that is due now; return the names run."""
        now_m = time.monotonic() if monotonic is None else monotonic
        ran: list[str] = []
        for job in self.jobs:
            if now_m - job.last < job.every_s:
                continue
            job.last = now_m
            close_old_connections()
            try:
                job.run(clock.now())
                job.runs += 1
                ran.append(job.name)
            except Exception:  # one failing job must not stop the others, nor the next run
                job.failures += 1
                log.exception("housekeeping job %s failed", job.name)
            finally:
                close_old_connections()
        return ran

    def start(self) -> Housekeeper:
        """Start the thread."""
        self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.run_due()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


_running: Housekeeper | None = None
_lock = threading.Lock()


def start() -> Housekeeper:
    """Start this process's housekeeper (once)."""
    global _running
    with _lock:
        if _running is None:
            _running = Housekeeper(list(_jobs.values())).start()
            log.info("housekeeping: %s", ", ".join(sorted(_jobs)) or "no jobs")
        return _running


def stop() -> None:
    """Stop this process's housekeeper."""
    global _running
    with _lock:
        if _running is not None:
            _running.stop()
            _running = None
