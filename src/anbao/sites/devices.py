"""Device presence: heartbeats set a device online; silence past the timeout sets it offline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from anbao.core import audit, bus, clock, idempotency
from anbao.core.errors import DomainError, Forbidden
from anbao.sites.events import DeviceCameOnline, DeviceWentOffline
from anbao.sites.models import Device

HEARTBEAT_TIMEOUT = timedelta(seconds=90)
# A device clock further off than this is reported, because scans depend on it.
CLOCK_SKEW_WARNING = timedelta(seconds=30)


@dataclass(frozen=True)
class HeartbeatResult:
    """The answer to a heartbeat."""

    device_id: str
    online: bool
    duplicate: bool
    clock_skew_s: float
    server_time: datetime


def check_device_scope(device: Device, device_id: str) -> None:
    """Refuse a device token used for another device's endpoint."""
    if device.external_id != device_id:
        raise Forbidden("auth.device_mismatch", "This device token belongs to another device.")


@transaction.atomic
def record_heartbeat(*, device: Device, message_id: str, sent_at: datetime) -> HeartbeatResult:
    """Record a heartbeat; a replayed message id changes nothing and gets the first answer."""
    if not message_id or len(message_id) > 100:
        raise DomainError("devices.bad_message_id", "message_id must be 1 to 100 characters.")
    source = f"device:{device.external_id}"
    previous = idempotency.seen(source, message_id)
    now = clock.now()
    if previous is not None:
        return HeartbeatResult(
            device_id=device.external_id,
            online=bool(previous.get("online")),
            duplicate=True,
            clock_skew_s=float(previous.get("clock_skew_s", 0.0)),
            server_time=now,
        )
    skew = (sent_at - now).total_seconds()
    came_online = not device.online
    Device.objects.filter(pk=device.pk).update(online=True, last_seen=now)
    if came_online:
        audit.record(
            "devices.came_online", obj=device, before={"online": False}, after={"online": True}
        )
        bus.publish(DeviceCameOnline(device_id=device.external_id, at=now.isoformat()))
    idempotency.remember(source, message_id, {"online": True, "clock_skew_s": skew})
    return HeartbeatResult(
        device_id=device.external_id,
        online=True,
        duplicate=False,
        clock_skew_s=skew,
        server_time=now,
    )


def mark_seen(seen: dict[int, datetime]) -> list[str]:
    """Record when devices were last heard from (by pk); bring offline ones back online.

    Ingestion calls this in bulk instead of one heartbeat call per message. Returns the ids of
    the devices that came back online.
    """
    if not seen:
        return []
    rows = list(Device.objects.filter(pk__in=list(seen)).only("pk", "external_id", "online"))
    back = [d for d in rows if not d.online]
    for d in rows:
        d.last_seen, d.online = seen[d.pk], True
    Device.objects.bulk_update(rows, ["last_seen", "online"], batch_size=500)
    for device in back:
        audit.record(
            "devices.came_online", obj=device, before={"online": False}, after={"online": True}
        )
        bus.publish(DeviceCameOnline(device_id=device.external_id, at=seen[device.pk].isoformat()))
    return [d.external_id for d in back]


@transaction.atomic
def mark_silent_devices_offline(*, timeout: timedelta = HEARTBEAT_TIMEOUT) -> list[str]:
    """Set every online device not heard from within ``timeout`` offline; return their ids."""
    now = clock.now()
    cutoff = now - timeout
    stale = list(
        Device.objects.select_for_update().filter(online=True, last_seen__lt=cutoff)
    ) + list(Device.objects.select_for_update().filter(online=True, last_seen__isnull=True))
    for device in stale:
        Device.objects.filter(pk=device.pk).update(online=False)
        audit.record(
            "devices.went_offline", obj=device, before={"online": True}, after={"online": False}
        )
        bus.publish(
            DeviceWentOffline(
                device_id=device.external_id,
                at=now.isoformat(),
                last_seen=device.last_seen.isoformat() if device.last_seen else None,
            )
        )
    return [d.external_id for d in stale]
