"""Duty: check-in by badge, own phone and by hand; missed check-in alerts; hours for payroll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from anbao.accounts.roles import Role
from anbao.core import clock
from anbao.core.errors import DomainError
from anbao.workforce import duty
from anbao.workforce.models import Assignment, DutyAlert, DutyRecord, Guard, Post, Shift
from tests.screening.test_scan import acc_of, issued


def _seat(
    event, number: str = "W001", post: str = "wicc-n-l1", skill: str = "search", night: bool = False
) -> Assignment:  # type: ignore[no-untyped-def]
    # The badges of these tests are signed at 10:00 on the event day: the night shift is after.
    shift = Shift.objects.filter(event=event).order_by("-start" if night else "start").first()
    assert shift is not None
    return Assignment.objects.create(
        event=event,
        shift=shift,
        post=Post.objects.get(event=event, code=post),
        guard=Guard.objects.get(employee_no=number),
        skill=skill,
        created_at=clock.now(),
    )


def test_badge_scan_checks_in_then_out_at_the_rostered_post(
    workforce, client_for, at_event
) -> None:  # type: ignore[no-untyped-def]
    seat = _seat(workforce, night=True)
    cred = issued("S")
    guard = seat.guard
    guard.person = acc_of(cred).person
    guard.save()
    at_event.current = seat.shift.start + timedelta(minutes=7)
    leader = client_for(Role.CHECKPOINT_LEADER)
    r = leader.post(
        "/api/workforce/duty/scan", {"qr": cred.qr_text}, content_type="application/json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["action"] == "in"
    assert r.json()["post"] == "wicc-n-l1"
    assert r.json()["late_minutes"] == 7
    at_event.current = seat.shift.end
    r2 = leader.post(
        "/api/workforce/duty/scan", {"qr": cred.qr_text}, content_type="application/json"
    )
    assert r2.json()["action"] == "out"
    rec = DutyRecord.objects.get(guard=guard)
    assert rec.check_in_method == "leader_device"
    assert rec.hours == pytest.approx(12 - 7 / 60)


def test_bad_badges_are_refused_with_a_reason(workforce, client_for, at_event) -> None:  # type: ignore[no-untyped-def]
    leader = client_for(Role.CHECKPOINT_LEADER)
    r = leader.post(
        "/api/workforce/duty/scan", {"qr": "HC1:not-a-badge"}, content_type="application/json"
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "workforce.bad_qr"
    cred = issued("S")  # a real badge, but its holder is not a guard
    r2 = leader.post(
        "/api/workforce/duty/scan", {"qr": cred.qr_text}, content_type="application/json"
    )
    assert r2.status_code == 404
    assert r2.json()["error"]["code"] == "workforce.not_a_guard"
    operator = client_for(Role.CHECKPOINT_OPERATOR)
    r3 = operator.post(
        "/api/workforce/duty/scan", {"qr": cred.qr_text}, content_type="application/json"
    )
    assert r3.status_code == 403


def test_a_guard_not_rostered_now_cannot_check_in(workforce, at_event) -> None:  # type: ignore[no-untyped-def]
    g = Guard.objects.get(employee_no="W003")
    with pytest.raises(DomainError) as err:
        duty.check(g, method="manual")
    assert err.value.code == "workforce.not_rostered"


def test_own_phone_link_checks_in_and_a_forged_link_is_refused(workforce, at_event) -> None:  # type: ignore[no-untyped-def]
    seat = _seat(workforce, "W004")
    at_event.current = seat.shift.start - timedelta(minutes=10)
    token = duty.personal_link_token(seat.guard)
    phone = Client()
    page = phone.get(f"/workforce/me/{token}/")
    assert page.status_code == 200
    assert seat.guard.name in page.content.decode()
    done = phone.post(f"/workforce/me/{token}/")
    assert done.status_code == 200
    assert DutyRecord.objects.filter(guard=seat.guard, check_in_method="own_phone").exists()
    assert phone.get(f"/workforce/me/{token}x/").status_code == 403
    api = phone.post(f"/api/workforce/duty/me/{token[:-2]}zz")
    assert api.status_code == 403


def test_missing_guard_raises_one_alert_which_a_check_in_resolves(workforce, at_event) -> None:  # type: ignore[no-untyped-def]
    seat = _seat(workforce, "W005")
    at_event.current = seat.shift.start + timedelta(minutes=10)
    assert duty.raise_missed_alerts(workforce, grace_minutes=15) == []
    at_event.current = seat.shift.start + timedelta(minutes=16)
    raised = duty.raise_missed_alerts(workforce, grace_minutes=15)
    assert [a.assignment_id for a in raised] == [seat.pk]
    assert duty.raise_missed_alerts(workforce, grace_minutes=15) == []  # once only
    duty.check(seat.guard, method="manual")
    alert = DutyAlert.objects.get(assignment=seat)
    assert alert.resolved_at is not None
    assert alert.resolution == "checked in"


def test_planned_against_actual_hours_and_the_payroll_workbook(workforce, at_event) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from openpyxl import load_workbook

    a = _seat(workforce, "W006")
    b = _seat(workforce, "W007", post="wicc-n-l2")
    at_event.current = a.shift.start
    duty.check(a.guard, method="manual")
    at_event.current = a.shift.start + timedelta(hours=10)
    duty.check(a.guard, method="manual")
    first, last = a.shift.start - timedelta(hours=1), a.shift.end + timedelta(hours=1)
    rows = {r.key: r for r in duty.planned_vs_actual(workforce, first=first, last=last)}
    assert rows["W006"].planned == 12
    assert rows["W006"].actual == 10
    assert rows["W006"].difference == -2
    assert rows["W007"].planned == 12
    assert rows["W007"].actual == 0
    assert b.pk
    by_post = {
        r.key: r for r in duty.planned_vs_actual(workforce, first=first, last=last, by="post")
    }
    assert by_post["wicc-n-l1"].actual == 10
    wb = load_workbook(
        BytesIO(duty.hours_xlsx(list(rows.values()), by="guard", first=first, last=last))
    )
    values = [[c.value for c in row] for row in wb.active.iter_rows(min_row=3)]
    assert ["W006", a.guard.name, 12, 10, -2, 1, 1] in values
