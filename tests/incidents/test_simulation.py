"""The demo's incidents and the simulated incident desk."""

from __future__ import annotations

from anbao.core import simulation
from anbao.incidents.models import Incident, SupervisorNotice
from anbao.incidents.simulation import IncidentDesk, setup_demo
from tests.incidents.conftest import HERE, raise_alarm


def test_setup_demo_makes_incidents_in_various_states_once(event, commander, unit) -> None:  # type: ignore[no-untyped-def]
    unit("med-1", HERE[0], HERE[1], kind="medical")
    unit("dog-1", HERE[0] + 0.001, HERE[1], kind="canine")
    unit("foot-1", HERE[0], HERE[1] + 0.001)
    raise_alarm(event, "device:DEMO-1")
    out = setup_demo(event)
    assert out["created"] == 5
    states = set(Incident.objects.filter(event=event).values_list("state", flat=True))
    assert {"open", "acknowledged", "responding", "closed"} <= states
    assert Incident.objects.filter(event=event, alarm_links__isnull=False).count() == 1
    assert SupervisorNotice.objects.filter(kind="step_skipped").count() == 1
    assert setup_demo(event) == {"created": 0}


def test_the_desk_escalates_and_opens_from_critical_alarms(event, at_event) -> None:  # type: ignore[no-untyped-def]
    assert "incidents" in simulation.registered()
    alarm = raise_alarm(event, "device:SIM-1", priority=1)
    desk = IncidentDesk()
    assert desk.tick(at_event.now()) == 1
    inc = Incident.objects.get(alarm_links__alarm=alarm)
    assert inc.type.code == "intrusion"
    assert inc.opened_by is None
    assert desk.tick(at_event.advance(5)) == 0  # not yet time to run again
    raise_alarm(event, "device:SIM-2", priority=1)
    assert desk.tick(at_event.advance(61)) == 1  # one escalation; no second incident yet
    inc.refresh_from_db()
    assert inc.escalation_level == 1
    assert Incident.objects.filter(event=event).count() == 1
