"""Opening incidents by hand and from alarms, SOP steps, resolving and closing."""

from __future__ import annotations

import pytest

from anbao.alarms.models import AlarmEntry
from anbao.core import bus
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.incidents import events, services
from anbao.incidents.models import EntryAction, IncidentState, StepStatus, SupervisorNotice
from tests.incidents.conftest import HERE, raise_alarm


def _open(event, user, kind: str = "intrusion", **kw):  # type: ignore[no-untyped-def]
    return services.open_incident(
        event=event, type_code=kind, lon=HERE[0], lat=HERE[1], user=user, **kw
    )


def _finish_mandatory(incident, user) -> None:  # type: ignore[no-untyped-def]
    for step in incident.steps.filter(mandatory=True, status="pending"):
        services.complete_step(incident_id=incident.pk, order=step.order, user=user)


def test_open_by_hand_copies_the_sop_and_sets_timers(event, commander, at_event) -> None:  # type: ignore[no-untyped-def]
    inc = _open(event, commander, "medical", title="Visitor collapsed at gate 3")
    assert inc.number >= 1
    assert inc.state == IncidentState.OPEN
    assert inc.priority == 2
    assert inc.title == "Visitor collapsed at gate 3"
    assert (inc.ack_due_at - inc.opened_at).total_seconds() == 30
    assert (inc.respond_due_at - inc.opened_at).total_seconds() == 240
    assert inc.steps.count() == inc.type.steps.count()
    assert inc.entries.filter(action=EntryAction.OPENED, user=commander).exists()
    assert AuditEntry.objects.filter(action="incident.open", object_id=str(inc.pk)).exists()
    second = _open(event, commander, "other")
    assert second.number == inc.number + 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"type_code": "earthquake"}, "incidents.unknown_type"),
        ({"type_code": "other", "lon": 200.0, "lat": 30.0}, "incidents.bad_position"),
        ({"type_code": "other", "lon": 120.0}, "incidents.bad_position"),
        ({"type_code": "other", "lon": float("nan"), "lat": 30.0}, "incidents.bad_position"),
        ({"type_code": "other", "priority": 7}, "incidents.bad_priority"),
        ({"type_code": "other", "checkpoint": "no-such-gate"}, "incidents.unknown_reference"),
        ({"type_code": "other", "alarm_ids": [987654]}, "incidents.unknown_alarm"),
    ],
)
def test_bad_inputs_are_refused_with_a_code(event, commander, kwargs, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        services.open_incident(event=event, user=commander, **kwargs)
    assert err.value.code == code
    assert err.value.status in (404, 422)


def test_open_from_an_alarm_and_attach_another(event, commander) -> None:  # type: ignore[no-untyped-def]
    a1 = raise_alarm(event, "device:T-1", priority=3)
    a2 = raise_alarm(event, "device:T-2", priority=1)
    inc = services.open_incident(
        event=event, type_code="intrusion", alarm_ids=[a1.pk], user=commander
    )
    assert (inc.lon, inc.lat) == HERE
    assert inc.title == a1.title_en
    assert inc.priority == 1  # the type's priority is more urgent than the alarm's
    assert AlarmEntry.objects.filter(alarm=a1, text__contains=f"incident #{inc.number}").exists()
    services.attach_alarm(incident_id=inc.pk, alarm_id=a2.pk, user=commander)
    assert inc.alarm_links.count() == 2
    with pytest.raises(DomainError) as err:
        services.attach_alarm(incident_id=inc.pk, alarm_id=a2.pk, user=commander)
    assert err.value.code == "incidents.alarm_attached"
    with pytest.raises(DomainError) as err:
        services.open_incident(
            event=event, type_code="intrusion", alarm_ids=[a1.pk], user=commander
        )
    assert err.value.code == "incidents.alarm_attached"


def test_skip_needs_a_comment_and_tells_the_supervisor(
    event, commander, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    inc = _open(event, commander, "prohibited_item")
    for empty in ("", "   "):
        with pytest.raises(DomainError) as err:
            services.skip_step(incident_id=inc.pk, order=1, user=commander, comment=empty)
        assert err.value.code == "incidents.comment_required"
    assert inc.steps.get(order=1).status == StepStatus.PENDING
    seen: list[bus.Event] = []
    remove = bus.listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.skip_step(
                incident_id=inc.pk, order=1, user=commander, comment="person ran; police chase"
            )
    finally:
        remove()
    step = inc.steps.get(order=1)
    assert step.status == StepStatus.SKIPPED
    assert step.comment == "person ran; police chase"
    (notice,) = SupervisorNotice.objects.filter(incident=inc)
    assert notice.role == "checkpoint_leader"
    assert "police chase" in notice.text
    skipped = [e for e in seen if isinstance(e, events.SopStepSkipped)]
    assert [(e.step, e.supervisor_role) for e in skipped] == [(1, "checkpoint_leader")]
    assert AuditEntry.objects.filter(action="incident.step_skipped", object_id=str(inc.pk)).exists()
    inc.refresh_from_db()
    assert inc.state == IncidentState.ACKNOWLEDGED  # working the SOP acknowledges
    # An optional step skipped tells nobody.
    optional = inc.steps.filter(mandatory=False).first()
    services.skip_step(incident_id=inc.pk, order=optional.order, user=commander, comment="n/a")
    assert SupervisorNotice.objects.filter(incident=inc).count() == 1
    with pytest.raises(DomainError) as err:
        services.complete_step(incident_id=inc.pk, order=1, user=commander)
    assert err.value.code == "incidents.step_closed"
    with pytest.raises(DomainError) as err:
        services.complete_step(incident_id=inc.pk, order=99, user=commander)
    assert err.value.code == "incidents.unknown_step"


def test_resolve_is_refused_until_the_sop_is_complete(event, commander) -> None:  # type: ignore[no-untyped-def]
    inc = _open(event, commander, "suspicious_object")
    services.complete_step(incident_id=inc.pk, order=1, user=commander)
    with pytest.raises(DomainError) as err:
        services.resolve(incident_id=inc.pk, user=commander)
    assert err.value.code == "incidents.sop_incomplete"
    assert err.value.status == 409
    pending = [s.order for s in inc.steps.filter(mandatory=True).exclude(order=1)]
    assert err.value.detail["steps"] == pending
    assert "Make sure nobody touches" in err.value.message
    assert {p.field for p in err.value.problems} == {f"steps.{o}" for o in pending}
    inc.refresh_from_db()
    assert inc.state != IncidentState.RESOLVED
    _finish_mandatory(inc, commander)
    services.resolve(incident_id=inc.pk, user=commander, note="a forgotten bag; owner found")
    inc.refresh_from_db()
    assert inc.state == IncidentState.RESOLVED
    assert inc.resolved_at is not None


def test_illegal_moves_and_close(event, commander) -> None:  # type: ignore[no-untyped-def]
    inc = _open(event, commander, "other")
    with pytest.raises(DomainError) as err:
        services.close(incident_id=inc.pk, user=commander, disposition="real")
    assert err.value.code == "incidents.bad_state"
    services.acknowledge(incident_id=inc.pk, user=commander)
    with pytest.raises(DomainError) as err:
        services.acknowledge(incident_id=inc.pk, user=commander)
    assert err.value.code == "incidents.bad_state"
    _finish_mandatory(inc, commander)
    services.resolve(incident_id=inc.pk, user=commander)
    with pytest.raises(DomainError) as err:
        services.close(incident_id=inc.pk, user=commander, disposition="")
    assert err.value.code == "incidents.disposition_required"
    with pytest.raises(DomainError) as err:
        services.complete_step(incident_id=inc.pk, order=1, user=commander)
    assert err.value.code == "incidents.bad_state"
    services.close(incident_id=inc.pk, user=commander, disposition="false_alarm", note="cat")
    inc.refresh_from_db()
    assert inc.state == IncidentState.CLOSED
    assert inc.disposition == "false_alarm"
    with pytest.raises(DomainError) as err:
        services.resolve(incident_id=inc.pk, user=commander)
    assert err.value.code == "incidents.bad_state"
    with pytest.raises(DomainError) as err:
        services.add_note(incident_id=inc.pk, user=commander, text="  ")
    assert err.value.code == "incidents.note_required"
    actions = list(inc.entries.values_list("action", flat=True))
    assert actions[0] == "opened"
    assert actions[-1] == "closed"
    assert "resolved" in actions
