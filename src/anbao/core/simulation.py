"""The demo's simulation: one clock, and simulated devices that later domains plug in.

Each domain registers a factory in its ``AppConfig.ready``; the simulator ticks every
simulated device on a background thread, feeding the same services that real devices do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from anbao.core import clock as clock_module

log = logging.getLogger(__name__)


class SimulatedDevice(Protocol):
    """Something that acts on each tick of simulated time."""

    name: str

    def tick(self, now: datetime) -> int:
        """Advance to ``now``; return how many messages it sent."""
        ...


SimulatorFactory = Callable[[], list[SimulatedDevice]]
_factories: dict[str, SimulatorFactory] = {}


def register(name: str, factory: SimulatorFactory) -> None:
    """Register a factory of simulated devices under ``name`` (idempotent)."""
    _factories[name] = factory


def registered() -> dict[str, SimulatorFactory]:
    """Return the registered factories by name."""
    return dict(_factories)


@dataclass
class Simulator:
    """Ticks simulated devices on a background thread every ``interval_s`` wall seconds."""

    devices: list[SimulatedDevice]
    interval_s: float = 1.0
    messages: int = 0
    ticks: int = 0
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @classmethod
    def from_registry(cls, interval_s: float = 1.0) -> Simulator:
        """Build a simulator with every registered domain's devices."""
        devices: list[SimulatedDevice] = []
        for name, factory in sorted(_factories.items()):
            made = factory()
            log.info("simulation: %s gives %d simulated devices", name, len(made))
            devices.extend(made)
        return cls(devices=devices, interval_s=interval_s)

    def tick(self) -> int:
        """Tick every device once at the installed clock's time."""
        from django.db import close_old_connections

        now = clock_module.now()
        sent = 0
        for device in self.devices:
            try:
                sent += device.tick(now)
            except Exception:  # one broken simulated device must not stop the demo
                self.errors += 1
                log.exception("simulated device %s failed", device.name)
        self.ticks += 1
        self.messages += sent
        close_old_connections()
        return sent

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def start(self) -> None:
        """Start ticking in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="anbao-simulator", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop ticking and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
