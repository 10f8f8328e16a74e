"""Events published by the sites domain."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event


@dataclass(frozen=True)
class DeviceCameOnline(Event):
    """A device was heard from after being offline."""

    device_id: str
    at: str


@dataclass(frozen=True)
class DeviceWentOffline(Event):
    """A device stayed silent past its heartbeat timeout."""

    device_id: str
    at: str
    last_seen: str | None


@dataclass(frozen=True)
class SiteLoaded(Event):
    """A site definition was loaded or replaced."""

    event_code: str
