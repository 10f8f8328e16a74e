"""The demo's duty simulation: guards check in around their shifts; no-shows raise alerts."""

from __future__ import annotations

from datetime import timedelta

from anbao.workforce import rosters, simulation
from anbao.workforce.models import Assignment, DutyAlert, DutyRecord, Post, Shift


def test_guards_check_in_and_out_and_no_shows_raise_alerts(workforce, at_event) -> None:  # type: ignore[no-untyped-def]
    Post.objects.filter(event=workforce).exclude(place_code__in=["wicc-n", "command"]).update(
        active=False
    )
    rosters.start_solve_job(workforce, time_limit=3, inline=True)
    day = Shift.objects.filter(event=workforce).order_by("start").first()
    assert day is not None
    seats = list(Assignment.objects.filter(shift=day).exclude(post__kind="reserve"))
    assert seats
    sim = simulation.DutySimulation()
    at_event.current = day.start + timedelta(minutes=40)
    sim.tick(at_event.current)
    came = set(DutyRecord.objects.filter(shift=day).values_list("assignment_id", flat=True))
    expected = {
        a.pk for a in seats if (o := simulation._offset_minutes(a.pk)) is not None and o <= 40
    }
    assert came == expected
    missing = {a.pk for a in seats} - came
    assert set(DutyAlert.objects.values_list("assignment_id", flat=True)) == missing
    at_event.current = day.end + timedelta(minutes=30)
    sim.tick(at_event.current)
    assert not DutyRecord.objects.filter(shift=day, check_out_at__isnull=True).exists()
    assert sim.tick(at_event.current) == 0  # at most once a simulated minute


def test_the_arrival_pattern_has_punctual_late_and_absent_guards() -> None:
    offsets = [simulation._offset_minutes(n) for n in range(2000)]
    absent = sum(o is None for o in offsets)
    late = sum(o is not None and o >= 20 for o in offsets)
    assert 10 <= absent <= 60
    assert 30 <= late <= 110
    assert all(o is None or -25 <= o <= 34 for o in offsets)
