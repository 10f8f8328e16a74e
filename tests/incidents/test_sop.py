"""Incident types and their standard procedures; the pure rules of timers and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from anbao.incidents import engine
from anbao.incidents.models import IncidentKind, IncidentType, SopStep
from anbao.incidents.sop import TYPES, ensure_types

T0 = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)


def test_every_kind_has_a_type_with_a_bilingual_sop(event) -> None:  # type: ignore[no-untyped-def]
    rows = {t.code: t for t in IncidentType.objects.filter(event=event)}
    assert set(rows) == set(IncidentKind.values)
    for t in rows.values():
        steps = list(t.steps.all())
        assert steps, t.code
        assert [s.order for s in steps] == list(range(1, len(steps) + 1))
        assert all(s.text and s.text_en and s.text != s.text_en for s in steps)
        assert any(s.mandatory for s in steps)
        assert 0 < t.ack_s < t.respond_s < t.resolve_s
        assert t.escalation[0] == t.supervisor_role
        assert t.escalation[-1] == "admin"
    assert rows["suspicious_object"].unit_kinds[0] == "canine"
    assert rows["medical"].unit_kinds[0] == "medical"
    assert rows["prohibited_item"].supervisor_role == "checkpoint_leader"
    assert any(not s.mandatory for s in rows["intrusion"].steps.all())


def test_ensure_types_is_idempotent_and_keeps_local_edits(event) -> None:  # type: ignore[no-untyped-def]
    t = IncidentType.objects.get(event=event, code="drone")
    t.ack_s = 15
    t.save()
    SopStep.objects.filter(type=t, order=1).update(text_en="Look at the radar")
    n_steps = SopStep.objects.count()
    ensure_types(event)
    ensure_types(event)
    assert IncidentType.objects.filter(event=event).count() == len(TYPES)
    assert SopStep.objects.count() == n_steps
    t.refresh_from_db()
    assert t.ack_s == 15
    assert SopStep.objects.get(type=t, order=1).text_en == "Look at the radar"


def test_timers_overdue_late_and_left() -> None:
    timers = engine.timers(
        ack_due=T0 + timedelta(seconds=60),
        respond_due=T0 + timedelta(seconds=300),
        resolve_due=T0 + timedelta(seconds=1800),
        acknowledged_at=T0 + timedelta(seconds=90),
        responding_at=None,
        resolved_at=None,
        now=T0 + timedelta(seconds=400),
    )
    assert not timers["ack"].overdue
    assert timers["ack"].late
    assert timers["respond"].overdue
    assert timers["respond"].left_s == -100
    assert not timers["resolve"].overdue
    assert timers["resolve"].left_s == 1400
    assert engine.newly_overdue(timers, []) == ["respond"]
    assert engine.newly_overdue(timers, ["respond"]) == []


@pytest.mark.parametrize(
    ("level", "role"),
    [
        (0, "checkpoint_leader"),
        (1, "checkpoint_leader"),
        (2, "commander"),
        (3, "admin"),
        (9, "admin"),
    ],
)
def test_the_ladder_ends_at_its_last_role(level: int, role: str) -> None:
    assert engine.recipient(["checkpoint_leader", "commander", "admin"], level) == role


def test_alarm_escalation_levels() -> None:
    due = T0 + timedelta(seconds=120)
    assert engine.alarm_escalation_level(ack_due=due, interval_s=120, now=T0) == 0
    assert engine.alarm_escalation_level(ack_due=due, interval_s=120, now=due) == 1
    assert (
        engine.alarm_escalation_level(ack_due=due, interval_s=120, now=due + timedelta(seconds=119))
        == 1
    )
    assert (
        engine.alarm_escalation_level(ack_due=due, interval_s=120, now=due + timedelta(seconds=240))
        == 3
    )
    # A zero interval does not escalate on every tick: the minimum step applies.
    assert (
        engine.alarm_escalation_level(ack_due=due, interval_s=0, now=due + timedelta(seconds=29))
        == 1
    )


def test_state_rules() -> None:
    assert engine.can("close", "resolved")
    assert not engine.can("close", "open")
    assert not engine.can("resolve", "closed")
    assert engine.next_dispatch_states("dispatched") == [
        "accepted",
        "en_route",
        "on_scene",
        "cancelled",
    ]
    assert engine.next_dispatch_states("on_scene") == ["done"]
    assert engine.next_dispatch_states("done") == []
