"""Dispatch: nearest free units, the unit's state flow and its sync with the workforce unit."""

from __future__ import annotations

import pytest

from anbao.core import bus
from anbao.core.errors import DomainError
from anbao.incidents import dispatching, events, services
from anbao.incidents.models import IncidentState
from tests.incidents.conftest import HERE


def _open(event, user, kind: str = "intrusion"):  # type: ignore[no-untyped-def]
    return services.open_incident(event=event, type_code=kind, lon=HERE[0], lat=HERE[1], user=user)


def test_proposals_nearest_first_busy_skipped_preferred_kind_added(event, commander, unit) -> None:  # type: ignore[no-untyped-def]
    unit("near", 120.4871, 30.7441)
    unit("mid", 120.4900, 30.7460)
    unit("far", 120.5600, 30.6300, kind="canine")
    busy = unit("busy", 120.4870, 30.7440)
    for i in range(5):
        unit(f"x{i}", 120.50 + i * 0.001, 30.75)
    other = _open(event, commander, "other")
    dispatching.dispatch(incident_id=other.pk, unit_code=busy.code, user=commander)
    inc = _open(event, commander, "suspicious_object")
    found = dispatching.proposals(inc, limit=5)
    codes = [p["code"] for p in found]
    assert "busy" not in codes
    assert codes[:2] == ["near", "mid"]
    # The far canine team is not among the five nearest, but a suspicious object wants one.
    assert codes[-1] == "far"
    assert found[-1]["preferred"]
    dists = [p["distance_km"] for p in found]
    assert dists == sorted(dists)
    # Without a position there is nothing to rank.
    nowhere = services.open_incident(event=event, type_code="other", user=commander)
    with pytest.raises(DomainError) as err:
        dispatching.proposals(nowhere)
    assert err.value.code == "incidents.no_location"


def test_unit_flow_keeps_the_workforce_unit_in_step(
    event, commander, unit, at_event, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    u = unit("dog-1", 120.4880, 30.7450, kind="canine")
    inc = _open(event, commander, "suspicious_object")
    seen: list[bus.Event] = []
    remove = bus.listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            d = dispatching.dispatch(incident_id=inc.pk, unit_code="dog-1", user=commander)
    finally:
        remove()
    u.refresh_from_db()
    assert u.state == "dispatched"
    assert f"#{inc.number}" in u.task
    assert d.distance_km == pytest.approx(0.14, abs=0.02)
    assert [e.state for e in seen if isinstance(e, events.DispatchChanged)] == ["dispatched"]
    inc.refresh_from_db()
    assert inc.state == IncidentState.ACKNOWLEDGED  # dispatching acknowledges
    with pytest.raises(DomainError) as err:
        dispatching.dispatch(incident_id=inc.pk, unit_code="dog-1", user=commander)
    assert err.value.code == "incidents.unit_busy"
    with pytest.raises(DomainError) as err:
        dispatching.dispatch(incident_id=inc.pk, unit_code="nobody", user=commander)
    assert err.value.code == "incidents.unknown_unit"

    at_event.advance(60)
    dispatching.report(dispatch_id=d.pk, state="accepted")
    dispatching.report(dispatch_id=d.pk, state="en_route")
    u.refresh_from_db()
    assert u.state == "dispatched"
    with pytest.raises(DomainError) as err:
        dispatching.report(dispatch_id=d.pk, state="done")
    assert err.value.code == "incidents.bad_transition"
    with pytest.raises(DomainError) as err:
        dispatching.report(dispatch_id=d.pk, state="flying")
    assert err.value.code == "incidents.bad_dispatch_state"
    at_event.advance(60)
    dispatching.report(dispatch_id=d.pk, state="on_scene")
    u.refresh_from_db()
    inc.refresh_from_db()
    assert u.state == "on_scene"
    assert inc.state == IncidentState.RESPONDING
    assert inc.responding_at == at_event.now()
    assert inc.entries.filter(action="responding", actor="unit:dog-1").exists()
    dispatching.report(dispatch_id=d.pk, state="done")
    u.refresh_from_db()
    d.refresh_from_db()
    assert u.state == "available"
    assert u.task == ""
    assert d.state == "done"
    assert d.done_at is not None
    # Free again: it may go to the next incident.
    again = dispatching.dispatch(incident_id=inc.pk, unit_code="dog-1", user=commander)
    dispatching.report(dispatch_id=again.pk, state="cancelled", user=commander)
    u.refresh_from_db()
    assert u.state == "available"


def test_a_unit_off_duty_cannot_be_dispatched(event, commander, unit) -> None:  # type: ignore[no-untyped-def]
    u = unit("off", 120.4880, 30.7450)
    u.state = "off_duty"
    u.save()
    inc = _open(event, commander)
    with pytest.raises(DomainError) as err:
        dispatching.dispatch(incident_id=inc.pk, unit_code="off", user=commander)
    assert err.value.code == "incidents.unit_busy"
    assert inc.dispatches.count() == 0


def test_phone_link_tokens(event, commander, unit) -> None:  # type: ignore[no-untyped-def]
    unit("u1", 120.4880, 30.7450)
    inc = _open(event, commander)
    d = dispatching.dispatch(incident_id=inc.pk, unit_code="u1", user=commander)
    token = dispatching.link_token(d)
    assert dispatching.dispatch_from_token(token).pk == d.pk
    for forged in (token[:-2] + "xx", "abc", token.replace(":", ";", 1)):
        with pytest.raises(DomainError) as err:
            dispatching.dispatch_from_token(forged)
        assert err.value.code == "incidents.bad_link"
