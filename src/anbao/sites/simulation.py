"""Simulated device presence for the demo: heartbeats through the real heartbeat service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anbao.core import idempotency
from anbao.sites import devices
from anbao.sites.models import Device, DeviceKind

HEARTBEAT_EVERY = timedelta(seconds=30)
# Heartbeat receipts only guard against replays in flight; an hour is ample.
RECEIPT_RETENTION = timedelta(hours=1)
# Weather stations on the canal drop out for a while each hour, as real ones do on 4G.
DROPOUT_KINDS = {DeviceKind.WEATHER_STATION}
DROPOUT_MINUTES = range(40, 45)


@dataclass
class HeartbeatFleet:
    """Every device of the site sending heartbeats on schedule, with scripted dropouts."""

    name: str = "sites.heartbeats"
    last_sent: dict[int, datetime] = field(default_factory=dict)
    last_pruned: datetime | None = None

    def tick(self, now: datetime) -> int:
        """Send the heartbeats due at ``now`` and age out silent devices."""
        sent = 0
        for device in Device.objects.all():
            if device.kind in DROPOUT_KINDS and now.minute in DROPOUT_MINUTES:
                continue
            last = self.last_sent.get(device.pk)
            if last is not None and now - last < HEARTBEAT_EVERY:
                continue
            devices.record_heartbeat(device=device, message_id=uuid.uuid4().hex, sent_at=now)
            self.last_sent[device.pk] = now
            sent += 1
        devices.mark_silent_devices_offline()
        if self.last_pruned is None or now - self.last_pruned > RECEIPT_RETENTION:
            idempotency.prune(source_prefix="device:", before=now - RECEIPT_RETENTION)
            self.last_pruned = now
        return sent


def fleet() -> list[HeartbeatFleet]:
    """Return the simulated devices of the sites domain."""
    return [HeartbeatFleet()]
