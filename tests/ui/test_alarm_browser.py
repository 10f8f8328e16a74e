"""In the system Chromium: a panic button's alarm arrives live and is handled to its close.

The device posts over HTTP to the live server, as a device that cannot speak MQTT does. The
console refreshes the moment the live stream reports the alarm (the 5 s poll is only the
fallback) and sounds it by priority. The alarm's own page adds a note and calls up cameras.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest

from anbao.accounts import services as accounts
from anbao.accounts.roles import Role
from tests.ui.test_browser import PASSWORD, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _press(base: str, token: str, message_id: str, state: str) -> dict[str, Any]:
    body = {"id": message_id, "ts": datetime.now(UTC).isoformat(), "state": state}
    request = urllib.request.Request(  # noqa: S310 - the live test server
        f"{base}/api/alarms/devices/messages/panic",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.fixture
def prepared(site, make_user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What the test needs from the database, made before the browser starts."""
    token = accounts.redeem_enrolment(
        device_id="PB-wicc-01", code=accounts.start_enrolment(device_id="PB-wicc-01")
    )
    user = make_user(Role.COMMANDER, username="duty-chief", language="en")
    return {"token": token, "user": user.username}


def test_a_panic_alarm_arrives_live_and_is_closed(live_server, prepared, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-GB", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, prepared["user"], PASSWORD)
    page.goto(f"{live_server.url}/alarms/")
    assert page.locator("#alarms-head").is_visible()
    assert page.locator("#alarm-table").count() == 0

    # Let the stream connect and the sound module learn the (empty) list first.
    page.wait_for_timeout(1_000)
    pressed = time.monotonic()
    answer = _press(live_server.url, prepared["token"], "press-1", "pressed")
    assert answer["outcome"] == "raised"
    row = page.locator("#alarm-table tr[data-alarm]")
    row.first.wait_for(timeout=4_000)  # no reload, and well before the 5 s poll
    assert time.monotonic() - pressed < 4.0
    assert "Panic button" in row.first.inner_text()
    assert "Active" in row.first.inner_text()
    number = int(row.first.get_attribute("data-alarm") or 0)
    # A panic button is priority 1: the critical tone sounded for it.
    page.wait_for_function("() => window.anbaoAlarmSound.log.length > 0")
    log = page.evaluate("() => window.anbaoAlarmSound.log")
    assert (log[0]["sound"], log[0]["numbers"], log[0]["played"]) == (
        "alarm-critical",
        [number],
        True,
    )
    # Muted, a new alarm is logged but not played.
    page.locator("#sound-toggle").click()
    assert page.locator("#sound-toggle").get_attribute("data-state") == "off"
    page.evaluate(
        "() => window.anbaoAlarmSound.announce([{number: 999, priority: 3, sound: 'alarm-medium',"
        " workflow: 'new'}])"
    )
    assert page.evaluate("() => window.anbaoAlarmSound.log.at(-1).played") is False
    page.locator("#sound-toggle").click()

    # The alarm's page: a note, the cameras for the point, the timeline.
    with page.expect_navigation():
        row.first.locator("a.alarm-link").click()
    assert page.locator("#alarm-priority").get_attribute("data-priority") == "1"
    page.fill("#note-form input[name=note]", "CCTV shows a guest, not a threat")
    with page.expect_navigation():
        page.locator("#note-form button").click()
    notes = page.locator('#alarm-timeline li[data-action="note"]')
    assert "CCTV shows a guest" in notes.first.inner_text()
    cameras = page.locator("#camera-table tr[data-camera]")
    assert cameras.count() >= 1
    first_camera = cameras.first.get_attribute("data-camera")
    with page.expect_navigation():
        page.locator("#callup-button").click()
    called = page.locator('#alarm-timeline li[data-action="cameras"]')
    assert first_camera
    assert first_camera in called.first.inner_text()
    page.goto(f"{live_server.url}/alarms/")

    # Still active: only a forced acknowledge with a note is offered.
    row.first.locator("input[name=note]").fill("guard sent to the hall")
    with page.expect_navigation():
        row.first.locator("button", has_text="Force acknowledge").click()
    assert "Acknowledged" in page.locator("#alarm-table tr[data-alarm]").first.inner_text()

    assert _press(live_server.url, prepared["token"], "press-2", "reset")["outcome"] == "cleared"
    page.reload()
    closing = page.locator("#alarm-table tr[data-alarm]").first
    assert "Cleared" in closing.inner_text()
    closing.locator("select[name=disposition]").select_option("test")
    with page.expect_navigation():
        closing.locator("button", has_text="Close").click()
    page.wait_for_selector("text=No open alarms.")
    assert errors == []
    context.close()
