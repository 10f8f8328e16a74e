"""Accounts API: the caller's own identity."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from anbao.accounts.auth import USER_AUTH

router = Router(tags=["accounts"], auth=USER_AUTH)


class MeOut(Schema):
    """The caller: username, role, language and capabilities."""

    username: str
    role: str
    language: str
    caps: list[str]


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    """Return the authenticated caller."""
    user = request.auth  # type: ignore[attr-defined]
    return MeOut(
        username=user.username, role=user.role, language=user.language, caps=sorted(c.value for c in user.caps)
    )
