"""Request middleware: sets the audit context (actor, source, address) for each request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from anbao.core import audit
from anbao.core.models import AuditSource


def client_ip(request: HttpRequest) -> str | None:
    """Return the caller's address (the proxy, if any, is trusted to set REMOTE_ADDR)."""
    ip = request.META.get("REMOTE_ADDR")
    return ip or None


class AuditContextMiddleware:
    """Give every service call made while serving a request its actor and source."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Handle one request."""
        user = getattr(request, "user", None)
        source = AuditSource.API if request.path.startswith("/api/") else AuditSource.UI
        if user is not None and user.is_authenticated:
            ctx = audit.AuditContext(
                actor_id=user.pk,
                actor_label=user.get_username(),
                source=source,
                ip=client_ip(request),
            )
        else:
            ctx = audit.AuditContext(actor_label="anonymous", source=source, ip=client_ip(request))
        token = audit.set_context(ctx)
        try:
            return self.get_response(request)
        finally:
            audit.reset_context(token)


_HTTP_CODES = {
    400: "request.malformed",
    403: "auth.forbidden",
    404: "request.not_found",
    405: "request.method_not_allowed",
    413: "request.too_large",
}


class ApiErrorFormatMiddleware:
    """Give API errors raised outside Ninja (405, unknown paths, CSRF) the one error format."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Handle one request."""
        response = self.get_response(request)
        if (
            not request.path.startswith("/api/")
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
            or request.path.startswith("/api/docs")
        ):
            return response
        status = response.status_code
        body = {
            "error": {
                "code": _HTTP_CODES.get(status, f"request.http_{status}"),
                "message": response.reason_phrase,
            }
        }
        replaced = JsonResponse(body, status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replaced[header] = response[header]
        return replaced
