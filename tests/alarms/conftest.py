"""Fixtures shared by the alarm tests: the event, a clock at night on an event day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from anbao.alarms import services
from anbao.core import clock
from anbao.sites.models import Event
from tests.conftest import MovingClock

NIGHT = datetime(2026, 11, 8, 15, 30, tzinfo=UTC)  # 23:30 in Wuzhen, the first event night


@pytest.fixture
def night(db) -> Iterator[MovingClock]:  # type: ignore[no-untyped-def]
    fixed = MovingClock(NIGHT)
    previous = clock.install(fixed)
    services.forget_cached()
    yield fixed
    clock.install(previous)
    services.forget_cached()


@pytest.fixture
def event(db) -> Event:  # type: ignore[no-untyped-def]
    return Event.objects.get(code="wic2026")
