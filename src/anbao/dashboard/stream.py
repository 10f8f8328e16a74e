"""The big screen's server-sent events: one long response per screen, fed by the broadcaster.

Under ASGI the response body is an async generator that sleeps on an ``asyncio.Event``; under
WSGI (the test server, a development server) it is a plain generator that sleeps on a thread
event, so neither server buffers the stream. Each screen gets at most ``MAX_SENDS_PER_S``
writes a second (frames waiting are sent together), a comment line as heartbeat every
``HEARTBEAT_S``, and a reconnect after ``MAX_LIFETIME_S`` carrying ``Last-Event-ID``.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from anbao.accounts.roles import Cap
from anbao.dashboard import broadcaster as bc

__all__ = ["async_cap_required", "stream"]

MAX_SENDS_PER_S = 4.0
HEARTBEAT_S = 15.0
MAX_LIFETIME_S = 600.0
RETRY_MS = 2000

AsyncView = Callable[..., Awaitable[HttpResponse | StreamingHttpResponse]]


def async_cap_required(cap: Cap) -> Callable[[AsyncView], AsyncView]:
    """Guard an async page like ``cap_required``: login first, then the capability."""

    def decorate(view: AsyncView) -> AsyncView:
        @functools.wraps(view)
        async def wrapper(
            request: HttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponse | StreamingHttpResponse:
            from django.contrib.auth.views import redirect_to_login

            user = await request.auser()
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.can(cap):
                # The 403 page's layout reads the database: render it on a thread.
                return await sync_to_async(render)(
                    request, "403.html", {"cap": cap.value}, status=403
                )
            return await view(request, *args, **kwargs)

        wrapper._anbao_cap = cap  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _frames(b: bc.Broadcaster, frames: list[tuple[int, str]]) -> str:
    return "".join(f"id: {b.event_id(seq)}\nevent: delta\ndata: {data}\n\n" for seq, data in frames)


def _resync(b: bc.Broadcaster) -> str:
    return f"id: {b.event_id(b.seq)}\nevent: resync\ndata: {{}}\n\n"


def _hello(b: bc.Broadcaster, resync: bool) -> str:
    head = f"retry: {RETRY_MS}\n: anbao live {b.epoch}\n\n"
    return head + (_resync(b) if resync else "")


async def _aiter(b: bc.Broadcaster, last: str | None, lifetime: float) -> AsyncIterator[str]:
    # Subscribing inside the generator: a response never read never holds a place.
    sub, resync = b.subscribe(last)
    sub.loop = asyncio.get_running_loop()
    sub.aevent = asyncio.Event()
    ends = time.monotonic() + lifetime
    interval = 1.0 / MAX_SENDS_PER_S
    try:
        yield _hello(b, resync)
        missed, _ = b.pending(sub)  # a reconnect's missed frames, replayed from the ring
        if missed:
            yield _frames(b, missed)
        while time.monotonic() < ends:
            try:
                await asyncio.wait_for(sub.aevent.wait(), timeout=HEARTBEAT_S)
            except TimeoutError:
                yield ": hb\n\n"
                continue
            sub.aevent.clear()
            # Rate limit: frames arriving meanwhile are sent together in the next write.
            wait = sub.last_sent + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            frames, behind = b.pending(sub)
            sub.last_sent = time.monotonic()
            if behind:
                yield _resync(b)
            elif frames:
                yield _frames(b, frames)
    finally:
        b.unsubscribe(sub)


def _iter(b: bc.Broadcaster, last: str | None, lifetime: float) -> Iterator[str]:
    sub, resync = b.subscribe(last)
    ends = time.monotonic() + lifetime
    interval = 1.0 / MAX_SENDS_PER_S
    ev: threading.Event = sub.tevent
    try:
        yield _hello(b, resync)
        missed, _ = b.pending(sub)
        if missed:
            yield _frames(b, missed)
        while time.monotonic() < ends:
            if not ev.wait(timeout=HEARTBEAT_S):
                yield ": hb\n\n"
                continue
            ev.clear()
            wait = sub.last_sent + interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            frames, behind = b.pending(sub)
            sub.last_sent = time.monotonic()
            if behind:
                yield _resync(b)
            elif frames:
                yield _frames(b, frames)
    finally:
        b.unsubscribe(sub)


@async_cap_required(Cap.DASHBOARD_VIEW)
async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Stream the big screen's deltas as ``text/event-stream``."""
    b = bc.get()
    last = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    try:
        lifetime = min(MAX_LIFETIME_S, max(1.0, float(request.GET.get("max_s", MAX_LIFETIME_S))))
    except ValueError:
        lifetime = MAX_LIFETIME_S
    body: AsyncIterator[str] | Iterator[str]
    if isinstance(request, ASGIRequest):
        body = _aiter(b, last, lifetime)
    else:
        body = _iter(b, last, lifetime)
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response
