"""The clock, the bus (publish after commit; failed handlers kept) and the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from anbao.core import audit, bus, clock
from anbao.core.models import AuditEntry, FailedEvent


def test_simulation_clock_runs_faster() -> None:
    start = datetime(2026, 11, 8, 6, 0, tzinfo=UTC)
    sim = clock.SimulationClock(start=start, speed=3600)
    import time

    time.sleep(0.05)
    assert sim.now() - start >= timedelta(seconds=150)


def test_simulation_clock_refuses_naive_time_and_bad_speed() -> None:
    with pytest.raises(ValueError, match="aware"):
        clock.SimulationClock(start=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="positive"):
        clock.SimulationClock(start=datetime(2026, 1, 1, tzinfo=UTC), speed=0)


def test_installed_clock_is_used_and_restored() -> None:
    fixed = clock.FixedClock(datetime(2026, 11, 8, tzinfo=UTC))
    previous = clock.install(fixed)
    try:
        assert clock.now() == fixed.current
        fixed.advance(timedelta(minutes=5))
        assert clock.now() == datetime(2026, 11, 8, 0, 5, tzinfo=UTC)
    finally:
        clock.install(previous)


@dataclass(frozen=True)
class Pinged(bus.Event):
    value: int


@pytest.mark.django_db(transaction=True)
def test_publish_waits_for_commit_and_skips_rollback() -> None:
    seen: list[int] = []
    bus.subscribe(Pinged, lambda e: seen.append(e.value))  # type: ignore[attr-defined]
    with transaction.atomic():
        bus.publish(Pinged(1))
        assert seen == []
    assert seen == [1]

    def publish_then_fail() -> None:
        with transaction.atomic():
            bus.publish(Pinged(2))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert seen == [1]


@dataclass(frozen=True)
class Exploded(bus.Event):
    why: str


@pytest.mark.django_db(transaction=True)
def test_failing_handler_is_recorded_for_retry() -> None:
    def boom(event: bus.Event) -> None:
        raise ValueError("handler broke")

    bus.subscribe(Exploded, boom)
    bus.publish(Exploded("test"))
    row = FailedEvent.objects.get(event_type="Exploded")
    assert "handler broke" in row.error
    assert row.payload == {"why": "test"}


@pytest.mark.django_db
def test_audit_row_carries_context_and_snapshot(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("planner")
    ctx = audit.AuditContext(
        actor_id=user.pk, actor_label="planner-user", source="api", ip="127.0.0.1"
    )
    with audit.acting_as(ctx):
        entry = audit.record("test.changed", obj=user, before={"a": 1}, after={"a": 2})
        read = audit.record_read("id_number", obj=user)
    assert entry.actor_id == user.pk
    assert entry.source == "api"
    assert entry.ip == "127.0.0.1"
    assert entry.object_type == "accounts.user"
    assert read.is_read
    assert read.action == "read:id_number"
    snap = audit.snapshot(user, ["username", "role"])
    assert snap == {"username": "planner-user", "role": "planner"}
    assert AuditEntry.objects.filter(action="test.changed").count() == 1
