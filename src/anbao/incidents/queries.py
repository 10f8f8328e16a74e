"""Read side of incidents: rows for the big screen, the API and the pages.

``open_incidents`` and ``incident_counts`` are called by the dashboard; keep their signatures.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q

from anbao.accounts.models import User
from anbao.core import clock
from anbao.core.errors import NotFound
from anbao.incidents import dispatching, engine
from anbao.incidents.models import (
    ACTIVE_DISPATCH,
    Dispatch,
    Incident,
    IncidentState,
    IncidentType,
    SupervisorNotice,
)
from anbao.incidents.timers import timers_of
from anbao.sites import services as sites
from anbao.sites.models import Event

_LIVE = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.RESPONDING)


def require_event() -> Event:
    """Return the current event or raise ``sites.no_event``."""
    event = sites.current_event()
    if event is None:
        raise NotFound("sites.no_event", "no event is loaded")
    return event


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def type_label(itype: IncidentType, lang: str = "zh") -> str:
    """Return a type's name in the language asked (Chinese unless it starts with ``en``)."""
    return itype.name_en if lang.startswith("en") else itype.name


def incident_row(incident: Incident, now: datetime | None = None) -> dict[str, Any]:
    """Return one incident as the list, the API and the big screen show it."""
    now = now or clock.now()
    timers = timers_of(incident, now)
    dispatches = getattr(incident, "live_dispatches", None)
    if dispatches is None:
        dispatches = list(
            incident.dispatches.filter(state__in=ACTIVE_DISPATCH).select_related("unit")
        )
    return {
        "id": incident.pk,
        "number": incident.number,
        "type": incident.type.code,
        "type_label": incident.type.name_en,
        "type_label_zh": incident.type.name,
        "title": incident.title,
        "priority": incident.priority,
        "state": incident.state,
        "opened_at": incident.opened_at.isoformat(),
        "lon": incident.lon,
        "lat": incident.lat,
        "venue": incident.venue.code if incident.venue_id and incident.venue else None,
        "checkpoint": (
            incident.checkpoint.code if incident.checkpoint_id and incident.checkpoint else None
        ),
        "segment": incident.segment.code if incident.segment_id and incident.segment else None,
        "timers": {name: t.as_dict() for name, t in timers.items()},
        "overdue": any(t.overdue for t in timers.values()),
        "escalation": incident.escalation_level,
        "units": [{"code": d.unit.code, "state": d.state} for d in dispatches],
    }


def _base(event: Event) -> Any:
    return (
        Incident.objects.filter(event=event)
        .select_related("type", "venue", "checkpoint", "segment", "event")
        .prefetch_related(
            Prefetch(
                "dispatches",
                queryset=Dispatch.objects.filter(state__in=ACTIVE_DISPATCH).select_related("unit"),
                to_attr="live_dispatches",
            )
        )
    )


def open_incidents(event: Event, *, venue: str | None = None) -> list[dict[str, Any]]:
    """Return the incidents not yet resolved, most urgent first (for the big screen)."""
    qs = _base(event).filter(state__in=_LIVE)
    if venue:
        qs = qs.filter(
            Q(venue__code=venue) | Q(checkpoint__venue__code=venue) | Q(segment__venue__code=venue)
        )
    now = clock.now()
    return [incident_row(i, now) for i in qs.order_by("priority", "opened_at")]


def incident_counts(event: Event, *, since: datetime) -> dict[str, Any]:
    """Return how many incidents opened and resolved since ``since``, and opened by type."""
    opened = Incident.objects.filter(event=event, opened_at__gte=since)
    by_type = Counter(opened.values_list("type__code", flat=True))
    return {
        "opened": opened.count(),
        "resolved": Incident.objects.filter(event=event, resolved_at__gte=since).count(),
        "open_now": Incident.objects.filter(event=event, state__in=_LIVE).count(),
        "by_type": dict(sorted(by_type.items())),
    }


def incident_list(event: Event, *, state: str = "open", limit: int = 200) -> list[dict[str, Any]]:
    """Return the desk's list: live incidents by urgency, or all/closed ones newest first."""
    qs = _base(event)
    if state == "open":
        qs = qs.filter(state__in=_LIVE).order_by("priority", "opened_at")
    elif state == "closed":
        qs = qs.filter(state__in=(IncidentState.RESOLVED, IncidentState.CLOSED))
    now = clock.now()
    return [incident_row(i, now) for i in qs[:limit]]


def incident_detail(incident_id: int) -> dict[str, Any]:
    """Return an incident with its SOP steps, timeline, alarms, dispatches and notices."""
    incident = (
        Incident.objects.select_related("type", "venue", "checkpoint", "segment", "event")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound("incidents.not_found", f"no incident {incident_id}")
    row = incident_row(incident)
    row.update(
        {
            "supervisor_role": incident.type.supervisor_role,
            "acknowledged_at": incident.acknowledged_at,
            "responding_at": incident.responding_at,
            "resolved_at": incident.resolved_at,
            "closed_at": incident.closed_at,
            "disposition": incident.disposition,
            "resolution": incident.resolution,
            "steps": [
                {
                    "order": s.order,
                    "text": s.text,
                    "text_en": s.text_en,
                    "mandatory": s.mandatory,
                    "status": s.status,
                    "comment": s.comment,
                    "at": s.at,
                    "by": _name(s.by),
                }
                for s in incident.steps.select_related("by")
            ],
            "entries": [
                {
                    "at": e.at,
                    "action": e.action,
                    "user": _name(e.user),
                    "actor": e.actor,
                    "text": e.text,
                }
                for e in incident.entries.select_related("user")
            ],
            "alarms": [
                {
                    "id": link.alarm.pk,
                    "number": link.alarm.number,
                    "title": link.alarm.title,
                    "title_en": link.alarm.title_en,
                    "workflow": link.alarm.workflow,
                }
                for link in incident.alarm_links.select_related("alarm")
            ],
            "dispatches": [
                {
                    "id": d.pk,
                    "unit": d.unit.code,
                    "unit_name": d.unit.name_en or d.unit.name,
                    "kind": d.unit.kind,
                    "state": d.state,
                    "distance_km": d.distance_km,
                    "dispatched_at": d.dispatched_at,
                    "on_scene_at": d.on_scene_at,
                    "done_at": d.done_at,
                    "next": engine.next_dispatch_states(d.state),
                }
                for d in incident.dispatches.select_related("unit")
            ],
            "notices": [
                {"id": n.pk, "at": n.at, "role": n.role, "kind": n.kind, "text": n.text}
                for n in incident.notices.all()
            ],
        }
    )
    return row


def dispatch_links(incident_id: int) -> dict[int, str]:
    """Return each active dispatch's phone link token, by dispatch id (operators only)."""
    return {
        d.pk: dispatching.link_token(d)
        for d in Dispatch.objects.filter(incident_id=incident_id, state__in=ACTIVE_DISPATCH)
    }


def notices_for(user: User, *, unread_only: bool = True, limit: int = 50) -> list[dict[str, Any]]:
    """Return the supervisor notices for the user's role (every role's, for an admin)."""
    qs = SupervisorNotice.objects.select_related("incident")
    if user.role != "admin":
        qs = qs.filter(role=user.role)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return [
        {
            "id": n.pk,
            "at": n.at,
            "role": n.role,
            "kind": n.kind,
            "text": n.text,
            "incident_id": n.incident_id,
            "number": n.incident.number,
            "read_at": n.read_at,
        }
        for n in qs[:limit]
    ]


def alarm_incidents(event: Event) -> dict[int, dict[str, Any]]:
    """Return, by alarm id, the incident each attached alarm belongs to (id and number)."""
    from anbao.incidents.models import IncidentAlarm

    return {
        link.alarm_id: {"id": link.incident_id, "number": link.incident.number}
        for link in IncidentAlarm.objects.filter(incident__event=event).select_related("incident")
    }
