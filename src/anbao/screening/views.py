"""Screening pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.sites import services as sites


@cap_required(Cap.SCREENING_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the checkpoints with their lanes."""
    event = sites.current_event()
    checkpoints = sites.list_checkpoints(event) if event is not None else []
    return render(request, "screening/index.html", {"event": event, "checkpoints": checkpoints})
