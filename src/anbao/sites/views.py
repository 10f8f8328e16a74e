"""Site pages: the site map and the device list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap


@cap_required(Cap.SITE_VIEW)
def site_map(request: HttpRequest) -> HttpResponse:
    """Draw the site on its own GeoJSON."""
    return render(request, "sites/map.html", {})


@cap_required(Cap.DEVICE_VIEW)
def devices(request: HttpRequest) -> HttpResponse:
    """List the devices with their online state."""
    return render(request, "sites/devices.html", {})
