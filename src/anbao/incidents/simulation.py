"""The demo's incidents: a few cases in different states, and a desk that runs the timers.

``setup_demo`` opens incidents through the same services the desk uses. ``IncidentDesk`` is
a simulated device: on each tick it runs the incident timers (escalation) and opens an
incident from the newest critical alarm not yet on one, at most one every few minutes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from anbao.accounts.models import User
from anbao.alarms.models import Alarm, Workflow
from anbao.core.errors import DomainError
from anbao.incidents import dispatching, services, timers
from anbao.incidents.models import Incident, IncidentAlarm, IncidentType
from anbao.incidents.sop import ensure_types
from anbao.sites.models import Checkpoint, Event
from anbao.workforce.models import ReserveUnit

log = logging.getLogger(__name__)


def _actor() -> User | None:
    return (
        User.objects.filter(role="commander", is_active=True).order_by("pk").first()
        or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    )


def _steps(
    incident: Incident, user: User, *, skip: int | None = None, why: str = "", upto: int = 99
) -> None:
    for step in incident.steps.filter(status="pending", order__lte=upto):
        if step.order == skip:
            services.skip_step(
                incident_id=incident.pk,
                order=step.order,
                user=user,
                comment=why,
            )
        elif step.mandatory:
            services.complete_step(incident_id=incident.pk, order=step.order, user=user)


def _send(incident: Incident, user: User, *, kind: str | None, to: str) -> None:
    proposals = dispatching.proposals(incident)
    chosen = next((p for p in proposals if kind is None or p["kind"] == kind), None)
    if chosen is None:
        return
    row = dispatching.dispatch(incident_id=incident.pk, unit_code=chosen["code"], user=user)
    for state in {"en_route": ["en_route"], "on_scene": ["en_route", "on_scene"]}.get(to, []):
        dispatching.report(dispatch_id=row.pk, state=state)


def setup_demo(event: Event, user: User | None = None) -> dict[str, Any]:
    """Create the demo incidents in various states (once; a second run changes nothing)."""
    ensure_types(event)
    if Incident.objects.filter(event=event).exists():
        return {"created": 0}
    user = user or _actor()
    if user is None:
        log.warning("incidents demo: no commander or superuser to act as; skipped")
        return {"created": 0}
    checkpoints = list(Checkpoint.objects.filter(event=event).order_by("code")[:4])
    has_units = ReserveUnit.objects.filter(event=event).exists()
    made: list[Incident] = []

    def at_cp(i: int) -> dict[str, Any]:
        return {"checkpoint": checkpoints[i % len(checkpoints)].code} if checkpoints else {}

    alarm = (
        Alarm.objects.filter(event=event, workflow=Workflow.NEW, lon__isnull=False, test=False)
        .exclude(pk__in=IncidentAlarm.objects.values("alarm_id"))
        .order_by("priority", "-raised_at")
        .first()
    )
    if alarm is not None:
        made.append(
            services.open_incident(
                event=event, type_code="intrusion", alarm_ids=[alarm.pk], user=user
            )
        )
    medical = services.open_incident(
        event=event,
        type_code="medical",
        title="访客晕倒 / Visitor fainted in the queue",
        user=user,
        **at_cp(0),
    )
    made.append(medical)
    suspicious = services.open_incident(
        event=event,
        type_code="suspicious_object",
        title="无人认领背包 / Unattended backpack by the entrance",
        user=user,
        **at_cp(1),
    )
    made.append(suspicious)
    seized = services.open_incident(
        event=event,
        type_code="prohibited_item",
        title="安检查获管制刀具 / Controlled knife found at screening",
        user=user,
        **at_cp(2),
    )
    made.append(seized)
    crowd = services.open_incident(
        event=event,
        type_code="crowd",
        title="入口人员聚集 / Crowd building at the entrance",
        user=user,
        **at_cp(3),
    )
    made.append(crowd)
    try:
        if has_units:
            _send(medical, user, kind="medical", to="en_route")
            _send(suspicious, user, kind="canine", to="on_scene")
        _steps(suspicious, user, upto=2)
        services.acknowledge(incident_id=crowd.pk, user=user)
        _steps(seized, user, skip=4, why="lane kept closed until the end of the shift")
        services.resolve(incident_id=seized.pk, user=user, note="knife handed to the police")
        services.close(incident_id=seized.pk, user=user, disposition="police")
    except DomainError as exc:  # a demo without units or sites still gets its incidents
        log.warning("incidents demo: %s", exc)
    return {"created": len(made), "numbers": [i.number for i in made]}


@dataclass
class IncidentDesk:
    """Runs the incident timers and opens incidents from new critical alarms."""

    name: str = "incidents"
    every: timedelta = timedelta(seconds=10)
    open_every: timedelta = timedelta(minutes=5)
    last_run: datetime | None = None
    last_open: dict[int, datetime] = field(default_factory=dict)

    def tick(self, now: datetime) -> int:
        """Escalate overdue incidents and open at most one incident per event; return actions."""
        if self.last_run is not None and now - self.last_run < self.every:
            return 0
        self.last_run = now
        done = 0
        event_ids = IncidentType.objects.values_list("event_id", flat=True).distinct()
        for event in Event.objects.filter(pk__in=list(event_ids)):
            done += timers.tick(event, now=now)["escalated"]
            done += self._open_from_alarm(event, now)
        return done

    def _open_from_alarm(self, event: Event, now: datetime) -> int:
        last = self.last_open.get(event.pk)
        if last is not None and now - last < self.open_every:
            return 0
        alarm = (
            Alarm.objects.filter(
                event=event,
                priority=1,
                test=False,
                workflow=Workflow.NEW,
                raised_at__gte=now - self.open_every,
                source_type__in=list(services.ALARM_KIND),
            )
            .exclude(pk__in=IncidentAlarm.objects.values("alarm_id"))
            .order_by("-raised_at")
            .first()
        )
        if alarm is None:
            return 0
        self.last_open[event.pk] = now
        services.open_incident(
            event=event,
            type_code=services.ALARM_KIND[alarm.source_type],
            alarm_ids=[alarm.pk],
        )
        return 1


def incident_simulation() -> list[IncidentDesk]:
    """Return the demo's incident desk (registered with the simulator)."""
    return [IncidentDesk()]
