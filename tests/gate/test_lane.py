"""The lane screen: the page, scanning, screenings in few taps, the mode switch, host checks."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from anbao.gate.gate import Gate, GateConfig
from anbao.gate.lane import make_server, picker
from anbao.screening import taxonomy
from tests.conftest import require_service
from tests.gate.factory import NOW, Keys, claims, envelope, payload, person

AT = datetime.fromtimestamp(NOW, UTC)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def lane(tmp_path: Path, keys: Keys) -> Iterator[tuple[Gate, int, str]]:
    c = claims()
    config = GateConfig(
        server=f"http://127.0.0.1:{closed_port()}",
        token="t",
        device="GS-wicc-n-l1",
        checkpoint="wicc-n",
        lane="l1",
        root_public=keys.root_public,
        home=tmp_path,
    )
    gate = Gate(config, clock=lambda: AT)
    gate.store.accept(envelope(keys, payload(keys, [person(c, 1)])), AT)
    server = make_server(gate, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate, server.server_port, keys.badge.sign(c)
    finally:
        server.shutdown()
        server.server_close()
        gate.stop()


def call(port: int, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    conn = HTTPConnection("127.0.0.1", port, timeout=5)
    data = None if body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers)
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    ctype = r.getheader("Content-Type") or ""
    return r.status, (json.loads(raw) if ctype.startswith("application/json") else raw.decode())


def test_the_page_is_bilingual_and_carries_the_common_items(lane) -> None:  # type: ignore[no-untyped-def]
    _gate, port, _qr = lane
    status, html = call(port, "GET", "/")
    assert status == 200
    for text in ("ONLINE", "OFFLINE", "ALLOW", "DENY", "ATTENTION", "通行", "禁止通行", "注意"):
        assert text in html
    assert "X-ray clear" in html
    assert "查获" in html
    assert "Seizure" in html
    assert '"lighter"' in html
    common = picker()["common"]
    assert len(common) == 10
    assert [i["code"] for i in common] == [i.code for i in taxonomy.default().common(10)]


def test_scan_state_and_mode(lane) -> None:  # type: ignore[no-untyped-def]
    gate, port, qr = lane
    status, out = call(port, "POST", "/scan", {"qr_text": qr, "direction": "entry"})
    assert status == 200
    assert (out["status"], out["reason"], out["mode"]) == ("allow", "ok", "offline")
    assert out["text_zh"] == "通过"
    assert out["name"] == "王伟1"
    _, again = call(port, "POST", "/scan", {"qr_text": qr, "direction": "entry"})
    assert again["reason"] == "already_inside"
    _, state = call(port, "GET", "/state")
    assert state["pending"] == 2
    assert state["mode"] == "offline"
    assert state["bundle"]["people"] == 1
    assert state["last_result"]["nonce"] == again["nonce"]
    _, mode = call(port, "POST", "/mode", {"mode": "offline"})
    assert mode == {"mode": "forced_offline"}
    assert call(port, "GET", "/state")[1]["mode"] == "forced_offline"
    assert call(port, "POST", "/mode", {"mode": "auto"})[1]["mode"] in ("online", "offline")
    assert call(port, "POST", "/mode", {"mode": "sideways"})[0] == 400
    assert call(port, "POST", "/scan", {"qr_text": "  "})[0] == 400
    assert gate.journal.pending_count == 2


def test_screenings_and_a_seizure_in_three_taps(lane) -> None:  # type: ignore[no-untyped-def]
    gate, port, qr = lane
    _, scanned = call(port, "POST", "/scan", {"qr_text": qr})
    status, clear = call(port, "POST", "/screening", {"subject": "bag", "outcome": "clear"})
    assert status == 200
    assert (clear["method"], clear["outcome"]) == ("xray", "clear")
    assert clear["passage_nonce"] == scanned["nonce"]
    # Tap 1 opens the picker, tap 2 picks the item, tap 3 confirms its usual disposition.
    item = picker()["common"][0]
    body = {"outcome": "item_found", "seizures": [{"item": item["code"], "quantity": 1}]}
    _, seized = call(port, "POST", "/screening", body)
    assert seized["seizures"] == [
        {"item": item["code"], "quantity": 1, "disposition": item["disposition"]}
    ]
    bad = {"outcome": "item_found", "seizures": [{"item": "unicorn"}]}
    assert call(port, "POST", "/screening", bad)[0] == 400
    assert gate.journal.pending_count == 3


def test_only_local_json_requests_are_served(lane) -> None:  # type: ignore[no-untyped-def]
    _gate, port, qr = lane
    assert call(port, "GET", "/state", Host="evil.example:8765")[0] == 403
    conn = HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/scan", body=f"qr_text={qr}", headers={"Content-Type": "text/plain"})
    assert conn.getresponse().status == 415
    conn.close()
    assert call(port, "GET", "/nowhere")[0] == 404


def test_the_page_script_scans_and_seizes_in_three_taps(tmp_path: Path) -> None:
    """Drive the page's script in Node with a stand-in DOM (no browser needed)."""
    import shutil
    import subprocess

    from anbao.gate.lane import page

    node = shutil.which("node")
    require_service(node is not None, "Node.js is not installed")
    assert node is not None
    html = page().decode()
    script = tmp_path / "lane.js"
    script.write_text(html[html.index("<script>") + 8 : html.index("</script>")])
    harness = Path(__file__).with_name("lane_harness.js")
    done = subprocess.run(
        [node, str(harness), str(script)], capture_output=True, text=True, timeout=30, check=True
    )
    out = json.loads(done.stdout)
    assert out["banner"] == "offline"
    assert "pending 3" in out["meta"]
    assert "clock skew -0.4 s" in out["meta"]
    assert out["focused"] == "scan"
    assert out["scan"] == {"qr_text": "HC1:ABC", "direction": "exit"}
    assert (out["result"], out["who"]) == ("deny", "王伟 · VIP")
    assert (out["sheetAfterTap1"], out["items"]) == ("open", 10)
    assert out["dispositions"][0] == "default"  # the item's usual disposition comes first
    assert out["screening"] == [
        {
            "subject": "bag",
            "method": "xray",
            "outcome": "item_found",
            "seizures": [{"item": "lighter", "quantity": 1, "disposition": "deposited"}],
        }
    ]
    assert out["sheetAfterTap3"] == ""


def test_a_broken_journal_is_reported_not_hidden(lane) -> None:  # type: ignore[no-untyped-def]
    gate, port, qr = lane
    gate.journal.close()
    status, out = call(port, "POST", "/scan", {"qr_text": qr})
    assert status == 500
    assert out["error"]["code"] == "lane.error"
    assert "closed" in out["error"]["message"]
