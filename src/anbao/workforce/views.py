"""Workforce pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap


@cap_required(Cap.WORKFORCE_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the workforce overview (empty until posts and shifts exist)."""
    return render(request, "workforce/index.html", {})
