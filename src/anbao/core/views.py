"""Core pages: the home page and the audit log."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anbao.accounts.decorators import cap_required
from anbao.accounts.navigation import NAV
from anbao.accounts.roles import Cap
from anbao.core import services
from anbao.core.audit_views_support import AuditSearchForm, export_format
from anbao.sites import services as sites

AUDIT_PAGE_SIZE = 50

_DESCRIPTIONS = {
    "dashboard:index": _("The live picture: site status, device health, flows and alarms."),
    "sites:map": _("Venues, zones, checkpoints, perimeter and no-fly zone on the site map."),
    "accreditation:index": _("Registration, vetting, health attestations and badges."),
    "screening:index": _("Checkpoints and lanes: screening of people, bags and vehicles."),
    "workforce:index": _("Posts, shifts and reserve forces around the clock."),
    "alarms:index": _("Perimeter intrusion alarms, electronic fences and counter-drone."),
    "incidents:index": _("Incidents, dispatch and standard procedures."),
    "sites:devices": _("Gate scanners, sensors and receivers with their online state."),
    "core:audit": _("Who changed or read what, when and from where."),
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the landing page: a tile per domain the user may open and the site in numbers."""
    user = request.user
    tiles = [
        {"url": reverse(e.url_name), "label": e.label, "desc": _DESCRIPTIONS.get(e.url_name, "")}
        for e in NAV
        if user.can(e.cap)  # type: ignore[union-attr]
    ]
    event = sites.current_event()
    context = {
        "tiles": tiles,
        "event": event,
        "summary": sites.site_summary(event) if event is not None else None,
    }
    return render(request, "core/home.html", context)


def _event_tz(event: object | None) -> tzinfo:
    name = getattr(event, "time_zone", "")
    return ZoneInfo(name) if name else timezone.get_current_timezone()


@cap_required(Cap.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the audit log; ``?format=csv|xlsx`` downloads the filtered entries."""
    event = sites.current_event()
    tz = _event_tz(event)
    form = AuditSearchForm(request.GET or None)
    context: dict[str, object] = {"form": form, "event": event, "page": None}
    if not form.is_bound:
        flt = services.AuditFilter(tz=tz)
    elif form.is_valid():
        flt = form.to_filter(tz)
    else:
        return render(request, "core/audit.html", context)
    fmt = export_format(request.GET.get("format"))
    if fmt is not None:
        export = services.export_audit(flt, fmt)
        response = HttpResponse(export.content, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response
    context["page"] = Paginator(services.search_audit(flt), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "core/audit.html", context)
