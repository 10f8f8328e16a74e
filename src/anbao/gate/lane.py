"""The lane screen: a local web page for the lane PC's kiosk browser, served by the gate.

It binds to 127.0.0.1 only and asks for no login: the screen is the lane PC's own kiosk,
and the only one who can reach it is someone at that PC's keyboard, who is the operator.
Nothing on the network can reach it. Requests must name this host (a page elsewhere cannot
rebind a DNS name to it) and POSTs must be JSON (a page elsewhere cannot send that without
a CORS preflight, which is never granted).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from anbao.gate.gate import Gate
from anbao.screening import taxonomy

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
DISPOSITION_TEXT = {
    "deposited": ("寄存", "Deposit"),
    "confiscated": ("没收", "Confiscate"),
    "police": ("移交公安", "Hand to police"),
    "refused": ("拒绝入场", "Refuse entry"),
}


def picker() -> dict[str, Any]:
    """Return the seizure picker: the ten most common items and the dispositions."""
    tax = taxonomy.default()
    return {
        "common": [
            {
                "code": i.code,
                "zh": i.zh,
                "en": i.en,
                "mark": i.mark,
                "disposition": i.disposition,
            }
            for i in tax.common(10)
        ],
        "dispositions": [
            {"code": code, "zh": zh, "en": en} for code, (zh, en) in DISPOSITION_TEXT.items()
        ],
    }


def page() -> bytes:
    """Return the lane page with the picker built in (it must work without the server)."""
    html = resources.files("anbao.gate").joinpath("lane.html").read_text("utf-8")
    data = json.dumps(picker(), ensure_ascii=False).replace("</", "<\\/")
    return html.replace("/*PICKER*/null", data).encode()


class LaneHandler(BaseHTTPRequestHandler):
    """The lane screen's routes: the page, /state, /scan, /screening, /mode, /photo/<id>."""

    gate: Gate
    server_version = "anbao-gate"

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the console quiet: the journal is the record."""

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost")

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Frame-Options", "DENY")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False).encode())

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message}})

    def do_GET(self) -> None:
        """Serve the page, the state and photos."""
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "lane.bad_host", "wrong Host")
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self._send(HTTPStatus.OK, page(), "text/html; charset=utf-8")
        if path == "/state":
            return self._json(HTTPStatus.OK, self.gate.state())
        match = re.fullmatch(r"/photo/(\d{1,12})", path)
        if match:
            data = self.gate.client.photo(int(match.group(1)))
            if data:
                return self._send(HTTPStatus.OK, data, "image/jpeg")
        return self._error(HTTPStatus.NOT_FOUND, "lane.not_found", "no such page")

    def _body(self) -> dict[str, Any] | None:
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "lane.not_json", "send JSON")
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "lane.too_large", "too large")
            return None
        try:
            value = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            value = None
        if not isinstance(value, dict):
            self._error(HTTPStatus.BAD_REQUEST, "lane.bad_json", "send a JSON object")
            return None
        return value

    def do_POST(self) -> None:
        """Scan, record a screening, or change the mode."""
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "lane.bad_host", "wrong Host")
        body = self._body()
        if body is None:
            return None
        path = self.path.split("?", 1)[0]
        try:
            if path == "/scan":
                qr = str(body.get("qr_text") or "").strip()
                if not qr:
                    return self._error(HTTPStatus.BAD_REQUEST, "lane.empty", "nothing scanned")
                direction = str(body.get("direction") or "entry")
                return self._json(HTTPStatus.OK, self.gate.scan(qr, direction))
            if path == "/screening":
                seizures = body.get("seizures") or []
                if not isinstance(seizures, list):
                    raise ValueError("seizures must be a list")
                entry = self.gate.screening(
                    subject=str(body.get("subject") or "bag"),
                    method=str(body.get("method") or "xray"),
                    outcome=str(body.get("outcome") or "clear"),
                    seizures=[s for s in seizures if isinstance(s, dict)],
                    passage_nonce=body.get("passage_nonce"),
                )
                return self._json(HTTPStatus.OK, entry)
            if path == "/mode":
                mode = self.gate.set_mode(str(body.get("mode") or ""))
                return self._json(HTTPStatus.OK, {"mode": mode})
        except ValueError as exc:
            return self._error(HTTPStatus.BAD_REQUEST, "lane.bad_request", str(exc))
        except Exception as exc:  # the screen must say so, not hang on a closed socket
            message = f"{type(exc).__name__}: {exc}"
            return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "lane.error", message)
        return self._error(HTTPStatus.NOT_FOUND, "lane.not_found", "no such action")


def make_server(gate: Gate, port: int = 8765, host: str = HOST) -> ThreadingHTTPServer:
    """Return the lane screen's server (not yet serving) for ``gate`` on ``host:port``."""
    handler = type("BoundLaneHandler", (LaneHandler,), {"gate": gate})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
