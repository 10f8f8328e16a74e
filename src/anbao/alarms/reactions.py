"""Bus handlers of the alarms domain: reactions to other domains' events."""

from __future__ import annotations

from datetime import datetime

from anbao.alarms import services
from anbao.alarms.models import SourceType
from anbao.core import bus
from anbao.sites.events import DeviceCameOnline, DeviceWentOffline
from anbao.sites.models import Device

# Gate scanners have their own offline mode and the leader's page; their silence is no alarm.
NO_OFFLINE_ALARM = frozenset({"gate_scanner"})


def _device(external_id: str) -> Device | None:
    return Device.objects.select_related("event").filter(external_id=external_id).first()


def on_device_offline(event: bus.Event) -> None:
    """Raise an alarm for a device gone silent: the silence is itself an alarm."""
    assert isinstance(event, DeviceWentOffline)  # noqa: S101 - subscribed to this type only
    device = _device(event.device_id)
    if device is None or device.kind in NO_OFFLINE_ALARM:
        return
    services.trigger(
        event=device.event,
        source_type=SourceType.DEVICE_OFFLINE,
        source_key=f"device:{device.external_id}",
        at=datetime.fromisoformat(event.at),
        device=device,
        lon=device.lon,
        lat=device.lat,
        details={"last_seen": event.last_seen},
    )


def on_device_online(event: bus.Event) -> None:
    """Clear the offline alarm of a device heard from again."""
    assert isinstance(event, DeviceCameOnline)  # noqa: S101 - subscribed to this type only
    device = _device(event.device_id)
    if device is None:
        return
    services.clear(
        event=device.event,
        source_type=SourceType.DEVICE_OFFLINE,
        source_key=f"device:{device.external_id}",
        at=datetime.fromisoformat(event.at),
    )


def connect() -> None:
    """Subscribe the handlers (from the app's ``ready``)."""
    bus.subscribe(DeviceWentOffline, on_device_offline)
    bus.subscribe(DeviceCameOnline, on_device_online)
