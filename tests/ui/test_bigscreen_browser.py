"""In the system Chromium: the big screen paints its figures and shows a new alarm live.

The alarm is raised through the alarm service on a thread of its own (Playwright's sync API
runs an event loop in the test's thread, where Django refuses database calls); it travels
commit -> bus -> broadcaster -> SSE -> the page without a reload.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from anbao.accounts.roles import Role
from anbao.core import clock
from tests.ui.test_browser import PASSWORD, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NIGHT = datetime(2026, 11, 8, 15, 30, tzinfo=UTC)  # 23:30 in Wuzhen: the perimeter is armed


@pytest.fixture
def night_clock(site) -> Iterator[clock.FixedClock]:  # type: ignore[no-untyped-def]
    from anbao.alarms import services
    from anbao.dashboard import broadcaster

    fixed = clock.FixedClock(NIGHT)
    previous = clock.install(fixed)
    services.forget_cached()
    broadcaster.shutdown()  # the database was flushed since any earlier count
    yield fixed
    broadcaster.shutdown()
    clock.install(previous)
    services.forget_cached()


@pytest.fixture
def prepared(night_clock, make_user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A day of screening rows and two users, made before the browser starts."""
    from anbao.dashboard import snapshot as snap
    from anbao.sites.models import Event
    from tests.dashboard.conftest import seed_rows

    event = Event.objects.get(code="wic2026")
    seed_rows(event, NIGHT, n=300)
    return {
        "commander": make_user(Role.COMMANDER, username="chief-wang", language="en").username,
        "police": make_user(Role.POLICE_LIAISON, username="police-zhao", language="en").username,
        "people_today": snap.figures(event, NIGHT)["today"]["people"],
    }


def _raise_on_thread(section: str) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def work() -> None:
        from django.db import connection

        from anbao.alarms import services
        from anbao.sites.models import AlarmSection, Event, PerimeterSegment

        try:
            event = Event.objects.get(code="wic2026")
            segment = PerimeterSegment.objects.get(event=event, code="canal-n")
            result = services.trigger(
                event=event,
                source_type="intrusion",
                source_key=f"section:canal-n/{section}",
                at=clock.now(),
                segment=segment,
                section=AlarmSection.objects.get(segment=segment, code=section),
                lon=120.4990,
                lat=30.7540,
            )
            assert result.alarm is not None
            out["id"] = result.alarm.pk
            out["committed"] = time.monotonic()
        finally:
            connection.close()

    t = threading.Thread(target=work)
    t.start()
    t.join(timeout=20)
    return out


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ANBAO_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_big_screen_paints_figures_and_shows_a_new_alarm_live(
    live_server, prepared, browser, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, prepared["commander"], PASSWORD)
    page.goto(f"{live_server.url}/dashboard/screen/")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    people = page.locator('[data-fig="today.people"]').inner_text()
    assert people.replace(",", "") == str(prepared["people_today"])
    assert int(people.replace(",", "")) > 0
    assert page.locator("#checkpoints tbody tr").count() == 15
    first_paint = page.evaluate(
        "() => performance.getEntriesByName('first-paint', 'measure')[0].duration"
    )
    assert first_paint > 0
    page.wait_for_function("() => document.getElementById('live-state').className.includes('live')")
    # Sound is off by default on a wall screen; the commander turns it on.
    toggle = page.locator("#sound-toggle")
    assert toggle.get_attribute("data-state") == "off"
    toggle.click()
    assert toggle.get_attribute("data-state") == "on"

    raised = _raise_on_thread("s2")
    assert "id" in raised
    row = page.locator(f'#alarms li[data-alarm="{raised["id"]}"]')
    row.wait_for(timeout=2_000)  # live, without a reload, within 2 s of the commit
    seen = time.monotonic()
    assert seen - raised["committed"] < 2.0
    assert row.locator("button[data-ack]").count() == 1  # the commander may act
    # An intrusion is priority 2: the two-beep "alarm-high" tone sounded, once, for it.
    played = page.evaluate("() => window.anbaoAlarmSound.log")
    assert [(e["sound"], e["played"]) for e in played] == [("alarm-high", True)]
    assert played[0]["numbers"] == [int(row.get_attribute("data-number") or 0)]
    page.wait_for_timeout(300)  # let the canvas draw the flashing section once
    page.screenshot(path=str(_artifacts(tmp_path) / "bigscreen-1920.png"))

    # The police liaison sees the same alarm, with no control at all.
    police = browser.new_context(locale="en-GB", viewport={"width": 1920, "height": 1080})
    ppage = police.new_page()
    ppage.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(ppage, live_server.url, prepared["police"], PASSWORD)
    ppage.goto(f"{live_server.url}/dashboard/screen/")
    ppage.wait_for_selector("body[data-ready='1']", timeout=15_000)
    ppage.locator(f'#alarms li[data-alarm="{raised["id"]}"]').wait_for(timeout=5_000)
    # only "Back to live" of the replay bar, and the screen's own sound switch
    assert ppage.locator("button:not(#sound-toggle)").count() == 1
    assert ppage.locator("[data-ack]").count() == 0
    assert ppage.locator("#read-only-tag").is_visible()
    assert errors == []
    police.close()
    context.close()
