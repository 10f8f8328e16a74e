"""The roster through the database: solve jobs, manual edits under the hard rules, publishing."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from anbao.accounts.roles import Role
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.workforce import rostering as engine
from anbao.workforce import rosters
from anbao.workforce.models import Assignment, Guard, Post, Shift, SolveJob


@pytest.fixture
def small(workforce):  # type: ignore[no-untyped-def]
    """Only the posts of checkpoint wicc-n and the command centre need guards."""
    Post.objects.filter(event=workforce).exclude(place_code__in=["wicc-n", "command"]).update(
        active=False
    )
    return workforce


def _solve(event, **kw):  # type: ignore[no-untyped-def]
    return rosters.start_solve_job(event, time_limit=kw.pop("time_limit", 5), inline=True, **kw)


def test_a_solve_job_fills_seats_obeys_every_rule_and_explains_the_rest(small) -> None:  # type: ignore[no-untyped-def]
    job = _solve(small)
    assert job.status == "done", job.error
    assert job.assigned > 0, job.as_dict()
    assert job.progress, job.as_dict()
    built = rosters.build_problem(small)
    rows = [
        engine.Assignment(a.guard_id, a.shift_id, a.post_id, a.skill)
        for a in Assignment.objects.filter(event=small)
    ]
    assert engine.check(built.problem, rows) == []
    # 40 guards cannot staff a checkpoint of 6 lanes round the clock: the rest is explained.
    assert job.assigned + sum(u["missing"] for u in job.uncovered) == job.seats
    assert all(u["reason"] and u["detail"] for u in job.uncovered)
    assert AuditEntry.objects.filter(action="workforce.solve_finished").exists()


def test_a_job_refuses_a_bad_time_limit_and_a_second_job_at_once(small) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        rosters.start_solve_job(small, time_limit=0)
    assert err.value.problems[0].field == "time_limit"
    SolveJob.objects.create(event=small, status="running", created_at=small.shifts.first().start)
    with pytest.raises(DomainError) as err2:
        rosters.start_solve_job(small, time_limit=5)
    assert err2.value.code == "workforce.job_running"


def test_a_stopped_job_keeps_the_best_roster_found_so_far(small) -> None:  # type: ignore[no-untyped-def]
    import threading

    job = SolveJob.objects.create(event=small, time_limit=30, created_at=small.shifts.first().start)
    stop = threading.Event()
    stop.set()  # the manager pressed Stop at once
    rosters.run_solve_job(job.pk, stop=stop)
    job.refresh_from_db()
    assert job.status == "cancelled", job.error
    assert (
        job.assigned == Assignment.objects.filter(event=small).exclude(post__kind="reserve").count()
    )


def test_a_manual_edit_that_breaks_a_rule_is_refused_naming_it(small, client_for) -> None:  # type: ignore[no-untyped-def]
    shift = Shift.objects.filter(event=small).order_by("start").first()
    no_xray = Guard.objects.get(employee_no="W001")  # searcher, no X-ray certificate
    roster = client_for(Role.ROSTER_MANAGER)
    body = {"guard": "W001", "shift_id": shift.pk, "post": "wicc-n-l1", "skill": "xray"}
    r = roster.post("/api/workforce/roster/assign", body, content_type="application/json")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "workforce.rule_broken"
    assert "skill" in {p["code"] for p in r.json()["error"]["problems"]}
    assert not Assignment.objects.filter(guard=no_xray).exists()
    r2 = roster.post(
        "/api/workforce/roster/assign", {**body, "override": True}, content_type="application/json"
    )
    assert r2.status_code == 201, r2.content
    row = Assignment.objects.get(guard=no_xray)
    assert row.source == "override"
    assert row.overridden_rule == "skill"
    assert row.pinned
    assert AuditEntry.objects.filter(
        action="workforce.assignment_override", object_id=str(row.pk)
    ).exists()
    leader = client_for(Role.CHECKPOINT_LEADER)
    assert (
        leader.post(
            "/api/workforce/roster/assign", body, content_type="application/json"
        ).status_code
        == 403
    )


def test_rest_rule_and_a_clean_manual_edit(small) -> None:  # type: ignore[no-untyped-def]
    day, night = Shift.objects.filter(event=small).order_by("start")
    g = Guard.objects.get(employee_no="W000")  # X-ray screener
    post = Post.objects.get(event=small, code="wicc-n-l1")
    rosters.assign(small, guard=g, shift=day, post=post, skill="xray", user=None)
    # Day 08:00-20:00 then night 20:00-08:00: no rest at all.
    with pytest.raises(DomainError) as err:
        rosters.assign(small, guard=g, shift=night, post=post, skill="xray", user=None)
    assert {"rest", "hours_day"} & set(err.value.detail["rules"])


def test_pins_survive_a_re_solve_and_the_past_stays_fixed(small) -> None:  # type: ignore[no-untyped-def]
    _solve(small)
    day, night = Shift.objects.filter(event=small).order_by("start")
    past = set(Assignment.objects.filter(shift=day).values_list("guard_id", "post_id", "skill"))
    pinned = Assignment.objects.filter(shift=night).first()
    assert pinned is not None
    rosters.set_pinned(pinned, True)
    job = _solve(small, from_time=night.start)
    assert job.status == "done", job.error
    assert (
        set(Assignment.objects.filter(shift=day).values_list("guard_id", "post_id", "skill"))
        == past
    )
    assert Assignment.objects.filter(pk=pinned.pk, pinned=True).exists()


def test_replacements_are_qualified_and_free(small) -> None:  # type: ignore[no-untyped-def]
    # One lane only, so that qualified guards are left free to stand in.
    Post.objects.filter(event=small).exclude(code="wicc-n-l1").update(active=False)
    _solve(small)
    seat = Assignment.objects.filter(event=small, skill="search").first()
    assert seat is not None
    found = rosters.replacements(seat)
    assert found, "someone should be free to search"
    for c in found:
        g = Guard.objects.get(pk=c["guard_id"])
        assert g.qualifications.filter(skill="search").exists()
        assert not Assignment.objects.filter(guard=g, shift=seat.shift).exists()
    assert found == sorted(found, key=lambda c: -c["score"])


def test_published_files_open_and_calendars_cancel_removed_shifts(small, client_for) -> None:  # type: ignore[no-untyped-def]
    _solve(small)
    c = client_for(Role.CHECKPOINT_LEADER)
    assert c.get("/api/workforce/publish/places/wicc-n.pdf").status_code == 409  # not published yet
    roster = client_for(Role.ROSTER_MANAGER)
    assert roster.post("/api/workforce/publish").status_code == 201
    seat = Assignment.objects.filter(event=small).select_related("guard", "post").first()
    assert seat is not None
    number = seat.guard.employee_no
    pdf = c.get(f"/api/workforce/publish/guards/{number}.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(pdf.content)).pages)
    assert seat.guard.name in text
    assert number in text
    ics = Calendar.from_ical(c.get(f"/api/workforce/publish/guards/{number}.ics").content)
    events = list(ics.walk("VEVENT"))
    assert len(events) == Assignment.objects.filter(guard=seat.guard).count()
    rosters.unassign(seat, user=None)
    assert roster.post("/api/workforce/publish").status_code == 201
    ics2 = Calendar.from_ical(c.get(f"/api/workforce/publish/guards/{number}.ics").content)
    cancelled = [e for e in ics2.walk("VEVENT") if str(e.get("STATUS")) == "CANCELLED"]
    assert len(cancelled) == 1
    assert int(cancelled[0].get("SEQUENCE")) == 2
    xlsx = c.get("/api/workforce/publish/places/wicc-n.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    day = seat.shift.day
    wall = c.get(f"/api/workforce/publish/wall/{day.isoformat()}.pdf")
    assert wall.status_code == 200
    assert PdfReader(BytesIO(wall.content)).pages
    assert c.get("/api/workforce/publish/guards/NOPE.pdf").status_code == 404


def test_pages_show_the_roster_and_the_job(small, client_for) -> None:  # type: ignore[no-untyped-def]
    job = _solve(small)
    c = client_for(Role.ROSTER_MANAGER)
    page = c.get("/workforce/")
    assert page.status_code == 200
    assert f"#{job.pk}" in page.content.decode()
    day = Shift.objects.filter(event=small).first().day
    grid = c.get(f"/workforce/roster/?day={day.isoformat()}&place=wicc-n").content.decode()
    name = Assignment.objects.filter(event=small, post__place_code="wicc-n").first().guard.name
    assert name in grid
    assert "seat-short" in grid  # seats still empty are marked
    assert c.get("/workforce/guards/W000/").status_code == 200
    police = client_for(Role.POLICE_LIAISON)
    body = police.get("/workforce/guards/").content.decode()
    assert "13900000000" not in body  # phones masked
    assert police.post("/workforce/solve/", {"time_limit": 5}).status_code == 403


def test_the_duty_time_is_after_the_roster(small) -> None:  # type: ignore[no-untyped-def]
    # A seat's shift is the one the engine filled: hours come from the shift, not the clock.
    _solve(small)
    a = Assignment.objects.filter(event=small).select_related("shift").first()
    assert a is not None
    assert a.shift.end - a.shift.start == timedelta(hours=12)
