"""The JSON API under /api/: one NinjaAPI, one error format, no 500s from client input."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from anbao import __version__
from anbao.accounts.api import router as accounts_router
from anbao.accreditation.api import router as accreditation_router
from anbao.accreditation.badge_api import router as badges_router
from anbao.accreditation.credentials_api import router as credentials_router
from anbao.alarms.api import router as alarms_router
from anbao.core.api import router as core_router
from anbao.core.errors import DomainError
from anbao.dashboard.api import router as dashboard_router
from anbao.incidents.api import router as incidents_router
from anbao.screening.api import router as screening_router
from anbao.sites.api import router as sites_router
from anbao.sites.device_api import router as devices_router
from anbao.workforce.api import router as workforce_router

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="anbao API",
    version=__version__,
    description=(
        "The JSON API of anbao. Authenticate with a browser session or "
        "`Authorization: Bearer <token>`. Every error has the shape "
        '`{"error": {"code": "...", "message": "...", "problems": [...]}}`.'
    ),
    urls_namespace="api",
    docs_url="/docs",
    docs_decorator=login_required,
)


def _error(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    problems: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if problems:
        body["problems"] = problems
    return api.create_response(request, {"error": body}, status=status)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        problems.append(
            {
                "field": ".".join(loc) or "body",
                "code": str(err.get("type", "invalid")),
                "message": str(err.get("msg", "")),
            }
        )
    return _error(request, 422, "request.invalid", "The request is not valid.", problems)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "auth.unauthenticated", "Log in or send a valid token.")


@api.exception_handler(AuthorizationError)
def _unauthorized(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return _error(request, 403, "auth.forbidden", str(exc) or "Not allowed.")


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "auth.forbidden", str(exc) or "Not allowed.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "request.not_found", "Not found.")


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 413, "request.too_large", "The request body is too large.")


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return _error(request, 400, "request.rejected", "The request was rejected.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = "request.malformed" if exc.status_code == 400 else f"request.http_{exc.status_code}"
    return _error(request, exc.status_code, code, str(exc))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unexpected API error on %s", request.path)
    return _error(request, 500, "server.error", "An unexpected error occurred; it has been logged.")


api.add_router("/core", core_router)
api.add_router("/accounts", accounts_router)
api.add_router("/sites", sites_router)
api.add_router("/devices", devices_router)
api.add_router("/credentials", credentials_router)
api.add_router("/accreditation", accreditation_router)
api.add_router("/badges", badges_router)
api.add_router("/screening", screening_router)
api.add_router("/alarms", alarms_router)
api.add_router("/incidents", incidents_router)
api.add_router("/workforce", workforce_router)
api.add_router("/dashboard", dashboard_router)
