"""Command-centre pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.sites import services as sites


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
