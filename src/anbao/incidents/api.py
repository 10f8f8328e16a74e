"""Incidents API (at ``/api/incidents``): the desk's actions, dispatch, report PDF and CAP."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from anbao.accounts.auth import need
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.incidents import capout, dispatching, queries, report, services
from anbao.incidents.models import Dispatch, IncidentType
from anbao.incidents.schemas import (
    AttachIn,
    CloseIn,
    DispatchIn,
    DispatchOut,
    IncidentOut,
    NoteIn,
    OpenIn,
    ProposalOut,
    ResolveIn,
    StepIn,
    TypeOut,
    UnitStateIn,
)
from anbao.incidents.sop import ensure_types

VIEW = need(Cap.INCIDENTS_VIEW)
OPERATE = need(Cap.INCIDENTS_OPERATE)

router = Router(tags=["incidents"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


class ListQuery(Schema):
    """Which incidents to list."""

    state: str = Field("open", pattern="^(open|all|closed)$")
    limit: int = Field(200, ge=1, le=1000)


def _dispatch_out(row: Dispatch) -> dict[str, Any]:
    return {
        "id": row.pk,
        "unit": row.unit.code,
        "state": row.state,
        "distance_km": row.distance_km,
        "link": reverse("incidents:unit", args=[dispatching.link_token(row)]),
    }


@router.get("", response=list[IncidentOut], auth=VIEW, summary="Incidents")
def list_incidents(request: HttpRequest, q: Query[ListQuery]) -> list[dict[str, Any]]:
    """Return live incidents by urgency with their timers, or all/closed ones newest first."""
    return queries.incident_list(queries.require_event(), state=q.state, limit=q.limit)


@router.get("/types", response=list[TypeOut], auth=VIEW, summary="Incident types and SOPs")
def list_types(request: HttpRequest) -> list[dict[str, Any]]:
    """Return the incident types with timer targets, supervisor, ladder and SOP steps."""
    event = queries.require_event()
    ensure_types(event)
    return [
        {
            "code": t.code,
            "name": t.name,
            "name_en": t.name_en,
            "priority": t.priority,
            "ack_s": t.ack_s,
            "respond_s": t.respond_s,
            "resolve_s": t.resolve_s,
            "supervisor_role": t.supervisor_role,
            "escalation": list(t.escalation),
            "unit_kinds": list(t.unit_kinds),
            "steps": [
                {"order": s.order, "text": s.text, "text_en": s.text_en, "mandatory": s.mandatory}
                for s in t.steps.all()
            ],
        }
        for t in IncidentType.objects.filter(event=event).prefetch_related("steps")
    ]


@router.get("/notices", response=list[dict], auth=VIEW, summary="Notices for my role")
def list_notices(request: HttpRequest) -> list[dict[str, Any]]:
    """Return unread supervisor notices (skipped steps, escalations) for the caller's role."""
    return queries.notices_for(_user(request))


@router.post("/notices/{notice_id}/read", response=dict, auth=VIEW, summary="Mark a notice read")
def read_notice(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    """Mark a notice for the caller's role as read."""
    notice = services.mark_notice_read(notice_id=notice_id, user=_user(request))
    return {"id": notice.pk, "read_at": notice.read_at.isoformat() if notice.read_at else None}


@router.post("", response={201: dict}, auth=OPERATE, summary="Open an incident")
def open_incident(request: HttpRequest, body: OpenIn) -> Status:
    """Open an incident by hand or from alarms (alarm_ids)."""
    incident = services.open_incident(
        event=queries.require_event(),
        type_code=body.type,
        title=body.title,
        priority=body.priority,
        lon=body.lon,
        lat=body.lat,
        checkpoint=body.checkpoint,
        segment=body.segment,
        venue=body.venue,
        alarm_ids=body.alarm_ids,
        user=_user(request),
    )
    return Status(201, queries.incident_detail(incident.pk))


@router.get("/{incident_id}", response=dict, auth=VIEW, summary="One incident")
def get_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    """Return an incident with its SOP steps, timeline, alarms, dispatches and notices."""
    return queries.incident_detail(incident_id)


@router.post("/{incident_id}/alarms", response=dict, auth=OPERATE, summary="Attach an alarm")
def attach_alarm(request: HttpRequest, incident_id: int, body: AttachIn) -> dict[str, Any]:
    """Attach an alarm to the incident."""
    services.attach_alarm(incident_id=incident_id, alarm_id=body.alarm_id, user=_user(request))
    return queries.incident_detail(incident_id)


@router.post("/{incident_id}/acknowledge", response=dict, auth=OPERATE, summary="Acknowledge")
def acknowledge(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    """Acknowledge an open incident."""
    services.acknowledge(incident_id=incident_id, user=_user(request))
    return queries.incident_detail(incident_id)


@router.post("/{incident_id}/steps/{order}/done", response=dict, auth=OPERATE, summary="Step done")
def step_done(request: HttpRequest, incident_id: int, order: int, body: StepIn) -> dict[str, Any]:
    """Mark an SOP step done."""
    services.complete_step(
        incident_id=incident_id, order=order, user=_user(request), comment=body.comment
    )
    return queries.incident_detail(incident_id)


@router.post(
    "/{incident_id}/steps/{order}/skip", response=dict, auth=OPERATE, summary="Skip a step"
)
def step_skip(request: HttpRequest, incident_id: int, order: int, body: StepIn) -> dict[str, Any]:
    """Skip an SOP step with a comment; a mandatory one tells the supervisor."""
    services.skip_step(
        incident_id=incident_id, order=order, user=_user(request), comment=body.comment
    )
    return queries.incident_detail(incident_id)


@router.get(
    "/{incident_id}/proposals", response=list[ProposalOut], auth=VIEW, summary="Nearest units"
)
def proposals(request: HttpRequest, incident_id: int) -> list[dict[str, Any]]:
    """Return the nearest free reserve units, nearest first, with the preferred kinds."""
    return dispatching.proposals(services.get_incident(incident_id))


@router.post(
    "/{incident_id}/dispatches", response={201: DispatchOut}, auth=OPERATE, summary="Dispatch"
)
def dispatch(request: HttpRequest, incident_id: int, body: DispatchIn) -> Status:
    """Send a free reserve unit; the answer carries the unit leader's phone link."""
    row = dispatching.dispatch(incident_id=incident_id, unit_code=body.unit, user=_user(request))
    return Status(201, _dispatch_out(row))


@router.post(
    "/{incident_id}/dispatches/{dispatch_id}/state",
    response=DispatchOut,
    auth=OPERATE,
    summary="Unit state",
)
def unit_state(
    request: HttpRequest, incident_id: int, dispatch_id: int, body: UnitStateIn
) -> dict[str, Any]:
    """Record a unit's state for it (accepted, en_route, on_scene, done, cancelled)."""
    row = dispatching.report(
        dispatch_id=dispatch_id, state=body.state, user=_user(request), incident_id=incident_id
    )
    return _dispatch_out(row)


@router.post("/{incident_id}/resolve", response=dict, auth=OPERATE, summary="Resolve")
def resolve(request: HttpRequest, incident_id: int, body: ResolveIn) -> dict[str, Any]:
    """Resolve; refused with incidents.sop_incomplete while mandatory steps are open."""
    services.resolve(incident_id=incident_id, user=_user(request), note=body.note)
    return queries.incident_detail(incident_id)


@router.post("/{incident_id}/close", response=dict, auth=OPERATE, summary="Close")
def close(request: HttpRequest, incident_id: int, body: CloseIn) -> dict[str, Any]:
    """Close a resolved incident with a disposition."""
    services.close(
        incident_id=incident_id, user=_user(request), disposition=body.disposition, note=body.note
    )
    return queries.incident_detail(incident_id)


@router.post("/{incident_id}/notes", response={201: dict}, auth=OPERATE, summary="Add a note")
def add_note(request: HttpRequest, incident_id: int, body: NoteIn) -> Status:
    """Add a note to the timeline."""
    row = services.add_note(incident_id=incident_id, user=_user(request), text=body.text)
    return Status(201, {"id": row.pk, "at": row.at.isoformat()})


@router.get("/{incident_id}/report.pdf", auth=VIEW, summary="Incident report (PDF)")
def report_pdf(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Return the incident report as a bilingual PDF."""
    response = HttpResponse(report.incident_pdf(incident_id), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="incident-{incident_id}.pdf"'
    return response


@router.get("/{incident_id}/cap", auth=VIEW, summary="The incident as a CAP 1.2 alert")
def incident_cap(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Return the incident as CAP 1.2 XML, in zh-CN and en-US."""
    xml = capout.cap_for_incident(incident_id)
    return HttpResponse(xml, content_type="application/cap+xml; charset=utf-8")
