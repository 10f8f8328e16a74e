"""Command-centre pages: the site summary, the live big screen and the centre's reports."""

from __future__ import annotations

from typing import cast
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from anbao.accounts.decorators import cap_required
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.alarms.models import Workflow
from anbao.core import audit, clock
from anbao.core.errors import DomainError
from anbao.dashboard import reports
from anbao.dashboard import scope as scopes
from anbao.dashboard import snapshot as snap
from anbao.dashboard.stream import stream
from anbao.incidents.models import IncidentState
from anbao.screening import stats as screening_stats
from anbao.sites import services as sites

__all__ = ["daily_pdf", "handover_pdf", "index", "screen", "stream"]


@cap_required(Cap.DASHBOARD_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the site summary and the device status per kind."""
    event = sites.current_event()
    context = {
        "event": event,
        "summary": sites.site_summary(event) if event is not None else None,
        "devices": sites.list_devices(event) if event is not None else [],
    }
    return render(request, "dashboard/index.html", context)


def _error_page(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(
        request,
        "dashboard/error.html",
        {"code": exc.code, "message": exc.message},
        status=exc.status,
    )


@cap_required(Cap.DASHBOARD_VIEW)
def screen(request: HttpRequest) -> HttpResponse:
    """Show the live big screen (1920x1080 or 3840x2160), for the event or one venue."""
    event = sites.current_event()
    if event is None:
        return render(request, "dashboard/index.html", {"event": None})
    try:
        scope = scopes.resolve(
            cast(User, request.user),
            event,
            request.GET.get("venue") or None,
            read_only=request.GET.get("mode") == "readonly",
        )
    except DomainError as exc:
        return _error_page(request, exc)
    context = {
        "event": event,
        "venue": scope.venue,
        "read_only": scope.read_only,
        "geojson": sites.site_geojson(event),
        "replay_hours": snap.REPLAY_HOURS,
        "replay_minutes": snap.REPLAY_HOURS * 60,
        "labels": {
            "live": _("Live"),
            "replay": _("Replay"),
            "reconnecting": _("Reconnecting"),
            "acknowledge": _("Acknowledge"),
            "open": _("open"),
            "closed": _("closed"),
            "overdue": _("overdue"),
            "no_alarms": _("No open alarms."),
            "no_incidents": _("No open incidents."),
            "available": _("available"),
            "dispatched": _("dispatched"),
            "workflow": {k: str(v) for k, v in Workflow.choices},
            "incident_state": {k: str(v) for k, v in IncidentState.choices},
            "timers": {"ack": _("Ack"), "respond": _("On scene"), "resolve": _("Resolve")},
        },
    }
    return render(request, "dashboard/screen.html", context)


def _pdf(body: bytes, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@cap_required(Cap.DASHBOARD_VIEW)
def daily_pdf(request: HttpRequest) -> HttpResponse:
    """Download the daily report for ``?day=YYYY-MM-DD`` (today by default) as PDF."""
    event = sites.current_event()
    if event is None:
        return render(request, "dashboard/index.html", {"event": None})
    try:
        day = screening_stats.parse_day(request.GET.get("day"), time_zone=event.time_zone)
    except DomainError as exc:
        return _error_page(request, exc)
    lang = str(request.GET.get("lang") or getattr(request, "LANGUAGE_CODE", "zh-hans"))
    body = reports.daily_report(event, day, lang=lang)
    audit.record("dashboard.report_daily", obj=event, after={"day": day.isoformat()})
    return _pdf(body, f"daily-{event.code}-{day.isoformat()}.pdf")


@cap_required(Cap.DASHBOARD_VIEW)
def handover_pdf(request: HttpRequest) -> HttpResponse:
    """Download the shift handover report for the last ``?hours=`` (12 by default) as PDF."""
    event = sites.current_event()
    if event is None:
        return render(request, "dashboard/index.html", {"event": None})
    try:
        hours = int(request.GET.get("hours") or 12)
    except ValueError:
        hours = 0
    if not 1 <= hours <= 24:
        exc = DomainError("dashboard.bad_hours", _("hours must be between 1 and 24."), 422)
        return _error_page(request, exc)
    lang = str(request.GET.get("lang") or getattr(request, "LANGUAGE_CODE", "zh-hans"))
    at = clock.now()
    body = reports.handover_report(event, at, hours=hours, lang=lang)
    audit.record("dashboard.report_handover", obj=event, after={"hours": hours})
    local = at.astimezone(ZoneInfo(event.time_zone))
    return _pdf(body, f"handover-{event.code}-{local:%Y%m%d-%H%M}.pdf")
