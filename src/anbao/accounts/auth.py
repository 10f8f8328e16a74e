"""API authentication (session, user bearer token, device token) with capability checks.

Access is declared once per operation (or router) through its ``auth=``:

- ``need(Cap.X)``: a logged-in user (session or personal token) holding capability X;
- ``USER_AUTH``: any logged-in user, whatever the role;
- ``DEVICE_AUTH``: a device token (the route then checks that the device is its own);
- ``auth=None``: open; only for routes whose payload carries its own secret.

The capability is checked during authentication, before the payload is parsed, so a caller
without the right gets 403 whatever they send.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security.session import SessionAuth

from anbao.accounts.models import ApiToken, DeviceCredential, User
from anbao.accounts.roles import Cap
from anbao.core import audit, clock
from anbao.core.errors import DomainError, Forbidden
from anbao.core.middleware import client_ip
from anbao.core.models import AuditSource

DEVICE_TOKEN_PREFIX = "abd_"  # noqa: S105  (a public prefix, not a secret)
USER_TOKEN_PREFIX = "abu_"  # noqa: S105  (a public prefix, not a secret)


def require_cap(user: Any, cap: Cap | None) -> None:
    """Raise ``auth.forbidden`` unless ``user`` holds ``cap`` (None: any logged-in user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise DomainError("auth.unauthenticated", "Log in or send a token.", status=401)
    if cap is not None and not user.can(cap):
        raise Forbidden("auth.forbidden", f"Your role may not do this ({cap.value}).")


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

    def __init__(self, cap: Cap | None = None) -> None:
        super().__init__()
        self.cap = cap

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        """Return the session's active user if it holds the capability."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        require_cap(user, self.cap)
        return user


class UserToken(HttpBearer):
    """``Authorization: Bearer abu_...``: a user's personal API token."""

    def __init__(self, cap: Cap | None = None) -> None:
        super().__init__()
        self.cap = cap

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        """Return the token's user, refusing device tokens on user endpoints."""
        if token.startswith(DEVICE_TOKEN_PREFIX):
            raise Forbidden(
                "auth.device_token_not_allowed", "A device token cannot call a user endpoint."
            )
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
        require_cap(row.user, self.cap)
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
        audit.set_context(
            audit.AuditContext(
                actor_label=f"device:{device.external_id}",
                source=AuditSource.DEVICE,
                ip=client_ip(request),
            )
        )
        return device


def need(cap: Cap | None) -> list[Any]:
    """Return the ``auth=`` value for routes open to users holding ``cap``."""
    return [UserSession(cap), UserToken(cap)]


USER_AUTH = need(None)
DEVICE_AUTH = [DeviceToken()]


def access_of(auth_callbacks: Any) -> tuple[str, Cap | None]:
    """Classify a route's auth: public, device, any_user, or cap (with the capability)."""
    callbacks = list(auth_callbacks or [])
    if not callbacks:
        return "public", None
    if all(isinstance(cb, DeviceToken) for cb in callbacks):
        return "device", None
    caps = {cb.cap for cb in callbacks if isinstance(cb, UserSession | UserToken)}
    if len(caps) != 1:
        return "mixed", None
    cap = caps.pop()
    return ("any_user", None) if cap is None else ("cap", cap)
