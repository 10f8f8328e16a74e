"""The scanners' fast path: ``POST /api/screening/scan`` served beside Django's request stack.

A lane scanner's scan needs none of what the full stack gives a browser (sessions, CSRF,
locale, messages, login lockout), and at a 6 a.m. rush every millisecond of it is queue. This
ASGI wrapper answers the common case itself: a known device token, a valid body, its own lane.
It calls the same decision service as the API route and answers in the same shapes. Anything
else (no or unknown token, an invalid body) is handed to Django unchanged, so refusals keep
exactly the API's codes and messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection
from pydantic import ValidationError

from anbao.accounts.auth import DEVICE_TOKEN_PREFIX
from anbao.accounts.models import DeviceCredential
from anbao.core import audit
from anbao.core.errors import DomainError
from anbao.core.models import AuditSource

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]

PATH = "/api/screening/scan"
MAX_BODY = 16 * 1024
#: A revoked device token stops working in this process at once and in others within this time.
TOKEN_SECONDS = 5.0


def linger_from_env(raw: str | None) -> float:
    """Return the batch linger in seconds from ``ANBAO_SCAN_LINGER_MS`` (milliseconds, 0-50)."""
    if raw is None or raw.strip() == "":
        return 0.002
    try:
        ms = float(raw)
    except ValueError:
        ms = math.nan
    if not 0 <= ms <= 50:  # also refuses NaN
        raise ImproperlyConfigured(
            f"ANBAO_SCAN_LINGER_MS must be a number of milliseconds from 0 to 50, not {raw!r}."
        )
    return ms / 1000


#: Under load (the last batch held more than one scan) a batch waits this long for more scans
#: before it is decided; an idle lane's scan never waits. ANBAO_SCAN_LINGER_MS=0 turns it off.
LINGER_S = linger_from_env(os.environ.get("ANBAO_SCAN_LINGER_MS"))
#: A batch this large is decided at once, lingering or not.
BATCH_MAX = 32


@dataclass(frozen=True, slots=True)
class _Device:
    """What a scan needs of the calling device; stands in for the model row."""

    pk: int
    external_id: str
    event_id: int
    lane_id: int | None


_tokens: dict[str, tuple[float, _Device]] = {}


def forget_tokens() -> None:
    """Drop cached device tokens (after a revocation or rotation; tests)."""
    _tokens.clear()


def on_token_changed(event: object) -> None:
    """Forget cached tokens when any device's token changes (a bus handler)."""
    forget_tokens()


def _device_for(token: str) -> _Device | None:
    digest = DeviceCredential.digest_of(token)
    hit = _tokens.get(digest)
    if hit is not None and 0.0 <= time.monotonic() - hit[0] < TOKEN_SECONDS:
        return hit[1]
    row = (
        DeviceCredential.objects.filter(token_digest=digest, revoked_at__isnull=True)
        .values_list("device_id", "device__external_id", "device__event_id", "device__lane_id")
        .first()
    )
    if row is None:
        _tokens.pop(digest, None)
        return None
    device = _Device(pk=row[0], external_id=row[1], event_id=row[2], lane_id=row[3])
    if len(_tokens) > 10_000:
        _tokens.clear()
    _tokens[digest] = (time.monotonic(), device)
    return device


class _HandOver(Exception):
    """The request is not the fast path's to answer: Django answers it."""


def _request(token: str, body: bytes) -> tuple[_Device, Any, Any]:
    """Authenticate and validate one scan request: the device, the payload, the lane."""
    from anbao.screening import decisions
    from anbao.screening.scan_api import ScanIn

    try:
        device = _device_for(token)
    except DatabaseError:
        connection.close()  # a server restart or failover: reconnect on the next call
        raise
    if device is None:
        raise _HandOver
    try:
        payload = ScanIn.model_validate_json(body)
    except ValidationError:
        raise _HandOver from None
    if payload.device != device.external_id:
        raise DomainError(
            "auth.device_mismatch", "This device token belongs to another device.", 403
        )
    ctx = decisions.lane_context(
        event_id=device.event_id, checkpoint_code=payload.checkpoint, lane_code=payload.lane
    )
    decisions.check_device_lane(device, ctx)  # type: ignore[arg-type]
    return device, payload, ctx


@contextmanager
def _as_device(device: _Device, ip: str | None) -> Iterator[None]:
    token_ctx = audit.set_context(
        audit.AuditContext(
            actor_label=f"device:{device.external_id}", source=AuditSource.DEVICE, ip=ip
        )
    )
    try:
        yield
    finally:
        audit.reset_context(token_ctx)


def _scan_args(device: _Device, payload: Any, ctx: Any) -> dict[str, Any]:
    return {
        "lane": ctx,
        "direction": payload.direction,
        "nonce": payload.nonce,
        "source": f"device:{device.external_id}",
        "qr_text": payload.qr_text,
        "accreditation_id": payload.accreditation_id,
        "device": device,
        "device_time": payload.device_time,
    }


def _decide(token: str, body: bytes, ip: str | None) -> tuple[int, dict[str, Any]]:
    """Authenticate, validate, decide and store one scan."""
    from anbao.screening import decisions

    device, payload, ctx = _request(token, body)
    decisions.tune_for_scans()
    with _as_device(device, ip):
        result = decisions.scan(**_scan_args(device, payload, ctx))
    return 200, result.as_json()


@dataclass(slots=True)
class _Waiting:
    token: str
    body: bytes
    ip: str | None
    future: asyncio.Future[tuple[int, dict[str, Any]]]


class _Batches:
    """Decide and store together the scans that reach one worker together.

    A scan waits for the loop's next turn; every scan that arrived meanwhile joins it. The batch
    is then decided (on PostgreSQL the holders read in one statement) and stored in one
    transaction (scan_writer: one statement on PostgreSQL, one turn of the writers' lock on
    SQLite), and each scan is answered after that commit. At 300 scans a second a batch
    is mostly one scan and costs what a single scan did. Once a batch has held more than one
    scan, the next waits up to ``LINGER_S`` for others, so in a rush batches grow and each
    scan's share of the round trips, the statements' fixed costs and the commit shrinks.
    """

    def __init__(self, linger: float = LINGER_S) -> None:
        self.waiting: list[_Waiting] = []
        self.linger = linger
        self.busy = False  # the last batch held more than one scan
        self._timer: asyncio.TimerHandle | None = None

    async def decide(self, token: str, body: bytes, ip: str | None) -> tuple[int, dict[str, Any]]:
        """Queue one scan for the next batch and return its answer once stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, dict[str, Any]]] = loop.create_future()
        self.waiting.append(_Waiting(token, body, ip, future))
        if len(self.waiting) == 1:
            # Each batch costs two round trips and a commit whatever its size, so under load a
            # short wait for more scans lowers every scan's share; alone, a scan goes at once.
            if self.busy and self.linger > 0:
                self._timer = loop.call_later(self.linger, self._serve)
            else:
                loop.call_soon(self._serve)
        elif len(self.waiting) == BATCH_MAX and self._timer is not None:
            self._timer.cancel()
            self._timer = None
            loop.call_soon(self._serve)
        return await future

    def _serve(self) -> None:
        self._timer = None
        batch, self.waiting = self.waiting, []
        if not batch:
            return
        self.busy = len(batch) > 1
        answers: list[tuple[int, dict[str, Any]] | BaseException]
        try:
            with _loop_set_aside():
                answers = _serve_batch(batch)
        except Exception as exc:  # never leave a scan waiting: answer the batch with the error
            log.exception("scan fast path: batch failed")
            answers = [exc] * len(batch)
        for item, answer in zip(batch, answers, strict=True):
            if item.future.done():  # the client went away and the request was cancelled
                continue
            if isinstance(answer, BaseException):
                item.future.set_exception(answer)
            else:
                item.future.set_result(answer)


def _serve_batch(batch: list[_Waiting]) -> list[tuple[int, dict[str, Any]] | BaseException]:
    """Decide, store and answer a batch of scans; per scan its answer or its error."""
    from anbao.screening import decisions
    from anbao.screening.scan_writer import write_group

    answers: list[tuple[int, dict[str, Any]] | BaseException] = [_HandOver() for _ in batch]
    try:
        decisions.tune_for_scans()
    except DatabaseError as exc:
        connection.close()
        return [exc for _ in batch]
    begun: list[tuple[int, _Device, Any]] = []
    for i, item in enumerate(batch):
        try:
            device, payload, ctx = _request(item.token, item.body)
            with _as_device(device, item.ip):
                begun.append((i, device, decisions.begin_scan(**_scan_args(device, payload, ctx))))
        except Exception as exc:  # each scan's own refusal; the others go on
            answers[i] = exc
    try:
        decisions.read_holders([p for _, _, p in begun])
    except DatabaseError as exc:
        connection.close()  # a server restart or failover: reconnect on the next batch
        for i, _, _ in begun:
            answers[i] = exc
        return answers
    decided: list[tuple[int, _Device, Any, Any]] = []
    for i, device, pending in begun:
        try:
            with _as_device(device, batch[i].ip):
                result, write = decisions.finish_scan(pending)
            decided.append((i, device, result, write))
        except Exception as exc:
            answers[i] = exc
    stored = write_group([write for _, _, _, write in decided]) if decided else []
    if any(isinstance(r, DatabaseError) for r in stored):
        connection.close()
    for (i, device, result, write), passage_id in zip(decided, stored, strict=True):
        if isinstance(passage_id, BaseException):
            answers[i] = passage_id
            continue
        try:
            with _as_device(device, batch[i].ip):
                answers[i] = (200, decisions.complete_scan(result, write, passage_id).as_json())
        except Exception as exc:
            answers[i] = exc
    return answers


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            if text[:7].lower() == "bearer ":
                return text[7:].strip()
            return None
    return None


class ScanFastPath:
    """ASGI wrapper that answers lane scanners' scans and passes everything else on."""

    def __init__(self, app: ASGIApp, *, threads: int = 2, group: bool = False) -> None:
        self.app = app
        # threads=0: decide on the event loop's own thread (see _loop_set_aside). Otherwise
        # own threads, each keeping one database connection for the life of the process.
        self.pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scan") if threads else None
        )
        self.group = _Batches() if group else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        if token is None or not token.startswith(DEVICE_TOKEN_PREFIX):
            await self.app(scope, receive, send)
            return
        body, ended, fits = await _read_body(receive)
        if not fits:
            await self.app(scope, _replay(body, receive, partial=not ended), send)
            return
        client = scope.get("client")
        ip = client[0] if client else None
        try:
            if self.group is not None:
                status, data = await self.group.decide(token, body, ip)
            elif self.pool is None:
                with _loop_set_aside():
                    status, data = _decide(token, body, ip)
            else:
                loop = asyncio.get_running_loop()
                status, data = await loop.run_in_executor(self.pool, _decide, token, body, ip)
        except _HandOver:
            await self.app(scope, _replay(body, receive), send)
            return
        except DomainError as exc:
            status, data = exc.status, exc.as_dict()
        except DatabaseError:
            log.exception("scan fast path: database unavailable")
            status, data = 503, _error("server.database_unavailable", "Try again shortly.")
        except Exception:
            log.exception("scan fast path: unexpected error")
            status, data = 500, _error("server.error", "An unexpected error occurred.")
        await _respond(send, status, data)


@contextmanager
def _loop_set_aside() -> Iterator[None]:
    """Let Django's database calls run on the event loop's thread for one scan.

    Django refuses synchronous database calls in a thread that runs an event loop, to stop a
    coroutine from blocking the loop by accident. The scan path blocks it on purpose: one scan
    is well under a millisecond of work, and handing it to a thread cost more than the work
    itself on SQLite (a thread wake-up and GIL hand-offs per scan; measured 1,300 -> 1,500-1,600
    scans/s on 2 cores). The loop runs nothing else meanwhile, so nothing can interleave.
    """
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


async def _read_body(receive: Receive) -> tuple[bytes, bool, bool]:
    """Read the body, stopping past :data:`MAX_BODY`: (bytes, ended, fits)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        ended = not message.get("more_body", False)
        if ended or size > MAX_BODY:
            return b"".join(chunks), ended, size <= MAX_BODY


def _replay(body: bytes, receive: Receive, *, partial: bool = False) -> Receive:
    """Return a receive callable that gives Django the body already read, then the rest."""
    sent = False

    async def _receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": partial}
        return await receive()

    return _receive


async def _respond(send: Send, status: int, data: dict[str, Any]) -> None:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def wrap(app: ASGIApp) -> ASGIApp:
    """Return ``app`` behind the scan fast path."""
    # Decide and store the scans arriving together as one batch, on the loop's thread
    # (_Batches): one transaction and one commit for the batch (on PostgreSQL also one holder
    # read). ANBAO_SCAN_GROUP=0 stores each scan on its own: on the loop's thread on SQLite
    # (its work is CPU under one write lock), on ANBAO_SCAN_THREADS threads on PostgreSQL.
    postgres = connection.vendor == "postgresql"
    group = os.environ.get("ANBAO_SCAN_GROUP", "1") != "0"
    default = "1" if postgres and not group else "0"
    threads = int(os.environ.get("ANBAO_SCAN_THREADS", default))
    return ScanFastPath(app, threads=threads, group=group)
