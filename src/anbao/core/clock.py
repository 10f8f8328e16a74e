"""The one injectable clock. Aware UTC inside; the simulation clock runs faster for the demo."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current aware UTC time."""

    def now(self) -> datetime:
        """Return the current time, aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the wall-clock time in UTC."""
        return datetime.now(tz=UTC)


@dataclass
class SimulationClock:
    """A clock that starts at ``start`` and runs ``speed`` times faster than the wall clock."""

    start: datetime
    speed: float = 1.0
    _origin: float = 0.0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("SimulationClock needs an aware start time")
        if not self.speed > 0:
            raise ValueError("speed must be positive")
        self._origin = time.monotonic()

    def now(self) -> datetime:
        """Return the simulated time."""
        elapsed = (time.monotonic() - self._origin) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until moved; for tests."""

    current: datetime

    def now(self) -> datetime:
        """Return the fixed time."""
        return self.current

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.current += delta


_lock = threading.Lock()
_clock: Clock = SystemClock()


def now() -> datetime:
    """Return the current time from the installed clock."""
    return _clock.now()


def install(clock: Clock) -> Clock:
    """Install ``clock`` process-wide and return the one it replaced."""
    global _clock
    with _lock:
        previous, _clock = _clock, clock
    return previous


def current() -> Clock:
    """Return the installed clock."""
    return _clock


@dataclass
class AnchoredClock:
    """Simulated time shared by several processes: ``start`` was the time at wall ``anchor``."""

    start: datetime
    anchor: float
    speed: float = 1.0

    def now(self) -> datetime:
        """Return ``start`` plus the wall time since ``anchor``, times ``speed``."""
        elapsed = (time.time() - self.anchor) * self.speed
        return (self.start + timedelta(seconds=elapsed)).astimezone(UTC)


CLOCK_ENV = "ANBAO_CLOCK"


def clock_env(start: datetime, speed: float = 1.0) -> str:
    """Return the ``ANBAO_CLOCK`` value that makes server workers run simulated time."""
    if start.tzinfo is None:
        raise ValueError("the simulated start needs a time zone")
    if not speed > 0:
        raise ValueError("speed must be positive")
    return f"{start.isoformat()}|{time.time():.6f}|{speed}"


def install_from_environment() -> Clock | None:
    """Install the simulated clock named by ``ANBAO_CLOCK`` (set by ``anbao serve``), if any."""
    import os

    value = os.environ.get(CLOCK_ENV, "")
    if not value:
        return None
    try:
        start_text, anchor_text, speed_text = value.split("|")
        start = datetime.fromisoformat(start_text)
        anchor, speed = float(anchor_text), float(speed_text)
    except ValueError as exc:
        raise ValueError(f"{CLOCK_ENV} must be START|ANCHOR|SPEED: {exc}") from None
    if start.tzinfo is None or not speed > 0:
        raise ValueError(f"{CLOCK_ENV} needs an aware start and a positive speed")
    clock = AnchoredClock(start=start, anchor=anchor, speed=speed)
    install(clock)
    return clock
