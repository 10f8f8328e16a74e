"""Accounts events."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.core.bus import Event

__all__ = ["DeviceTokenChanged"]


@dataclass(frozen=True)
class DeviceTokenChanged(Event):
    """A device's token was revoked, rotated or replaced by a new enrolment."""

    device: str
