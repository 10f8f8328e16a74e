"""Accreditation pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap


@cap_required(Cap.ACCREDITATION_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the accreditation overview (empty until records exist)."""
    return render(request, "accreditation/index.html", {})
