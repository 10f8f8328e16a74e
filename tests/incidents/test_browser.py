"""In the system Chromium: the desk dispatches the nearest unit; its leader reports by phone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from anbao.accounts.roles import Role
from anbao.alarms import services as alarm_services
from anbao.core import clock
from anbao.incidents import services
from anbao.sites.models import Event
from anbao.workforce.models import ReserveUnit
from tests.incidents.conftest import EVENT_TIME, HERE, MovingClock
from tests.ui.test_browser import PASSWORD, _login, browser, site  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def prepared(site, make_user) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Two units and an open incident, made before the browser starts."""
    fixed = MovingClock(EVENT_TIME)
    previous = clock.install(fixed)
    alarm_services.forget_cached()
    event = Event.objects.get()
    ReserveUnit.objects.create(
        event=event,
        code="dog-7",
        name="警犬7组",
        name_en="Canine 7",
        kind="canine",
        lon=HERE[0] + 0.002,
        lat=HERE[1],
    )
    ReserveUnit.objects.create(
        event=event,
        code="foot-7",
        name="机动7组",
        name_en="Foot 7",
        kind="foot",
        lon=HERE[0] + 0.0005,
        lat=HERE[1],
    )
    user = make_user(Role.COMMANDER, username="cmd-wang")
    # The assertions below read English labels; the phone page follows the browser's language.
    user.language = "en"
    user.save(update_fields=["language"])
    incident = services.open_incident(
        event=event,
        type_code="suspicious_object",
        title="Unattended case",
        lon=HERE[0],
        lat=HERE[1],
        user=user,
    )
    yield {"user": user.username, "incident": incident.pk}
    clock.install(previous)


def test_dispatch_from_the_desk_and_report_from_the_phone(live_server, prepared, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, prepared["user"], PASSWORD)
    page.goto(f"{live_server.url}/incidents/{prepared['incident']}/")
    rows = page.locator("#proposal-table tr")
    assert rows.first.inner_text().startswith("foot-7")  # the nearest first
    dog = page.locator("#proposal-table tr", has_text="dog-7")
    assert dog.locator(".badge.suited").count() == 1  # suited to a suspicious object
    with page.expect_navigation():
        dog.locator("button").click()
    assert "dog-7" in page.locator("#dispatch-table").inner_text()
    link = page.locator("#dispatch-table a", has_text="phone link").get_attribute("href")
    assert link is not None
    phone_ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    phone = phone_ctx.new_page()
    phone.goto(link)
    button = phone.locator("#unit-en_route")
    box = button.bounding_box()
    assert box is not None
    assert box["width"] > 300  # big, thumb-sized buttons
    assert box["height"] >= 44
    with phone.expect_navigation():
        button.click()
    with phone.expect_navigation():
        phone.locator("#unit-on_scene").click()
    assert "On scene" in phone.locator("#unit-state").inner_text()
    phone.goto(link[:-5] + "xxxx/")
    assert "not valid" in phone.content()
    page.reload()
    assert page.locator("#incident-state").get_attribute("data-state") == "responding"
    # The ORM cannot run inside Playwright's event loop: the desk page shows the stored states.
    assert (
        page.locator('#dispatch-table tr[data-unit="dog-7"]').get_attribute("data-state")
        == "on_scene"
    )
    assert "responding" in page.locator("#timeline").inner_text()
    assert errors == []
    phone_ctx.close()
    context.close()
