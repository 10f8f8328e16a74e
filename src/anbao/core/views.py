"""Core pages: the home page and the audit log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the landing page with the menu for the user's role."""
    return render(request, "core/home.html", {})


@cap_required(Cap.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the audit log."""
    return render(request, "core/audit.html", {})
