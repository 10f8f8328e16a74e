"""In the system Chromium: the roster manager runs the optimiser; a leader checks a guard in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from anbao.accounts.roles import Role
from anbao.accreditation import keystore
from anbao.core import clock
from anbao.screening import decisions
from anbao.sites.models import Event
from anbao.workforce import demand, rosters, staffing
from anbao.workforce.models import Guard, Post, Shift, ShiftTemplate
from tests.screening.test_scan import EVENT_TIME, FixedClock, acc_of, issued
from tests.ui.test_browser import PASSWORD, _login
from tests.workforce.conftest import roll_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def event_time(site) -> Iterator[FixedClock]:  # type: ignore[no-untyped-def]
    fixed = FixedClock(EVENT_TIME)
    previous = clock.install(fixed)
    keystore._cache.clear()
    decisions.clear_cache()
    yield fixed
    clock.install(previous)
    decisions.clear_cache()


@pytest.fixture
def prepared(event_time, make_user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A guard roll, wicc-n's posts, today's shifts, a pinned guard with a badge; made first."""
    event = Event.objects.get()
    staffing.import_staff(roll_csv(), "roll.csv", event=event)
    demand.ensure_templates(event)
    demand.derive_posts(event)
    Post.objects.filter(event=event).exclude(place_code="wicc-n").update(active=False)
    template = ShiftTemplate.objects.get(event=event, code="2x12")
    demand.generate_shifts(event, template, date(2026, 11, 8), date(2026, 11, 9))
    # 10:00 on 9 November: the day shift is running. The badge is signed at this time.
    day = Shift.objects.get(event=event, day=date(2026, 11, 9), code="D")
    guard = Guard.objects.get(employee_no="W000")
    cred = issued("S")
    guard.person = acc_of(cred).person
    guard.save()
    rosters.assign(
        event,
        guard=guard,
        shift=day,
        post=Post.objects.get(code="wicc-n-l1"),
        skill="xray",
        user=None,
    )
    return {
        "roster": make_user(Role.ROSTER_MANAGER, username="roster-chen").username,
        "leader": make_user(Role.CHECKPOINT_LEADER, username="leader-li").username,
        "qr": cred.qr_text,
        "name": guard.name,
    }


def test_roster_manager_solves_in_the_background_and_a_leader_checks_a_guard_in(
    live_server, prepared, browser
) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, prepared["roster"], PASSWORD)
    page.goto(f"{live_server.url}/workforce/")
    page.fill("#solve-form input[name=time_limit]", "3")
    with page.expect_navigation():
        page.click("#solve-form button[type=submit]")
    # The job runs on a background thread; the panel polls until it is done.
    page.wait_for_selector(".job .job-done", timeout=60_000)
    assert "/ " in page.inner_text("#optimiser-panel")
    page.goto(f"{live_server.url}/workforce/roster/?day=2026-11-09&place=wicc-n")
    assert prepared["name"] in page.inner_text("#place-wicc-n")
    context.close()

    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, prepared["leader"], PASSWORD)
    page.goto(f"{live_server.url}/workforce/duty/")
    page.fill("#scan-input", prepared["qr"])
    page.press("#scan-input", "Enter")
    page.wait_for_selector("#scan-result.ok", timeout=10_000)
    assert "W000" in page.inner_text("#scan-result")
    assert page.evaluate("document.activeElement.id") == "scan-input"  # ready for the next badge
    page.fill("#scan-input", "HC1:FORGED")
    page.press("#scan-input", "Enter")
    page.wait_for_selector("#scan-result.bad", timeout=10_000)
    context.close()
    assert errors == []
