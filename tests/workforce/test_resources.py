"""Reserve units (nearest and free), training that grants skills, equipment shown at the lane."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anbao.core import clock
from anbao.core.errors import DomainError
from anbao.screening.models import LaneEquipment
from anbao.sites.models import Lane
from anbao.workforce import reserves, training
from anbao.workforce.models import Guard, Qualification, ReserveUnit


def _unit(event, code: str, lon: float, lat: float, kind: str = "foot") -> ReserveUnit:  # type: ignore[no-untyped-def]
    return ReserveUnit.objects.create(
        event=event, code=code, name=code, kind=kind, lon=lon, lat=lat
    )


def test_nearest_free_ranks_by_distance_and_skips_busy_units(workforce) -> None:  # type: ignore[no-untyped-def]
    near = _unit(workforce, "near", 120.4871, 30.7441)
    _unit(workforce, "far", 120.5600, 30.6300)
    busy = _unit(workforce, "busy", 120.4870, 30.7440)
    reserves.dispatch(busy, task="crowd at wicc-n")
    found = reserves.nearest_free(workforce, lon=120.4870, lat=30.7440)
    assert [n.unit.code for n in found] == ["near", "far"]
    assert found[0].distance_km < 0.05 < found[1].distance_km
    assert found[1].distance_km == pytest.approx(
        reserves.distance_km(120.487, 30.744, 120.56, 30.63), rel=1e-9
    )
    assert reserves.nearest_free(workforce, lon=120.4870, lat=30.7440, kind="canine") == []
    assert near.state == "available"


def test_the_reserve_cycle_is_enforced(workforce) -> None:  # type: ignore[no-untyped-def]
    u = _unit(workforce, "u1", 120.48, 30.74)
    with pytest.raises(DomainError) as err:
        reserves.set_state(u, "on_scene")
    assert err.value.code == "workforce.bad_transition"
    with pytest.raises(DomainError):
        reserves.dispatch(u, task="  ")
    reserves.dispatch(u, task="fight at gate 3")
    u = reserves.set_state(u, "on_scene", lon=120.49, lat=30.75)
    assert (u.state, u.lon, u.task) == ("on_scene", 120.49, "fight at gate 3")
    assert reserves.set_state(u, "available").task == ""
    with pytest.raises(DomainError):
        reserves.nearest_free(workforce, lon=200, lat=0)


def test_passing_a_course_renews_the_qualification(workforce) -> None:  # type: ignore[no-untyped-def]
    courses = {c.code: c for c in training.ensure_courses()}
    start = clock.now() - timedelta(days=1)
    session = training.schedule_session(
        courses["xray-image"], start=start, end=start + timedelta(hours=4)
    )
    g = Guard.objects.get(employee_no="W001")
    assert not Qualification.objects.filter(guard=g, skill="xray").exists()
    row = training.record_attendance(session, g, result="passed", score=75)
    q = Qualification.objects.get(guard=g, skill="xray")
    assert row.granted == q
    assert q.expires == session.end.date() + timedelta(days=365)
    other = Guard.objects.get(employee_no="W003")
    training.record_attendance(session, other, result="failed", score=30)
    assert not Qualification.objects.filter(guard=other, skill="xray").exists()
    with pytest.raises(DomainError) as err:
        training.record_attendance(session, other, result="passed", score=10)
    assert err.value.code == "workforce.below_pass_mark"


def test_equipment_faults_show_at_the_lane(workforce) -> None:  # type: ignore[no-untyped-def]
    lane = Lane.objects.get(checkpoint__code="wicc-n", code="l1")
    item = training.add_item(asset_no="XR-1", kind="xray")
    training.assign_item(item, lane)
    shown = LaneEquipment.objects.get(lane=lane, label="XR-1")
    assert shown.status == "ok"
    with pytest.raises(DomainError):
        training.report_status(item, status="fault")  # a fault needs a note
    training.report_status(item, status="fault", note="belt jams")
    shown.refresh_from_db()
    assert (shown.status, shown.note) == ("fault", "belt jams")
    assert [e.what for e in item.log.all()] == ["fault", "assigned"]
    training.assign_item(item, None)
    assert not LaneEquipment.objects.filter(lane=lane, label="XR-1").exists()
    with pytest.raises(DomainError):
        training.add_item(asset_no="XR-1", kind="xray")


def test_commendations_need_what_where_and_a_past_time(workforce) -> None:  # type: ignore[no-untyped-def]
    g = Guard.objects.get(employee_no="W001")
    with pytest.raises(DomainError):
        training.commend(workforce, g, what="", when=clock.now(), where="wicc-n")
    with pytest.raises(DomainError):
        training.commend(
            workforce, g, what="x", when=clock.now() + timedelta(days=1), where="wicc-n"
        )
    row = training.commend(
        workforce, g, what="returned a lost wallet", when=clock.now(), where="wicc-n"
    )
    assert row.guard == g
