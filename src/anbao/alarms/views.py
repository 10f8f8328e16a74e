"""Alarm pages: the open alarms with their actions, sensors, dead letters, drones, walk tests."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from anbao.accounts.decorators import cap_required
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.alarms import queries, services, stats
from anbao.core.errors import DomainError
from anbao.sites import services as sites
from anbao.sites.models import Event


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _live_context(request: HttpRequest) -> dict[str, Any]:
    event = sites.current_event()
    if event is None:
        return {"event": None}
    user = _user(request)
    devices = queries.device_health(event)
    alarms = queries.alarm_list(event, state="open", limit=100)
    return {
        "event": event,
        "alarms": alarms,
        "devices_offline": [d for d in devices if not d["online"]],
        "devices_total": len(devices),
        "dead": queries.dead_letters(limit=5),
        "drones": queries.drone_tracks(event)[:10],
        "can_operate": Cap.ALARMS_OPERATE in user.caps,
        "can_force": Cap.ALARMS_FORCE in user.caps,
        **_incident_context(event, user, alarms),
        "dispositions": _dispositions(),
        "stream_url": reverse("dashboard:stream") if Cap.DASHBOARD_VIEW in user.caps else "",
    }


def _dispositions() -> list[tuple[str, str]]:
    return [
        ("real", gettext("Real")),
        ("nuisance", gettext("Nuisance (environment)")),
        ("false", gettext("False (equipment)")),
        ("test", gettext("Test")),
    ]


def _incident_context(event: Event, user: User, alarms: list[dict[str, Any]]) -> dict[str, Any]:
    """Return what the "Open incident" and "Attach to incident" buttons need.

    Each alarm row gains ``incident`` (id and number) when it is already on one.
    """
    if Cap.INCIDENTS_VIEW not in user.caps:
        return {"can_incident": False}
    from anbao.incidents import queries as incident_queries
    from anbao.incidents.models import IncidentKind

    attached = incident_queries.alarm_incidents(event)
    for row in alarms:
        row["incident"] = attached.get(row["id"])
    return {
        "can_incident": Cap.INCIDENTS_OPERATE in user.caps,
        "incident_types": IncidentKind.choices,
        "live_incidents": incident_queries.incident_list(event, state="open", limit=50),
    }


@cap_required(Cap.ALARMS_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the open alarms, sensors, drones, the perimeter and the no-fly zone."""
    context = _live_context(request)
    event = context["event"]
    if event is not None:
        context["segments"] = sites.list_segments(event)
        context["airspace"] = sites.list_airspace(event)
        context["detection"] = stats.detection_by_section(event)
    return render(request, "alarms/index.html", context)


@cap_required(Cap.ALARMS_VIEW)
def detail(request: HttpRequest, alarm_id: int) -> HttpResponse:
    """Show one alarm: its actions, timeline, sensor messages and the cameras for its point."""
    event = sites.current_event()
    try:
        alarm = queries.alarm_detail(alarm_id)
    except DomainError:
        return render(request, "404.html", status=404)
    user = _user(request)
    context: dict[str, Any] = {
        "event": event,
        "a": alarm,
        "back": "detail",
        "can_operate": Cap.ALARMS_OPERATE in user.caps,
        "can_force": Cap.ALARMS_FORCE in user.caps,
        "dispositions": _dispositions(),
    }
    if event is not None:
        context.update(_incident_context(event, user, [alarm]))
    return render(request, "alarms/detail.html", context)


@cap_required(Cap.ALARMS_VIEW)
def live(request: HttpRequest) -> HttpResponse:
    """Return the live part of the alarm page (fetched again every few seconds)."""
    return render(request, "alarms/_live.html", _live_context(request))


@cap_required(Cap.ALARMS_OPERATE)
@require_POST
def act(request: HttpRequest, alarm_id: int, action: str) -> HttpResponse:
    """Acknowledge (forced when the privilege allows), take, note, call up cameras or close."""
    user = _user(request)
    note = request.POST.get("note", "")[:1000]
    # Only two places to go back to: never a URL from the form (no open redirect).
    back = (
        reverse("alarms:detail", args=[alarm_id])
        if request.POST.get("back") == "detail"
        else reverse("alarms:index")
    )
    try:
        if action == "note":
            services.add_note(alarm_id=alarm_id, user=user, text=note)
            messages.success(request, gettext("Note added."))
            return HttpResponseRedirect(back)
        if action == "cameras":
            cameras = services.call_up_cameras(alarm_id=alarm_id, user=user)
            messages.success(
                request,
                gettext("Cameras called up: %(list)s.")
                % {"list": ", ".join(c["camera"] for c in cameras)},
            )
            return HttpResponseRedirect(back)
        if action == "acknowledge":
            force = request.POST.get("force") == "1"
            if force and Cap.ALARMS_FORCE not in user.caps:
                raise DomainError("alarms.force_not_allowed", gettext("You may not force it."))
            alarm = services.acknowledge(alarm_id=alarm_id, user=user, force=force, note=note)
        elif action == "take":
            alarm = services.take(alarm_id=alarm_id, user=user)
        elif action == "close":
            alarm = services.close(
                alarm_id=alarm_id,
                user=user,
                disposition=request.POST.get("disposition", ""),
                note=note,
            )
        else:
            raise DomainError("alarms.unknown_action", gettext("Unknown action."))
        messages.success(
            request,
            gettext("Alarm #%(number)s: %(workflow)s.")
            % {"number": alarm.number, "workflow": alarm.get_workflow_display()},
        )
    except DomainError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return HttpResponseRedirect(back)
