"""Simulated sensors for the demo: perimeter and counter-drone scenarios through the pipeline.

The scenarios come from ``devicesim`` in the devices' own formats and go through the same
ingestion pipeline as MQTT and HTTP messages; only the broker is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anbao.alarms import devicesim
from anbao.alarms.ingest import Incoming, Pipeline

log = logging.getLogger(__name__)

BATCH = 500
DAY = timedelta(hours=24)


def scenarios(
    site: devicesim.SimSite, start: datetime, seed: int
) -> Iterator[devicesim.SimMessage]:
    """Return one simulated day of sensor traffic from ``start``, in time order."""
    h = timedelta(hours=1)
    m = timedelta(minutes=1)
    # The first drone and intruders come within minutes: someone opening the demo should see
    # alarms arrive without waiting a quarter of an hour.
    streams = [
        devicesim.drone_with_remote_id(site, start=start + 1 * m, seed=seed),
        devicesim.intruders(site, start=start + 3 * m, seed=seed + 1, count=2, spacing_s=600),
        devicesim.wind_gusts(site, start=start + 40 * m, seed=seed + 2, duration_s=3600),
        devicesim.drone_without_remote_id(site, start=start + 1 * h + 10 * m, seed=seed + 3),
        devicesim.fence_cut(site, start=start + 2 * h, seed=seed + 4, restore_after_s=1200),
        devicesim.drone_with_remote_id(site, start=start + 5 * h, seed=seed + 5),
        # After dark: people crossing the canal bank.
        devicesim.intruders(site, start=start + 15 * h, seed=seed + 6, count=3, spacing_s=1800),
        devicesim.drone_without_remote_id(site, start=start + 17 * h, seed=seed + 7),
    ]
    return devicesim.merge(*streams)


@dataclass
class SensorTraffic:
    """Feeds a day of simulated sensor messages into the pipeline as simulated time passes."""

    name: str = "alarms.sensors"
    pipeline: Pipeline | None = None
    site: devicesim.SimSite | None = None
    stream: Iterator[devicesim.SimMessage] | None = None
    pending: devicesim.SimMessage | None = None
    day_start: datetime | None = None
    seed: int = 2026
    sent: int = field(default=0)

    def _begin(self, now: datetime) -> None:
        from anbao.sites import services as sites
        from anbao.sites.demo import DEMO_SITE_PATH

        event = sites.current_event()
        if event is None:
            raise RuntimeError("no event loaded")
        self.pipeline = Pipeline(event)
        self.site = devicesim.load_site(DEMO_SITE_PATH)
        self._new_day(now)

    def _new_day(self, now: datetime) -> None:
        assert self.site is not None  # noqa: S101 - set by _begin
        self.day_start = now
        self.stream = scenarios(self.site, now, self.seed)
        self.seed += 100
        self.pending = None

    def tick(self, now: datetime) -> int:
        """Feed every message due by ``now``; run the pipeline's timers."""
        if self.pipeline is None:
            self._begin(now)
        assert self.pipeline is not None  # noqa: S101 - set by _begin
        if self.day_start is not None and now - self.day_start >= DAY:
            self._new_day(now)
        sent = 0
        batch: list[Incoming] = []
        while True:
            msg = self.pending or next(self.stream or iter(()), None)
            self.pending = None
            if msg is None:
                break
            if msg.at > now:
                self.pending = msg
                break
            batch.append(Incoming(msg.topic, msg.payload, msg.at))
            if len(batch) >= BATCH:
                self.pipeline.handle(batch)
                sent += len(batch)
                batch = []
        if batch:
            self.pipeline.handle(batch)
            sent += len(batch)
        self.pipeline.tick(now)
        self.sent += sent
        return sent


def sensor_simulation() -> list[SensorTraffic]:
    """Return the simulated devices of the alarms domain."""
    return [SensorTraffic()]
