"""Dashboard API (at ``/api/dashboard``): the big screen's snapshot, live or as of a moment."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Router

from anbao.accounts.auth import need
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.alarms.queries import require_event
from anbao.dashboard import scope as scopes
from anbao.dashboard import snapshot as snap

router = Router(tags=["dashboard"])


@router.get("/snapshot", auth=need(Cap.DASHBOARD_VIEW), response=dict[str, Any])
def snapshot(request: HttpRequest, at: str = "", venue: str = "") -> dict[str, Any]:
    """Return the big screen's state now, or as of ``at`` (replay), for the event or a venue."""
    event = require_event()
    user = cast(User, request.auth)  # type: ignore[attr-defined]
    scope = scopes.resolve(user, event, venue or None)
    moment = snap.parse_at(at or None)
    body = snap.snapshot(event, at=moment, venue=scope.venue)
    body["read_only"] = scope.read_only
    return body
