"""Fixtures for the incident tests: the event, a clock that moves only when told, units."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from anbao.accounts.models import User
from anbao.accounts.roles import Role
from anbao.alarms import services as alarm_services
from anbao.alarms.models import Alarm
from anbao.core import clock
from anbao.incidents.sop import ensure_types
from anbao.sites.models import Event
from anbao.workforce.models import ReserveUnit
from tests.conftest import MovingClock

EVENT_TIME = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # 10:00 in Wuzhen, on an event day
HERE = (120.4870, 30.7440)  # near the convention centre


@pytest.fixture
def at_event(db) -> Iterator[MovingClock]:  # type: ignore[no-untyped-def]
    fixed = MovingClock(EVENT_TIME)
    previous = clock.install(fixed)
    alarm_services.forget_cached()
    yield fixed
    clock.install(previous)
    alarm_services.forget_cached()


@pytest.fixture
def event(at_event) -> Event:  # type: ignore[no-untyped-def]
    ev = Event.objects.get(code="wic2026")
    ensure_types(ev)
    return ev


@pytest.fixture
def commander(make_user) -> User:  # type: ignore[no-untyped-def]
    return make_user(Role.COMMANDER, username="cmd")


@pytest.fixture
def unit(event) -> Callable[..., ReserveUnit]:  # type: ignore[no-untyped-def]
    def _make(code: str, lon: float, lat: float, kind: str = "foot") -> ReserveUnit:
        return ReserveUnit.objects.create(
            event=event, code=code, name=code, name_en=code, kind=kind, lon=lon, lat=lat
        )

    return _make


def raise_alarm(event: Event, key: str = "device:T-1", *, priority: int | None = None) -> Alarm:
    """Raise an intrusion alarm near the convention centre."""
    result = alarm_services.trigger(
        event=event,
        source_type="intrusion",
        source_key=key,
        at=clock.now(),
        lon=HERE[0],
        lat=HERE[1],
        priority=priority,
    )
    assert result.alarm is not None, result.outcome
    return result.alarm
