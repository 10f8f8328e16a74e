"""HTTP to the anbao server with the lane scanner's device token; short timeouts.

A dead or unreachable server raises :class:`Unreachable` within about ``timeout`` seconds,
so that the gate turns to its bundle before the queue at the lane notices.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

DEFAULT_TIMEOUT = 1.5
SCAN = "/api/screening/scan"
BUNDLE = "/api/screening/gate/bundle"
SYNC = "/api/screening/gate/sync"


class Unreachable(Exception):
    """The server did not answer (refused, timed out, 5xx): the gate goes offline."""


class Refused(Exception):
    """The server answered with a 4xx: ``status`` and the error ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Answer:
    """A server answer: status, JSON body (None for 304) and the skew seen from ``Date``."""

    status: int
    body: Any
    date_skew_s: float | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect would carry the token elsewhere: treat it as an error


class Client:
    """The server's gate API for one device."""

    def __init__(self, server: str, token: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _call(
        self, method: str, path: str, body: Any = None, *, timeout: float | None = None
    ) -> Answer:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured server
            self.server + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        sent = time.time()
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as response:
                raw = response.read()
                status, headers = response.status, response.headers
        except urllib.error.HTTPError as exc:
            status, headers = exc.code, exc.headers
            raw = exc.read() if exc.fp is not None else b""
            if status == 304:
                return Answer(304, None, _skew(headers.get("Date"), sent))
            if status >= 500 or status in (408, 429):
                raise Unreachable(f"{status} from {path}") from None
            code, message = _error(raw)
            raise Refused(status, code, message) from None
        except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSError
            raise Unreachable(str(exc)) from None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            raise Unreachable(f"not JSON from {path}") from None
        return Answer(status, parsed, _skew(headers.get("Date"), sent))

    def scan(self, payload: dict[str, Any]) -> Answer:
        """Ask the server to decide a scan (``POST /api/screening/scan``)."""
        return self._call("POST", SCAN, payload)

    def bundle(self, since: int | None = None, *, photos: bool = True) -> Answer:
        """Fetch the bundle; status 304 (body None) when ``since`` is still current."""
        query: dict[str, Any] = {"photos": "1" if photos else "0"}
        if since:
            query["since"] = since
        # A bundle with photos is large: give the transfer more time than a scan.
        return self._call("GET", f"{BUNDLE}?{urllib.parse.urlencode(query)}", timeout=60)

    def sync(self, body: dict[str, Any]) -> Answer:
        """Upload a chunk of the journal (``POST /api/screening/gate/sync``)."""
        return self._call("POST", SYNC, body, timeout=max(self.timeout, 10))

    def photo(self, person_id: int) -> bytes | None:
        """Return a person's photo from the server, or None."""
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured server
            f"{self.server}/api/screening/people/{int(person_id)}/photo",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                data: bytes = response.read()
                return data
        except (urllib.error.URLError, OSError):
            return None


def _error(raw: bytes) -> tuple[str, str]:
    try:
        err = json.loads(raw).get("error") or {}
        return str(err.get("code") or "http_error"), str(err.get("message") or "")
    except (ValueError, AttributeError):
        return "http_error", raw[:200].decode("utf-8", "replace")


def _skew(date: str | None, sent: float) -> float | None:
    """Return local clock minus the server's ``Date`` (1 s resolution), or None."""
    if not date:
        return None
    try:
        server = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None
    # Date is truncated to the second: compare with the middle of the round trip, +0.5 s.
    middle = (sent + time.time()) / 2
    return round(middle - (server + 0.5), 1)
