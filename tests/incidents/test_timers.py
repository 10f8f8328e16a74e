"""Timers and escalation of incidents and alarms, with a clock that moves only when told."""

from __future__ import annotations

from datetime import timedelta

from anbao.alarms import services as alarm_services
from anbao.alarms.models import AlarmAction
from anbao.core import bus
from anbao.core.models import AuditEntry
from anbao.incidents import dispatching, events, queries, services, timers
from anbao.incidents.models import SupervisorNotice
from tests.incidents.conftest import EVENT_TIME, HERE, raise_alarm


def _open(event, user, kind: str = "intrusion"):  # type: ignore[no-untyped-def]
    return services.open_incident(event=event, type_code=kind, lon=HERE[0], lat=HERE[1], user=user)


def test_overdue_timers_escalate_once_each_up_the_ladder(
    event, commander, at_event, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    inc = _open(event, commander, "prohibited_item")  # ack 120 s, respond 600 s, resolve 1800 s
    assert timers.tick(event, now=at_event.advance(119)) == {"escalated": 0}
    seen: list[bus.Event] = []
    remove = bus.listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert timers.tick(event, now=at_event.advance(2)) == {"escalated": 1}
    finally:
        remove()
    inc.refresh_from_db()
    assert inc.escalation_level == 1
    (esc,) = [e for e in seen if isinstance(e, events.IncidentEscalated)]
    assert (esc.timer, esc.level, esc.recipient_role) == ("ack", 1, "checkpoint_leader")
    assert SupervisorNotice.objects.filter(incident=inc, role="checkpoint_leader").count() == 1
    assert AuditEntry.objects.filter(action="incident.escalate", object_id=str(inc.pk)).count() == 1
    # Once per timer: the same overdue timer does not escalate again.
    assert timers.tick(event, now=at_event.advance(60)) == {"escalated": 0}
    # The big screen sees the overdue acknowledgement.
    (row,) = [r for r in queries.open_incidents(event) if r["id"] == inc.pk]
    assert row["timers"]["ack"]["overdue"]
    assert not row["timers"]["respond"]["overdue"]
    assert row["escalation"] == 1
    services.acknowledge(incident_id=inc.pk, user=commander)
    at_event.current = EVENT_TIME + timedelta(seconds=601)
    assert timers.tick(event) == {"escalated": 1}
    inc.refresh_from_db()
    assert inc.escalation_level == 2
    assert inc.escalated_timers == ["ack", "respond"]
    assert SupervisorNotice.objects.filter(incident=inc, role="commander").count() == 1
    entries = list(inc.entries.filter(action="escalated").values_list("text", flat=True))
    assert entries == [
        "level 1: acknowledge overdue, checkpoint_leader told",
        "level 2: first unit on scene overdue, commander told",
    ]


def test_met_timers_and_resolved_incidents_do_not_escalate(
    event, commander, unit, at_event
) -> None:  # type: ignore[no-untyped-def]
    unit("u1", HERE[0], HERE[1])
    inc = _open(event, commander, "medical")  # ack 30, respond 240
    d = dispatching.dispatch(incident_id=inc.pk, unit_code="u1", user=commander)
    at_event.advance(20)
    dispatching.report(dispatch_id=d.pk, state="on_scene")
    assert timers.tick(event, now=at_event.advance(3000))["escalated"] == 1  # only resolve
    inc.refresh_from_db()
    assert inc.escalated_timers == ["resolve"]
    done = _open(event, commander, "other")
    for s in done.steps.filter(mandatory=True):
        services.complete_step(incident_id=done.pk, order=s.order, user=commander)
    services.resolve(incident_id=done.pk, user=commander)
    timers.tick(event, now=at_event.advance(86_400))
    done.refresh_from_db()
    assert done.escalation_level == 0


def test_queries_for_the_big_screen(event, commander, unit, at_event) -> None:  # type: ignore[no-untyped-def]
    unit("u1", HERE[0], HERE[1])
    a = services.open_incident(event=event, type_code="crowd", checkpoint="wicc-n", user=commander)
    assert a.venue is not None
    assert (a.lon, a.lat) == (a.checkpoint.lon, a.checkpoint.lat)
    b = _open(event, commander, "drone")
    dispatching.dispatch(incident_id=b.pk, unit_code="u1", user=commander)
    rows = queries.open_incidents(event)
    assert [r["id"] for r in rows][:1] == [b.pk]  # P1 before P2
    row = next(r for r in rows if r["id"] == b.pk)
    assert set(row) >= {
        "id",
        "number",
        "type",
        "type_label",
        "title",
        "priority",
        "state",
        "opened_at",
        "lon",
        "lat",
        "timers",
        "escalation",
        "units",
    }
    assert set(row["timers"]) == {"ack", "respond", "resolve"}
    assert set(row["timers"]["ack"]) >= {"due", "overdue"}
    assert row["units"] == [{"code": "u1", "state": "dispatched"}]
    assert row["type_label"] == "Drone incursion"
    only = queries.open_incidents(event, venue=a.venue.code)
    assert a.pk in [r["id"] for r in only]
    assert next(r for r in rows if r["id"] == a.pk)["checkpoint"] == "wicc-n"
    assert queries.open_incidents(event, venue="no-such-venue") == []
    counts = queries.incident_counts(event, since=EVENT_TIME - timedelta(minutes=1))
    assert counts["opened"] == 2
    assert counts["resolved"] == 0
    assert counts["by_type"] == {"crowd": 1, "drone": 1}
    assert queries.incident_counts(event, since=EVENT_TIME + timedelta(hours=1))["opened"] == 0


def test_alarm_escalates_while_new_and_stops_when_acknowledged(
    event, commander, at_event, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    alarm = raise_alarm(event, "device:ESC-1")
    interval = (alarm.ack_due_at - alarm.raised_at).total_seconds()
    assert interval > 0
    seen: list[bus.Event] = []
    remove = bus.listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            out = alarm_services.tick(event, now=alarm.ack_due_at)
        assert out["overdue"] >= 1
        alarm.refresh_from_db()
        assert alarm.details["escalation"]["level"] == 1
        assert alarm.details["escalation"]["recipient_role"] == "commander"
        with django_capture_on_commit_callbacks(execute=True):
            out = alarm_services.tick(
                event, now=alarm.ack_due_at + timedelta(seconds=max(interval, 30))
            )
        assert out.get("escalated", 0) >= 1
        assert out["overdue"] == 0
    finally:
        remove()
    alarm.refresh_from_db()
    assert alarm.details["escalation"]["level"] == 2
    assert alarm.details["escalation"]["recipient_role"] == "admin"
    mine = [e for e in seen if isinstance(e, events.AlarmEscalated) and e.alarm_id == alarm.pk]
    assert [(e.level, e.recipient_role) for e in mine] == [(1, "commander"), (2, "admin")]
    texts = list(alarm.entries.filter(action=AlarmAction.OVERDUE).values_list("text", flat=True))
    assert texts == ["escalated to level 1: commander", "escalated to level 2: admin"]
    assert AuditEntry.objects.filter(action="alarm.escalate", object_id=str(alarm.pk)).count() == 2
    # Nothing more until the next interval; acknowledging stops it for good.
    alarm_services.tick(event, now=alarm.ack_due_at + timedelta(seconds=max(interval, 30) + 1))
    alarm.refresh_from_db()
    assert alarm.details["escalation"]["level"] == 2
    alarm_services.clear(
        event=event, source_type="intrusion", source_key="device:ESC-1", at=at_event.now()
    )
    alarm.refresh_from_db()
    if alarm.workflow == "new":
        alarm_services.acknowledge(alarm_id=alarm.pk, user=commander)
    alarm_services.tick(event, now=alarm.ack_due_at + timedelta(days=1))
    alarm.refresh_from_db()
    assert alarm.details["escalation"]["level"] == 2
