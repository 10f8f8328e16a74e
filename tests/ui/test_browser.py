"""End-to-end in the system Chromium: login, language, the site map, and the login lockout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from anbao.accounts.roles import Role
from tests.conftest import require_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Alarm sounds: let the Web Audio context run without a click (the page still offers one).
    "--autoplay-policy=no-user-gesture-required",
]
PASSWORD = "correct-horse-battery"

# Counts the pixels of the map canvas that differ from its background colour.
DRAWN_PIXELS = """() => {
  const canvas = document.querySelector('#site-map canvas');
  if (!canvas || !canvas.width) return {drawn: 0, colours: 0, total: 0};
  const ctx = canvas.getContext('2d');
  const {data} = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const bg = [data[0], data[1], data[2]];
  let drawn = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    const d = Math.abs(data[i] - bg[0]) + Math.abs(data[i + 1] - bg[1])
      + Math.abs(data[i + 2] - bg[2]);
    if (d > 24) {
      drawn++;
      if (colours.size < 500) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
  }
  return {drawn, colours: colours.size, total: canvas.width * canvas.height};
}"""


@pytest.fixture
def site(transactional_db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The demo site, loaded again: transactional tests flush the database after each test."""
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH
    from anbao.sites.models import Checkpoint, Event, Lane

    if not Event.objects.exists():
        sites.load_site(DEMO_SITE_PATH)
    return {"checkpoints": Checkpoint.objects.count(), "lanes": Lane.objects.count()}


@pytest.fixture
def commander(site, make_user) -> str:  # type: ignore[no-untyped-def]
    """A commander who logs in; created before the browser starts (no ORM inside its loop)."""
    return make_user(Role.COMMANDER, username="commander-zhou").username


@pytest.fixture
def operator(site, make_user) -> str:  # type: ignore[no-untyped-def]
    """A checkpoint operator who mistypes the password."""
    return make_user(Role.CHECKPOINT_OPERATOR, username="op-wang").username


@pytest.fixture
def browser() -> Iterator[Any]:
    """The system Chromium, driven by Playwright; the test's database work happens before it."""
    require_service(Path(CHROMIUM).exists(), f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _login(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_login_language_switch_and_site_map(
    live_server, site, commander, browser, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    assert site == {"checkpoints": 15, "lanes": 60}
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("button[type=submit]").inner_text() == "登录"
    _login(page, live_server.url, commander, PASSWORD)

    # The user's stored language is Chinese: the shell and the menu are in Chinese.
    assert page.url == f"{live_server.url}/"
    nav = page.locator("nav.nav")
    assert nav.get_by_role("link", name="站点地图").is_visible()
    assert nav.get_by_role("link", name="指挥中心").is_visible()
    assert page.locator(".userbox .role").inner_text() == "指挥长"
    assert page.locator('#site-summary [data-key="checkpoints"] .value').inner_text() == "15"

    with page.expect_navigation():
        page.click("#lang-switch")
    assert page.locator("html").get_attribute("lang") == "en"
    assert nav.get_by_role("link", name="Site map").is_visible()
    assert page.locator(".userbox .role").inner_text() == "Commander"
    assert page.get_by_text("站点地图").count() == 0

    with page.expect_navigation():
        nav.get_by_role("link", name="Site map").click()
    page.wait_for_function("() => window.anbaoSiteMap && window.anbaoSiteMap.getOption()")
    page.wait_for_function(f"() => ({DRAWN_PIXELS})().drawn > 0")
    option = page.evaluate(
        """() => {
          const opt = window.anbaoSiteMap.getOption();
          const out = {};
          for (const s of opt.series) out[s.id] = {type: s.type, n: s.data.length, name: s.name,
            first: s.data[0] ? s.data[0].name : null};
          return {series: out, geo: opt.geo[0].map, legend: opt.legend[0].data};
        }"""
    )
    series = option["series"]
    assert option["geo"] == "anbao-site"
    assert series["checkpoints"]["n"] == site["checkpoints"] == 15
    assert series["lanes"]["n"] == site["lanes"] == 60
    assert series["checkpoints"]["type"] == "scatter"
    assert series["segments"]["type"] == "lines"
    assert series["segments"]["n"] > 0
    assert series["zones"]["n"] > 0
    assert series["airspace"]["n"] > 0
    assert series["cameras"]["n"] > 0
    assert series["checkpoints"]["name"] == "Checkpoints"
    assert "No-fly zone" in option["legend"]
    # Labels follow the page language: every English checkpoint name is ASCII.
    assert series["checkpoints"]["first"].isascii()

    pixels = page.evaluate(DRAWN_PIXELS)
    assert pixels["drawn"] > pixels["total"] * 0.05, pixels
    assert pixels["colours"] > 20, pixels
    assert page.locator("#checkpoint-list tbody tr").count() == 15

    shot = tmp_path / "site-map.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000
    keep = os.environ.get("ANBAO_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / "site-map.png").write_bytes(shot.read_bytes())
    assert errors == []
    context.close()


def test_wrong_password_shows_error_then_locks(live_server, operator, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("button[type=submit]").inner_text() == "登录"
    # Before login the language is a cookie, set by the links under the form.
    with page.expect_navigation():
        page.locator(".lang-links [data-lang=en]").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("button[type=submit]").inner_text() == "Log in"

    _login(page, live_server.url, operator, "wrong-password-1")
    assert page.locator("#login-error").is_visible()
    assert "Wrong username or password" in page.locator("#login-error").inner_text()
    assert page.url.startswith(f"{live_server.url}/accounts/login/")

    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(2, limit + 1):
        _login(page, live_server.url, operator, f"wrong-password-{attempt}")
    assert page.locator("#locked").is_visible()
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    assert f"locked for {minutes} minutes" in page.locator("#locked").inner_text()

    # Locked means locked: even the right password is refused now.
    _login(page, live_server.url, operator, PASSWORD)
    assert page.locator("#locked").is_visible()
