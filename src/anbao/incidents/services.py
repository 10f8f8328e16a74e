"""Incident life cycle: open (by hand or from alarms), attach alarms, SOP steps, resolve, close.

The only writers of incidents. Every change writes a timeline entry and an audit row, and
publishes an event after commit. Dispatch lives in :mod:`anbao.incidents.dispatching`, the
timers in :mod:`anbao.incidents.timers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max

from anbao.accounts.models import User
from anbao.alarms.models import Alarm
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.incidents import engine, events, validation
from anbao.incidents.models import (
    Disposition,
    EntryAction,
    Incident,
    IncidentAlarm,
    IncidentEntry,
    IncidentKind,
    IncidentState,
    IncidentStep,
    NoticeKind,
    StepStatus,
    SupervisorNotice,
)
from anbao.sites.models import Checkpoint, Event, PerimeterSegment, Venue

#: The incident kind an alarm's source type opens.
ALARM_KIND = {
    "intrusion": IncidentKind.INTRUSION,
    "fence_cut": IncidentKind.INTRUSION,
    "fence_short": IncidentKind.INTRUSION,
    "fence_voltage": IncidentKind.INTRUSION,
    "fence_tamper": IncidentKind.INTRUSION,
    "line_crossing": IncidentKind.INTRUSION,
    "video_intrusion": IncidentKind.INTRUSION,
    "door_forced": IncidentKind.INTRUSION,
    "drone": IncidentKind.DRONE,
}


def get_incident(incident_id: int) -> Incident:
    """Return an incident or raise ``incidents.not_found``."""
    incident = Incident.objects.select_related("event", "type").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound("incidents.not_found", f"no incident {incident_id}")
    return incident


def _locked(incident_id: int) -> Incident:
    incident = (
        Incident.objects.select_for_update()
        .select_related("event", "type")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound("incidents.not_found", f"no incident {incident_id}")
    return incident


def entry(
    incident: Incident,
    action: str,
    at: datetime,
    *,
    user: User | None = None,
    actor: str = "",
    text: str = "",
) -> IncidentEntry:
    """Add a line to an incident's timeline (callers hold the incident's lock)."""
    return IncidentEntry.objects.create(
        incident=incident, at=at, action=action, user=user, actor=actor[:60], text=text[:1000]
    )


def changed(incident: Incident, change: str, at: datetime) -> None:
    """Publish that an incident changed, once the transaction commits."""
    bus.publish(
        events.IncidentChanged(
            incident_id=incident.pk,
            number=incident.number,
            event=incident.event.code,
            change=change,
            state=incident.state,
            at=at.isoformat(),
        )
    )


def require(incident: Incident, action: str) -> None:
    """Refuse ``action`` with ``incidents.bad_state`` unless the incident's state allows it."""
    if not engine.can(action, incident.state):
        raise DomainError(
            "incidents.bad_state",
            f"incident #{incident.number} is {incident.state}; it cannot {action}",
            409,
        )


def _next_number(event: Event) -> int:
    top = Incident.objects.filter(event=event).aggregate(m=Max("number"))["m"]
    return (top or 0) + 1


def open_incident(
    *,
    event: Event,
    type_code: str,
    title: str = "",
    priority: int | None = None,
    lon: float | None = None,
    lat: float | None = None,
    checkpoint: str = "",
    segment: str = "",
    venue: str = "",
    alarm_ids: Sequence[int] = (),
    user: User | None = None,
) -> Incident:
    """Open an incident by hand or from alarms; its SOP and timers come from its type."""
    itype = validation.type_for(event, type_code)
    validation.check_position(lon, lat)
    if priority is not None and not 1 <= priority <= 4:
        raise DomainError(
            "incidents.bad_priority",
            "priority is 1 (most urgent) to 4",
            422,
            problems=[FieldProblem("priority", "out of range", "out_of_range")],
        )
    at = clock.now()
    with transaction.atomic():
        alarms = validation.alarms_to_attach(event, alarm_ids)
        cp = validation.site_ref(Checkpoint, event, checkpoint) if checkpoint else None
        seg = validation.site_ref(PerimeterSegment, event, segment) if segment else None
        ven = validation.site_ref(Venue, event, venue) if venue else None
        first = alarms[0] if alarms else None
        if seg is None and first is not None and first.segment_id:
            seg = first.segment
        if lon is None and first is not None and first.lon is not None:
            lon, lat = first.lon, first.lat
        if lon is None and cp is not None:
            lon, lat = cp.lon, cp.lat
        if ven is None:
            ven = cp.venue if cp is not None else (seg.venue if seg is not None else None)
        prio = priority or min([itype.priority, *(a.priority for a in alarms)])
        text = title.strip()[:200] or (first.title_en if first else itype.name_en)
        incident = None
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    incident = Incident.objects.create(
                        event=event,
                        number=_next_number(event),
                        type=itype,
                        title=text,
                        priority=prio,
                        lon=lon,
                        lat=lat,
                        checkpoint=cp,
                        segment=seg,
                        venue=ven,
                        opened_at=at,
                        opened_by=user,
                        ack_due_at=at + timedelta(seconds=itype.ack_s),
                        respond_due_at=at + timedelta(seconds=itype.respond_s),
                        resolve_due_at=at + timedelta(seconds=itype.resolve_s),
                    )
                break
            except IntegrityError:  # another writer took the number; take the next
                continue
        if incident is None:
            raise DomainError("incidents.numbering", "could not number the incident")
        IncidentStep.objects.bulk_create(
            IncidentStep(
                incident=incident,
                order=s.order,
                text=s.text,
                text_en=s.text_en,
                mandatory=s.mandatory,
            )
            for s in itype.steps.all()
        )
        how = f"from alarms {', '.join('#' + str(a.number) for a in alarms)}" if alarms else ""
        entry(incident, EntryAction.OPENED, at, user=user, actor="" if user else "system", text=how)
        for alarm in alarms:
            _link(incident, alarm, at, user)
        audit.record(
            "incident.open",
            obj=incident,
            after={"type": itype.code, "priority": prio, "alarms": [a.pk for a in alarms]},
        )
        bus.publish(
            events.IncidentOpened(
                incident_id=incident.pk,
                number=incident.number,
                event=event.code,
                kind=itype.code,
                title=incident.title,
                priority=prio,
                lon=lon,
                lat=lat,
                alarm_ids=tuple(a.pk for a in alarms),
                opened_at=at.isoformat(),
            )
        )
    return incident


def _link(incident: Incident, alarm: Alarm, at: datetime, user: User | None) -> None:
    IncidentAlarm.objects.create(incident=incident, alarm=alarm, attached_at=at)
    entry(incident, EntryAction.ALARM, at, user=user, text=f"#{alarm.number} {alarm.title_en}")
    if user is not None:
        # The alarm's own timeline says where it went; the alarms service writes it.
        from anbao.alarms import services as alarm_services

        alarm_services.add_note(
            alarm_id=alarm.pk, user=user, text=f"attached to incident #{incident.number}"
        )


def attach_alarm(*, incident_id: int, alarm_id: int, user: User | None) -> Incident:
    """Attach an alarm to an open incident; an alarm belongs to one incident at most."""
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        require(incident, "attach")
        (alarm,) = validation.alarms_to_attach(incident.event, [alarm_id])
        _link(incident, alarm, at, user)
        if alarm.priority < incident.priority:
            incident.priority = alarm.priority
            incident.save(update_fields=["priority"])
        audit.record("incident.attach_alarm", obj=incident, after={"alarm": alarm.pk})
        changed(incident, "alarm_attached", at)
    return incident


def mark_acknowledged(incident: Incident, at: datetime, user: User | None, actor: str = "") -> bool:
    """Acknowledge an open incident as part of another action; return whether it moved."""
    if incident.state != IncidentState.OPEN:
        return False
    incident.state = IncidentState.ACKNOWLEDGED
    incident.acknowledged_at = at
    incident.save(update_fields=["state", "acknowledged_at"])
    entry(incident, EntryAction.ACKNOWLEDGED, at, user=user, actor=actor)
    return True


def acknowledge(*, incident_id: int, user: User) -> Incident:
    """Acknowledge an open incident (stops its acknowledgement timer)."""
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        require(incident, "acknowledge")
        mark_acknowledged(incident, at, user)
        audit.record("incident.acknowledge", obj=incident)
        changed(incident, "acknowledged", at)
    return incident


def _step(incident: Incident, order: int) -> IncidentStep:
    step = IncidentStep.objects.filter(incident=incident, order=order).first()
    if step is None:
        raise NotFound("incidents.unknown_step", f"incident #{incident.number} has no step {order}")
    if step.status != StepStatus.PENDING:
        raise DomainError("incidents.step_closed", f"step {order} is already {step.status}", 409)
    return step


def complete_step(*, incident_id: int, order: int, user: User, comment: str = "") -> IncidentStep:
    """Mark an SOP step done."""
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        require(incident, "step")
        step = _step(incident, order)
        step.status, step.at, step.by = StepStatus.DONE, at, user
        step.comment = comment.strip()[:1000]
        step.save(update_fields=["status", "at", "by", "comment"])
        mark_acknowledged(incident, at, user)
        text = f"{order}. {step.text_en}" + (f" - {step.comment}" if step.comment else "")
        entry(incident, EntryAction.STEP_DONE, at, user=user, text=text)
        audit.record("incident.step_done", obj=incident, after={"step": order})
        changed(incident, "step_done", at)
    return step


def skip_step(*, incident_id: int, order: int, user: User, comment: str) -> IncidentStep:
    """Skip an SOP step with a comment; skipping a mandatory one tells the supervisor role."""
    comment = comment.strip()
    if not comment:
        raise DomainError(
            "incidents.comment_required",
            "say why the step is skipped",
            422,
            problems=[FieldProblem("comment", "required", "required")],
        )
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        require(incident, "step")
        step = _step(incident, order)
        step.status, step.at, step.by, step.comment = StepStatus.SKIPPED, at, user, comment[:1000]
        step.save(update_fields=["status", "at", "by", "comment"])
        mark_acknowledged(incident, at, user)
        entry(
            incident,
            EntryAction.STEP_SKIPPED,
            at,
            user=user,
            text=f"{order}. {step.text_en} - {comment}",
        )
        audit.record(
            "incident.step_skipped",
            obj=incident,
            after={"step": order, "mandatory": step.mandatory, "comment": comment},
        )
        if step.mandatory:
            role = incident.type.supervisor_role
            SupervisorNotice.objects.create(
                incident=incident,
                at=at,
                role=role,
                kind=NoticeKind.STEP_SKIPPED,
                text=f"#{incident.number} step {order} ({step.text_en}) skipped by "
                f"{user.get_username()}: {comment}"[:1000],
            )
            bus.publish(
                events.SopStepSkipped(
                    incident_id=incident.pk,
                    number=incident.number,
                    event=incident.event.code,
                    step=order,
                    text_en=step.text_en,
                    comment=comment,
                    supervisor_role=role,
                    at=at.isoformat(),
                )
            )
        changed(incident, "step_skipped", at)
    return step


def missing_steps(incident: Incident) -> list[IncidentStep]:
    """Return the mandatory SOP steps neither done nor skipped."""
    return list(
        IncidentStep.objects.filter(
            incident=incident, mandatory=True, status=StepStatus.PENDING
        ).order_by("order")
    )


def resolve(*, incident_id: int, user: User, note: str = "") -> Incident:
    """Resolve an incident; refused with ``incidents.sop_incomplete`` while mandatory steps wait."""
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        require(incident, "resolve")
        missing = missing_steps(incident)
        if missing:
            names = "; ".join(f"{s.order}. {s.text_en}" for s in missing)
            raise DomainError(
                "incidents.sop_incomplete",
                f"do or skip (with a comment) the mandatory steps first: {names}",
                409,
                problems=[FieldProblem(f"steps.{s.order}", s.text_en, "pending") for s in missing],
                detail={"steps": [s.order for s in missing]},
            )
        mark_acknowledged(incident, at, user)
        incident.state = IncidentState.RESOLVED
        incident.resolved_at = at
        incident.resolution = note.strip()[:1000]
        incident.save(update_fields=["state", "resolved_at", "resolution"])
        entry(incident, EntryAction.RESOLVED, at, user=user, text=incident.resolution)
        audit.record("incident.resolve", obj=incident, after={"note": incident.resolution})
        changed(incident, "resolved", at)
    return incident


def close(*, incident_id: int, user: User, disposition: str, note: str = "") -> Incident:
    """Close a resolved incident with a disposition."""
    if disposition not in Disposition.values:
        raise DomainError(
            "incidents.disposition_required",
            f"closing needs a disposition: {', '.join(Disposition.values)}",
            422,
            problems=[FieldProblem("disposition", "required", "required")],
        )
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        require(incident, "close")
        incident.state = IncidentState.CLOSED
        incident.disposition = disposition
        incident.closed_at = at
        incident.save(update_fields=["state", "disposition", "closed_at"])
        entry(
            incident, EntryAction.CLOSED, at, user=user, text=f"{disposition}: {note}".strip(": ")
        )
        audit.record(
            "incident.close", obj=incident, after={"disposition": disposition, "note": note}
        )
        changed(incident, "closed", at)
    return incident


def add_note(*, incident_id: int, user: User, text: str) -> IncidentEntry:
    """Add a note to an incident's timeline."""
    text = text.strip()
    if not text:
        raise DomainError(
            "incidents.note_required",
            "the note is empty",
            422,
            problems=[FieldProblem("text", "required", "required")],
        )
    at = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        row = entry(incident, EntryAction.NOTE, at, user=user, text=text)
        audit.record("incident.note", obj=incident)
        changed(incident, "note", at)
    return row


def mark_notice_read(*, notice_id: int, user: User) -> SupervisorNotice:
    """Mark a supervisor notice read; only a user of its role (or an admin) may."""
    notice = SupervisorNotice.objects.filter(pk=notice_id).first()
    if notice is None:
        raise NotFound("incidents.unknown_notice", f"no notice {notice_id}")
    if user.role not in (notice.role, "admin"):
        raise DomainError("incidents.not_your_notice", "this notice is for another role", 403)
    if notice.read_at is None:
        notice.read_at, notice.read_by = clock.now(), user
        notice.save(update_fields=["read_at", "read_by"])
        audit.record("incident.notice_read", obj=notice)
    return notice
