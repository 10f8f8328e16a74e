"""In the system Chromium: the checkpoint leader's live page, and a gate's lane screen.

Everything that needs the ORM happens before the browser starts (Playwright's loop makes the
thread async); the test then talks to the live server over HTTP like a scanner would.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from anbao.accounts import services as accounts
from anbao.accounts.roles import Role
from anbao.accreditation import keystore
from anbao.core import clock
from anbao.screening import decisions
from tests.screening.test_scan import EVENT_TIME, FixedClock, issued
from tests.ui.test_browser import PASSWORD, _login

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


def _token(device: str) -> str:
    return accounts.redeem_enrolment(
        device_id=device, code=accounts.start_enrolment(device_id=device)
    )


def _scan(base: str, token: str, qr: str, nonce: str) -> dict[str, Any]:
    body = {
        "qr_text": qr,
        "checkpoint": "wicc-n",
        "lane": "l1",
        "device": "GS-wicc-n-l1",
        "direction": "entry",
        "device_time": EVENT_TIME.isoformat(),
        "nonce": nonce,
    }
    request = urllib.request.Request(  # noqa: S310 - the live test server
        f"{base}/api/screening/scan",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.fixture
def prepared(event_time, make_user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the tests need from the database, made before the browser starts."""
    keystore.ensure_keys()
    return {
        "leader": make_user(Role.CHECKPOINT_LEADER, username="leader-li").username,
        "token": _token("GS-wicc-n-l1"),
        "qr": issued().qr_text,
        "root": keystore.root_public_key(),
    }


def test_leader_closes_a_lane_and_sees_denials_arrive_live(live_server, prepared, browser) -> None:  # type: ignore[no-untyped-def]
    leader, token = prepared["leader"], prepared["token"]
    context = browser.new_context(locale="en-GB", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(page, live_server.url, leader, PASSWORD)
    page.goto(f"{live_server.url}/screening/checkpoints/wicc-n/")
    rows = page.locator("#lane-table tr[data-lane]")
    assert rows.count() == 6
    assert page.locator('tr[data-lane="l2"] .badge.open').inner_text() == "开放"  # zh by default
    with page.expect_navigation():
        page.click("#close-l2")
    assert page.locator('tr[data-lane="l2"] .badge.closed').is_visible()
    assert page.locator("#open-l2").is_visible()

    # A forged badge at lane 1: the denial appears without a reload (htmx every 5 s).
    answer = _scan(live_server.url, token, "AB1:NOT-A-REAL-BADGE", "forged-1")
    assert answer["status"] == "deny"
    page.wait_for_selector("#denial-table", timeout=12_000)
    assert "l1" in page.locator("#denial-table").inner_text()
    assert errors == []
    context.close()


def test_the_lane_screen_shows_the_verdict_and_takes_a_seizure_in_three_taps(
    live_server, event_time, prepared, browser, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from anbao.gate.gate import Gate, GateConfig
    from anbao.gate.lane import make_server

    config = GateConfig(
        server=live_server.url,
        token=prepared["token"],
        device="GS-wicc-n-l1",
        checkpoint="wicc-n",
        lane="l1",
        root_public=prepared["root"],
        home=Path(tmp_path),
        photos=False,
    )
    gate = Gate(config, clock=lambda: event_time.current + timedelta(seconds=1))
    gate.refresh_bundle()
    server = make_server(gate, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        page.wait_for_function(
            "() => document.getElementById('mode').textContent.includes('ONLINE')"
        )
        page.fill("#scan", prepared["qr"])
        page.press("#scan", "Enter")
        page.wait_for_function("() => document.getElementById('result').className === 'allow'")
        assert "ALLOW" in page.locator("#verdict").inner_text()
        assert "Pass" in page.locator("#why").inner_text()
        assert page.evaluate("() => document.activeElement.id") == "scan"  # ready for the next

        page.click("#seize")  # tap 1
        page.locator("#sheet-grid button").filter(has_text="Lighter").first.click()  # tap 2
        page.locator("#sheet-grid button.default").click()  # tap 3: the usual disposition
        page.wait_for_function(
            "() => document.getElementById('meta').textContent.includes('pending')"
        )
        entries = [e for e in gate.journal.recent(10) if e["kind"] == "screening"]
        assert len(entries) == 1
        page.close()
    finally:
        server.shutdown()
        gate.stop()
