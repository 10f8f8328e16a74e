"""Incident timers: an overdue timer raises the escalation level and tells the next role.

Each timer (acknowledge, respond, resolve) escalates once, when it runs out unmet. The role
told comes from the type's escalation ladder: level 1 the supervisor, then the commander...
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from anbao.core import audit, bus, clock
from anbao.incidents import engine, events, services
from anbao.incidents.models import (
    EntryAction,
    Incident,
    IncidentState,
    NoticeKind,
    SupervisorNotice,
)
from anbao.sites.models import Event

_LIVE = (IncidentState.OPEN, IncidentState.ACKNOWLEDGED, IncidentState.RESPONDING)

TIMER_LABELS = {
    "ack": "acknowledge",
    "respond": "first unit on scene",
    "resolve": "resolve",
}


def timers_of(incident: Incident, now: datetime | None = None) -> dict[str, engine.Timer]:
    """Return an incident's three timers at ``now``."""
    return engine.timers(
        ack_due=incident.ack_due_at,
        respond_due=incident.respond_due_at,
        resolve_due=incident.resolve_due_at,
        acknowledged_at=incident.acknowledged_at,
        responding_at=incident.responding_at,
        resolved_at=incident.resolved_at,
        now=now or clock.now(),
    )


def tick(event: Event, *, now: datetime | None = None) -> dict[str, int]:
    """Escalate every live incident of ``event`` whose timers ran out; return the count."""
    now = now or clock.now()
    escalated = 0
    with transaction.atomic():
        rows = (
            Incident.objects.select_for_update()
            .filter(event=event, state__in=_LIVE)
            .select_related("event", "type")
        )
        for incident in rows:
            due = engine.newly_overdue(timers_of(incident, now), incident.escalated_timers)
            for timer in due:
                escalate(incident, timer, now)
                escalated += 1
    return {"escalated": escalated}


def tick_current(now: datetime) -> dict[str, int]:
    """Run the timers of the current event (the housekeeping job)."""
    from anbao.sites import services as sites

    event = sites.current_event()
    return tick(event, now=now) if event is not None else {"escalated": 0}


def escalate(incident: Incident, timer: str, at: datetime) -> dict[str, Any]:
    """Raise an incident one level for an overdue ``timer`` (callers hold its lock)."""
    level = incident.escalation_level + 1
    role = engine.recipient(list(incident.type.escalation), level)
    incident.escalation_level = level
    incident.escalated_timers = [*incident.escalated_timers, timer]
    incident.save(update_fields=["escalation_level", "escalated_timers"])
    text = f"level {level}: {TIMER_LABELS[timer]} overdue, {role} told"
    services.entry(incident, EntryAction.ESCALATED, at, actor="system", text=text)
    SupervisorNotice.objects.create(
        incident=incident,
        at=at,
        role=role,
        kind=NoticeKind.ESCALATED,
        text=f"#{incident.number} {incident.title}: {TIMER_LABELS[timer]} overdue (level {level})"[
            :1000
        ],
    )
    audit.record(
        "incident.escalate",
        obj=incident,
        after={"timer": timer, "level": level, "recipient_role": role},
    )
    bus.publish(
        events.IncidentEscalated(
            incident_id=incident.pk,
            number=incident.number,
            event=incident.event.code,
            timer=timer,
            level=level,
            recipient_role=role,
            at=at.isoformat(),
        )
    )
    return {"level": level, "role": role}
