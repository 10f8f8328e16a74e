"""Accounts API: the caller's identity and personal API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from anbao.accounts import services
from anbao.accounts.auth import USER_AUTH, need
from anbao.accounts.roles import Cap, Role

router = Router(tags=["accounts"], auth=USER_AUTH)


class MeOut(Schema):
    """The caller: username, role, language and capabilities."""

    username: str
    role: str
    language: str
    caps: list[str]


class LanguageIn(Schema):
    """A UI language choice."""

    language: str = Field(min_length=2, max_length=10)


class TokenIn(Schema):
    """A request for a personal API token."""

    name: str = Field(min_length=1, max_length=100)
    valid_days: int | None = Field(default=None, ge=1, le=366)


class TokenOut(Schema):
    """A personal API token, shown once."""

    token: str


class UserIn(Schema):
    """A new user with a role and an optional scope."""

    username: str = Field(min_length=1, max_length=150)
    role: Role
    password: str | None = Field(default=None, min_length=10, max_length=128)
    language: str = "zh-hans"
    venues: list[str] = Field(default_factory=list, max_length=100)
    checkpoints: list[str] = Field(default_factory=list, max_length=100)


class UserOut(Schema):
    """A created user; ``password`` only when it was generated."""

    username: str
    role: str
    password: str | None


def _me(user: object) -> MeOut:
    return MeOut(
        username=user.username,  # type: ignore[attr-defined]
        role=user.role,  # type: ignore[attr-defined]
        language=user.language,  # type: ignore[attr-defined]
        caps=sorted(c.value for c in user.caps),  # type: ignore[attr-defined]
    )


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    """Return the authenticated caller."""
    return _me(request.auth)  # type: ignore[attr-defined]


@router.post("/me/language", response=MeOut)
def set_language(request: HttpRequest, payload: LanguageIn) -> MeOut:
    """Set the caller's UI language (zh-hans or en)."""
    user = services.set_language(user=request.auth, language=payload.language)  # type: ignore[attr-defined]
    return _me(user)


@router.post("/me/tokens", response=TokenOut)
def issue_token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    """Issue a personal API token for the caller (shown once)."""
    valid = timedelta(days=payload.valid_days) if payload.valid_days else None
    token = services.issue_api_token(user=request.auth, name=payload.name, valid_for=valid)  # type: ignore[attr-defined]
    return TokenOut(token=token)


@router.post("/users", response={201: UserOut}, auth=need(Cap.USER_MANAGE))
def create_user(request: HttpRequest, payload: UserIn) -> Status:
    """Create a user with a role and scope."""
    created = services.create_user(
        username=payload.username,
        role=payload.role.value,
        password=payload.password,
        language=payload.language,
        venue_codes=payload.venues,
        checkpoint_codes=payload.checkpoints,
    )
    out = UserOut(username=created.user.username, role=created.user.role, password=created.password)
    return Status(201, out)
