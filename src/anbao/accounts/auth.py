"""API authentication (session, user bearer token, device token) and capability checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from anbao.accounts.models import ApiToken, DeviceCredential, User
from anbao.accounts.roles import Cap
from anbao.core import audit, clock
from anbao.core.errors import DomainError, Forbidden
from anbao.core.middleware import client_ip
from anbao.core.models import AuditSource

F = TypeVar("F", bound=Callable[..., Any])

DEVICE_TOKEN_PREFIX = "abd_"
USER_TOKEN_PREFIX = "abu_"


def _set_user_context(request: HttpRequest, user: User) -> None:
    request.user = user
    audit.set_context(
        audit.AuditContext(
            actor_id=user.pk,
            actor_label=user.get_username(),
            source=AuditSource.API,
            ip=client_ip(request),
        )
    )


class UserSession(SessionAuth):
    """A logged-in browser session (CSRF-checked on unsafe methods)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        """Return the session's active user, or None."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


class UserToken(HttpBearer):
    """``Authorization: Bearer abu_...``: a user's API token."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        """Return the token's user, refusing device tokens on user endpoints."""
        if token.startswith(DEVICE_TOKEN_PREFIX):
            raise Forbidden("auth.device_token_not_allowed", "A device token cannot call a user endpoint.")
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.digest_of(token), revoked_at__isnull=True)
            .first()
        )
        now = clock.now()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if not row.user.is_active:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        _set_user_context(request, row.user)
        return row.user


class DeviceToken(HttpBearer):
    """``Authorization: Bearer abd_...``: a device's own token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        """Return the device the token belongs to, or None."""
        if not token.startswith(DEVICE_TOKEN_PREFIX):
            return None
        cred = (
            DeviceCredential.objects.select_related("device")
            .filter(token_digest=DeviceCredential.digest_of(token), revoked_at__isnull=True)
            .first()
        )
        if cred is None:
            return None
        device = cred.device
        request.device = device  # type: ignore[attr-defined]  # set for the route to read
        audit.set_context(
            audit.AuditContext(
                actor_label=f"device:{device.external_id}", source=AuditSource.DEVICE, ip=client_ip(request)
            )
        )
        return device


USER_AUTH = [UserSession(), UserToken()]
DEVICE_AUTH = [DeviceToken()]


def require_cap(user: Any, cap: Cap) -> None:
    """Raise ``auth.forbidden`` unless ``user`` holds ``cap``."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise DomainError("auth.unauthenticated", "Log in or send a token.", status=401)
    if not user.can(cap):
        raise Forbidden("auth.forbidden", f"Your role may not do this ({cap.value}).")


def requires(cap: Cap) -> Callable[[F], F]:
    """Mark an API operation as needing ``cap``; the role matrix test reads the mark."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            require_cap(getattr(request, "auth", None) or request.user, cap)
            return func(request, *args, **kwargs)

        wrapper._anbao_cap = cap  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def device_only(func: F) -> F:
    """Mark an API operation as callable by a device token only."""
    func._anbao_device = True  # type: ignore[attr-defined]
    return func
