"""End-to-end in the system Chromium: the accreditation office approves, issues and shows a QR."""

from __future__ import annotations

from typing import Any

import pytest

from anbao.accounts.roles import Role
from tests.ui.test_browser import PASSWORD, _login, browser, site  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def vip(site) -> dict[str, Any]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A VIP application (VIPs need no vetting), made through the services, as plain values.

    Playwright's sync API runs an event loop, inside which Django refuses ORM calls: everything
    the test needs from the database is read here, before the browser starts.
    """
    from tests.accreditation.factories import make_accreditation

    acc = make_accreditation("VIP")
    return {"pk": acc.pk, "person_id": acc.person_id, "name": acc.person.display_name()}


@pytest.fixture
def clerk(site, make_user) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    """An accreditation officer."""
    return make_user(Role.ACCREDITATION_OFFICER, username="clerk-li").username


def test_clerk_approves_issues_and_sees_the_qr(live_server, vip, clerk, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, clerk, PASSWORD)

    page.goto(f"{live_server.url}/accreditation/?status=applied")
    row = page.locator("#accreditation-table tbody tr", has_text=vip["name"])
    row.locator("input[name=ids]").check()
    page.select_option("select[name=action]", "approve")
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert page.locator(".messages").inner_text().strip() != ""

    with page.expect_navigation():
        page.goto(f"{live_server.url}/accreditation/people/{vip['person_id']}/")
    assert "已批准" in page.locator(f"#accreditation-{vip['pk']} h2").inner_text()
    with page.expect_navigation():
        page.click(f"#credential-{vip['pk']} button[value=issue]")
    qr = page.locator(f"#credential-{vip['pk']} .qr svg")
    assert qr.count() == 1
    box = qr.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert "凭证已签发" in page.locator(f"#accreditation-{vip['pk']} h2").inner_text()
    # The ID number stays masked until an audited reveal.
    assert "*" in page.locator("#id-number").inner_text()
    assert errors == []
