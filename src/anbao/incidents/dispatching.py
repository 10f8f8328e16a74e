"""Dispatch of reserve units to incidents: proposals, dispatch, and the unit's reports.

The workforce app owns the reserve units; this module only calls
:func:`anbao.workforce.reserves.nearest_free` and :func:`~anbao.workforce.reserves.set_state`,
keeping a unit's workforce state in step with its dispatch. A field leader reports through a
phone page whose signed link token names the dispatch: the token is the key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction

from anbao.accounts.models import User
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.incidents import engine, events, services
from anbao.incidents.models import (
    ACTIVE_DISPATCH,
    Dispatch,
    DispatchState,
    EntryAction,
    Incident,
    IncidentState,
)
from anbao.workforce import reserves
from anbao.workforce.models import ReserveUnit

_LINK_SALT = "anbao.incidents.dispatch-link"
LINK_MAX_AGE = timedelta(days=2)


def proposals(incident: Incident, *, limit: int = 5) -> list[dict[str, Any]]:
    """Return the nearest free units, nearest first; the type's preferred kinds always appear.

    A suspicious object asks for a canine team even when foot teams are nearer: the nearest
    free unit of each preferred kind is added to the nearest ``limit`` of any kind.
    """
    if incident.lon is None or incident.lat is None:
        raise DomainError(
            "incidents.no_location",
            "the incident has no position; set one to find the nearest units",
            422,
        )
    preferred = [str(k) for k in incident.type.unit_kinds]
    found = {
        n.unit.pk: n
        for n in reserves.nearest_free(
            incident.event, lon=incident.lon, lat=incident.lat, limit=limit
        )
    }
    for kind in preferred:
        for n in reserves.nearest_free(
            incident.event, lon=incident.lon, lat=incident.lat, kind=kind, limit=1
        ):
            found.setdefault(n.unit.pk, n)
    ranked = sorted(found.values(), key=lambda n: (n.distance_km, n.unit.code))
    return [{**n.as_dict(), "preferred": n.unit.kind in preferred} for n in ranked]


def link_token(dispatch: Dispatch) -> str:
    """Return the signed token of the phone link for one dispatch."""
    return signing.dumps({"d": dispatch.pk, "u": dispatch.unit_id}, salt=_LINK_SALT)


def dispatch_from_token(token: str) -> Dispatch:
    """Return the dispatch a phone link names, or raise ``incidents.bad_link``."""
    try:
        data = signing.loads(token, salt=_LINK_SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature as exc:
        raise DomainError("incidents.bad_link", "This dispatch link is not valid.", 403) from exc
    row = (
        Dispatch.objects.select_related("incident", "incident__type", "incident__event", "unit")
        .filter(pk=data.get("d"), unit_id=data.get("u"))
        .first()
    )
    if row is None:
        raise NotFound("incidents.unknown_dispatch", "This dispatch no longer exists.")
    return row


def _changed(row: Dispatch, at_iso: str) -> None:
    bus.publish(
        events.DispatchChanged(
            dispatch_id=row.pk,
            incident_id=row.incident_id,
            number=row.incident.number,
            event=row.incident.event.code,
            unit=row.unit.code,
            state=row.state,
            at=at_iso,
        )
    )


def dispatch(*, incident_id: int, unit_code: str, user: User | None) -> Dispatch:
    """Send a free reserve unit to an incident (acknowledging it if still open)."""
    at = clock.now()
    with transaction.atomic():
        incident = services._locked(incident_id)
        services.require(incident, "dispatch")
        unit = ReserveUnit.objects.filter(event=incident.event, code=unit_code).first()
        if unit is None:
            raise DomainError(
                "incidents.unknown_unit",
                f"no reserve unit {unit_code!r}",
                422,
                problems=[FieldProblem("unit", "unknown", "unknown")],
            )
        if unit.state != "available":
            raise DomainError(
                "incidents.unit_busy", f"{unit.code} is {unit.state}, not available", 409
            )
        distance = None
        if incident.lon is not None and incident.lat is not None:
            distance = round(
                reserves.distance_km(incident.lon, incident.lat, unit.lon, unit.lat), 3
            )
        try:
            with transaction.atomic():
                row = Dispatch.objects.create(
                    incident=incident,
                    unit=unit,
                    distance_km=distance,
                    dispatched_at=at,
                    dispatched_by=user,
                )
        except IntegrityError as exc:  # the unit's other dispatch is still active
            raise DomainError(
                "incidents.unit_busy", f"{unit.code} is already on an incident", 409
            ) from exc
        reserves.dispatch(unit, task=f"#{incident.number} {incident.title}"[:200], user=user)
        services.mark_acknowledged(incident, at, user)
        services.entry(
            incident,
            EntryAction.DISPATCHED,
            at,
            user=user,
            text=f"{unit.code} {unit.name_en or unit.name}"
            + (f" ({distance:.2f} km)" if distance is not None else ""),
        )
        audit.record("incident.dispatch", obj=incident, after={"unit": unit.code})
        _changed(row, at.isoformat())
        services.changed(incident, "dispatched", at)
    return row


def report(
    *, dispatch_id: int, state: str, user: User | None = None, incident_id: int | None = None
) -> Dispatch:
    """Move a dispatch on (accepted, en route, on scene, done, recalled); sync the unit.

    The first unit on scene starts the response: the incident becomes ``responding``.
    """
    if state not in DispatchState.values:
        raise DomainError(
            "incidents.bad_dispatch_state",
            f"unknown state {state!r}; one of {', '.join(DispatchState.values)}",
            422,
            problems=[FieldProblem("state", "unknown", "unknown")],
        )
    at = clock.now()
    with transaction.atomic():
        row = (
            Dispatch.objects.select_for_update()
            .select_related("unit")
            .filter(pk=dispatch_id)
            .first()
        )
        if row is None or (incident_id is not None and row.incident_id != incident_id):
            raise NotFound("incidents.unknown_dispatch", f"no dispatch {dispatch_id}")
        incident = services._locked(row.incident_id)
        row.incident = incident
        if state not in engine.DISPATCH_MOVES[row.state]:
            raise DomainError(
                "incidents.bad_transition",
                f"{row.unit.code} is {row.state}; it cannot become {state}",
                409,
            )
        before = row.state
        row.state = state
        stamp = {
            "accepted": "accepted_at",
            "en_route": "en_route_at",
            "on_scene": "on_scene_at",
            "done": "done_at",
            "cancelled": "done_at",
        }[state]
        setattr(row, stamp, at)
        if state == "en_route" and row.accepted_at is None:
            row.accepted_at = at
        row.save()
        reserves.set_state(row.unit, engine.UNIT_STATE[state], user=user)
        actor = "" if user is not None else f"unit:{row.unit.code}"
        services.entry(
            incident, EntryAction.UNIT, at, user=user, actor=actor, text=f"{row.unit.code}: {state}"
        )
        if state == "on_scene" and incident.responding_at is None:
            services.mark_acknowledged(incident, at, user, actor)
            incident.responding_at = at
            if incident.state == IncidentState.ACKNOWLEDGED:
                incident.state = IncidentState.RESPONDING
            incident.save(update_fields=["responding_at", "state"])
            services.entry(
                incident, EntryAction.RESPONDING, at, user=user, actor=actor, text=row.unit.code
            )
        audit.record(
            "incident.unit_state",
            obj=incident,
            before={"unit": row.unit.code, "state": before},
            after={"unit": row.unit.code, "state": state},
        )
        _changed(row, at.isoformat())
        services.changed(incident, f"unit_{state}", at)
    return row


def active_dispatches(incident: Incident) -> list[Dispatch]:
    """Return the incident's dispatches still under way."""
    return list(
        Dispatch.objects.filter(incident=incident, state__in=ACTIVE_DISPATCH).select_related("unit")
    )
