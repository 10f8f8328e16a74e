"""Site pages: the site map and the device list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.sites import services as sites
from anbao.sites.models import (
    CameraKind,
    CheckpointKind,
    Device,
    DeviceKind,
    LaneKind,
    SensorTechnology,
)

DEVICE_PAGE_SIZE = 100
_EMPTY = {"type": "FeatureCollection", "features": []}


def _map_labels() -> dict[str, Any]:
    """Return the translated words the map script shows (series, kinds, tooltip fields)."""
    return {
        "series": {
            "zones": _("Zones"),
            "airspace": _("No-fly zone"),
            "segments": _("Perimeter"),
            "checkpoints": _("Checkpoints"),
            "lanes": _("Lanes"),
            "cameras": _("Cameras"),
            "devices": _("Devices"),
        },
        "fields": {
            "kind": _("Kind"),
            "zone": _("Zone"),
            "lanes": _("Lanes"),
            "ref": _("Code"),
            "checkpoint": _("Checkpoint"),
            "technology": _("Technology"),
            "length": _("Length"),
            "sections": _("Alarm sections"),
            "floor": _("Floor"),
            "ceiling": _("Ceiling"),
            "state": _("State"),
            "online": _("online"),
            "offline": _("offline"),
        },
        "checkpoint": dict(CheckpointKind.choices),
        "lane": dict(LaneKind.choices),
        "technology": dict(SensorTechnology.choices),
        "camera": dict(CameraKind.choices),
        "device": dict(DeviceKind.choices),
    }


@cap_required(Cap.SITE_VIEW)
def site_map(request: HttpRequest) -> HttpResponse:
    """Draw the site on its own GeoJSON."""
    event = sites.current_event()
    geojson = sites.site_geojson(event) if event is not None else _EMPTY
    context = {"event": event, "geojson": geojson, "labels": _map_labels()}
    return render(request, "sites/map.html", context)


class DeviceFilterForm(forms.Form):
    """The device list's filters: kind and online state."""

    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *DeviceKind.choices]
    )
    online = forms.TypedChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), ("1", _("Online")), ("0", _("Offline"))],
        coerce=lambda v: v == "1",
        empty_value=None,
    )

    def apply(self, devices: QuerySet[Device]) -> QuerySet[Device]:
        """Narrow ``devices`` to the chosen kind and state (call after ``is_valid()``)."""
        data = self.cleaned_data
        if data.get("kind"):
            devices = devices.filter(kind=data["kind"])
        if data.get("online") is not None:
            devices = devices.filter(online=data["online"])
        return devices


@cap_required(Cap.DEVICE_VIEW)
def devices(request: HttpRequest) -> HttpResponse:
    """List the devices with their online state, filtered by kind and state."""
    form = DeviceFilterForm(request.GET or None)
    event = sites.current_event()
    context: dict[str, Any] = {"form": form, "event": event, "page": None}
    if event is not None and (not form.is_bound or form.is_valid()):
        rows = sites.list_devices(event)
        if form.is_bound:
            rows = form.apply(rows)
        context["page"] = Paginator(rows, DEVICE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sites/devices.html", context)
