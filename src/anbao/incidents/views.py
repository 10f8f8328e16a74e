"""Incident pages: the desk's list with timers, one incident, and a unit leader's phone page."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_POST

from anbao.accounts.decorators import cap_required
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core import audit
from anbao.core.errors import DomainError
from anbao.core.models import AuditSource
from anbao.incidents import dispatching, engine, queries, services
from anbao.incidents.models import (
    DispatchState,
    Disposition,
    IncidentKind,
    IncidentState,
    IncidentType,
)
from anbao.incidents.sop import ensure_types
from anbao.sites import services as sites


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


TIMER_NAMES = {
    "ack": gettext_lazy("Acknowledge"),
    "respond": gettext_lazy("Respond"),
    "resolve": gettext_lazy("Resolve"),
}


def _decorate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add what the templates show: each timer with its label and due time as datetimes."""
    for row in rows:
        row["timer_rows"] = [
            {
                "name": name,
                "label": TIMER_NAMES[name],
                "due": datetime.fromisoformat(t["due"]),
                "met": t["met_at"] is not None,
                "overdue": t["overdue"],
                "late": t["late"],
                "left_min": round(t["left_s"] / 60, 1),
            }
            for name, t in row["timers"].items()
        ]
    return rows


def _live_context(request: HttpRequest) -> dict[str, Any]:
    event = sites.current_event()
    if event is None:
        return {"event": None}
    user = _user(request)
    return {
        "event": event,
        "incidents": _decorate(queries.incident_list(event, state="open")),
        "recent": _decorate(queries.incident_list(event, state="closed", limit=10)),
        "notices": queries.notices_for(user, limit=10),
        "can_operate": Cap.INCIDENTS_OPERATE in user.caps,
        "lang_en": (get_language() or "").startswith("en"),
    }


@cap_required(Cap.INCIDENTS_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the live incidents with their timers, notices for my role, and the open form."""
    context = _live_context(request)
    if context["event"] is not None:
        ensure_types(context["event"])
        context["types"] = IncidentType.objects.filter(event=context["event"])
    return render(request, "incidents/index.html", context)


@cap_required(Cap.INCIDENTS_VIEW)
def live(request: HttpRequest) -> HttpResponse:
    """Return the live part of the list (fetched again every few seconds)."""
    return render(request, "incidents/_live.html", _live_context(request))


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise DomainError(
            "incidents.bad_position", gettext("Coordinates must be numbers.")
        ) from exc


@cap_required(Cap.INCIDENTS_OPERATE)
@require_POST
def open_incident(request: HttpRequest) -> HttpResponse:
    """Open an incident by hand or from an alarm (the alarm console posts here)."""
    event = sites.current_event()
    try:
        if event is None:
            raise DomainError("sites.no_event", gettext("No event is loaded."))
        alarm_id = request.POST.get("alarm_id", "")
        incident = services.open_incident(
            event=event,
            type_code=request.POST.get("type", ""),
            title=request.POST.get("title", "")[:200],
            lon=_float(request.POST.get("lon")),
            lat=_float(request.POST.get("lat")),
            checkpoint=request.POST.get("checkpoint", "")[:40],
            alarm_ids=[int(alarm_id)] if alarm_id.isdigit() else [],
            user=_user(request),
        )
    except DomainError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
        return HttpResponseRedirect(_safe_back(request, reverse("incidents:index")))
    messages.success(request, gettext("Incident #%(n)s opened.") % {"n": incident.number})
    return HttpResponseRedirect(reverse("incidents:detail", args=[incident.pk]))


def _safe_back(request: HttpRequest, default: str) -> str:
    """Return the form's ``back`` when it is a path on this site, else ``default``."""
    back = request.POST.get("back", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return default


@cap_required(Cap.INCIDENTS_OPERATE)
@require_POST
def attach_alarm(request: HttpRequest) -> HttpResponse:
    """Attach an alarm to a live incident (the alarm console posts here)."""
    incident_id, alarm_id = request.POST.get("incident", ""), request.POST.get("alarm_id", "")
    back = _safe_back(request, reverse("incidents:index"))
    try:
        if not (incident_id.isdigit() and alarm_id.isdigit()):
            raise DomainError("incidents.bad_request", gettext("Choose an incident and an alarm."))
        incident = services.attach_alarm(
            incident_id=int(incident_id), alarm_id=int(alarm_id), user=_user(request)
        )
        messages.success(
            request, gettext("Alarm attached to incident #%(n)s.") % {"n": incident.number}
        )
    except DomainError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return HttpResponseRedirect(back)


@cap_required(Cap.INCIDENTS_VIEW)
@require_POST
def notice_read(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Mark a supervisor notice for my role as read."""
    try:
        services.mark_notice_read(notice_id=notice_id, user=_user(request))
    except DomainError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    return HttpResponseRedirect(reverse("incidents:index"))


@cap_required(Cap.INCIDENTS_VIEW)
def detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Show one incident: SOP checklist, timers, timeline, units and the dispatch panel."""
    try:
        data = queries.incident_detail(incident_id)
    except DomainError:
        return render(request, "404.html", status=404)
    _decorate([data])
    user = _user(request)
    can_operate = Cap.INCIDENTS_OPERATE in user.caps
    proposals: list[dict[str, Any]] = []
    proposal_error = ""
    live = data["state"] in ("open", "acknowledged", "responding")
    if can_operate and live:
        try:
            proposals = dispatching.proposals(services.get_incident(incident_id))
        except DomainError as exc:
            proposal_error = exc.message
    links = queries.dispatch_links(incident_id) if can_operate else {}
    data["state_label"] = IncidentState(data["state"]).label
    for d in data["dispatches"]:
        d["state_label"] = DispatchState(d["state"]).label
        d["next_labels"] = [(s, STATE_LABELS.get(s, s)) for s in d.get("next", [])]
        token = links.get(d["id"])
        d["link"] = (
            request.build_absolute_uri(reverse("incidents:unit", args=[token])) if token else ""
        )
    return render(
        request,
        "incidents/detail.html",
        {
            "i": data,
            "can_operate": can_operate,
            "live": live,
            "proposals": proposals,
            "proposal_error": proposal_error,
            "dispositions": Disposition.choices,
            "lang_en": (get_language() or "").startswith("en"),
        },
    )


@cap_required(Cap.INCIDENTS_OPERATE)
@require_POST
def act(request: HttpRequest, incident_id: int, action: str) -> HttpResponse:
    """Acknowledge, do or skip a step, dispatch, record a unit's state, resolve, close, note."""
    user = _user(request)
    post = request.POST
    try:
        if action == "acknowledge":
            services.acknowledge(incident_id=incident_id, user=user)
        elif action in ("step_done", "step_skip"):
            order = int(post.get("order", "0") or 0)
            comment = post.get("comment", "")[:1000]
            if action == "step_done":
                services.complete_step(
                    incident_id=incident_id, order=order, user=user, comment=comment
                )
            else:
                services.skip_step(incident_id=incident_id, order=order, user=user, comment=comment)
        elif action == "dispatch":
            dispatching.dispatch(
                incident_id=incident_id, unit_code=post.get("unit", "")[:40], user=user
            )
        elif action == "unit_state":
            dispatching.report(
                dispatch_id=int(post.get("dispatch", "0") or 0),
                state=post.get("state", ""),
                user=user,
                incident_id=incident_id,
            )
        elif action == "resolve":
            services.resolve(incident_id=incident_id, user=user, note=post.get("note", "")[:1000])
        elif action == "close":
            services.close(
                incident_id=incident_id,
                user=user,
                disposition=post.get("disposition", ""),
                note=post.get("note", "")[:1000],
            )
        elif action == "note":
            services.add_note(incident_id=incident_id, user=user, text=post.get("text", "")[:1000])
        elif action == "attach":
            alarm_id = post.get("alarm_id", "")
            if not alarm_id.isdigit():
                raise DomainError("incidents.unknown_alarm", gettext("Choose an alarm."))
            services.attach_alarm(incident_id=incident_id, alarm_id=int(alarm_id), user=user)
        else:
            raise DomainError("incidents.unknown_action", gettext("Unknown action."))
        messages.success(request, gettext("Done."))
    except (DomainError, ValueError) as exc:
        if isinstance(exc, DomainError):
            messages.error(request, f"{exc.message} ({exc.code})")
        else:
            messages.error(request, gettext("The form is not valid."))
    return HttpResponseRedirect(
        _safe_back(request, reverse("incidents:detail", args=[incident_id]))
    )


STATE_LABELS = {
    "accepted": gettext_lazy("Accept"),
    "en_route": gettext_lazy("En route"),
    "on_scene": gettext_lazy("On scene"),
    "done": gettext_lazy("Done"),
    "cancelled": gettext_lazy("Recall"),
}


def unit(request: HttpRequest, token: str) -> HttpResponse:
    """Show a unit leader's phone page for one dispatch (the signed link is the key)."""
    try:
        row = dispatching.dispatch_from_token(token)
    except DomainError:
        return render(request, "incidents/unit.html", {"invalid": True}, status=403)
    error = ""
    if request.method == "POST":
        state = request.POST.get("state", "")
        # Recalling is the desk's decision; the phone only moves the unit forward.
        if state == "cancelled":
            state = ""
        ctx = audit.AuditContext(actor_label=f"unit:{row.unit.code}", source=AuditSource.DEVICE)
        try:
            with audit.acting_as(ctx):
                dispatching.report(dispatch_id=row.pk, state=state)
            return HttpResponseRedirect(reverse("incidents:unit", args=[token]))
        except DomainError as exc:
            error = exc.message
    incident = row.incident
    steps = [s for s in queries.incident_detail(incident.pk)["steps"] if s["status"] == "pending"]
    nexts = [s for s in engine.next_dispatch_states(row.state) if s != "cancelled"]
    return render(
        request,
        "incidents/unit.html",
        {
            "d": row,
            "incident": incident,
            "type_label": IncidentKind(incident.type.code).label,
            "steps": steps,
            "next": [(s, STATE_LABELS[s]) for s in nexts],
            "error": error,
            "lang_en": (get_language() or "").startswith("en"),
        },
    )
