"""Site pages: the site map and the device list."""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from anbao.accounts import services as accounts
from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.core.errors import DomainError
from anbao.sites import services as sites
from anbao.sites.device_api import enrolment_payload
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
    context: dict[str, Any] = {
        "form": form,
        "event": event,
        "page": None,
        "can_manage": request.user.can(Cap.DEVICE_MANAGE),  # type: ignore[union-attr]
    }
    if event is not None and (not form.is_bound or form.is_valid()):
        rows = sites.list_devices(event)
        if form.is_bound:
            rows = form.apply(rows)
        context["page"] = Paginator(rows, DEVICE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "sites/devices.html", context)


@cap_required(Cap.DEVICE_MANAGE)
def device_credential(request: HttpRequest, device_id: str) -> HttpResponse:
    """Show a device's credential; POST issues a one-time enrolment QR or revokes the token."""
    context: dict[str, Any] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "enrol":
                code = accounts.start_enrolment(device_id=device_id)
                payload = enrolment_payload(device_id, code)
                context["enrolment"] = {
                    "code": code,
                    "qr_svg": mark_safe(segno.make(payload, error="m").svg_inline(scale=5)),  # noqa: S308  (segno's own SVG)
                }
            elif action == "revoke":
                accounts.revoke_device_token(device_id=device_id)
                context["message"] = _("The device's credential is revoked.")
            else:
                context["error"] = _("Unknown action.")
        except DomainError as exc:
            if exc.status == 404:
                raise Http404(exc.message) from exc
            context["error"] = exc.message
    try:
        context["state"] = accounts.credential_state(device_id=device_id)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    return render(request, "sites/device_credential.html", context)
