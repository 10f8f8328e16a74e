"""Core API: who am I, and the health of the instance."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from anbao import __version__
from anbao.accounts.auth import USER_AUTH
from anbao.core import clock

router = Router(tags=["core"], auth=USER_AUTH)


class HealthOut(Schema):
    """Instance health."""

    status: str
    version: str
    time: str


@router.get("/health", response=HealthOut)
def health(request: HttpRequest) -> HealthOut:
    """Say that the instance answers, with its version and clock."""
    return HealthOut(status="ok", version=__version__, time=clock.now().isoformat())
