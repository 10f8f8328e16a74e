"""Alarm pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.sites import services as sites


@cap_required(Cap.ALARMS_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the guarded perimeter with its alarm sections and the no-fly volumes."""
    event = sites.current_event()
    context = {
        "event": event,
        "segments": sites.list_segments(event) if event is not None else [],
        "airspace": sites.list_airspace(event) if event is not None else [],
    }
    return render(request, "alarms/index.html", context)
