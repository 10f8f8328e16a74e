"""Reserve forces (机动力量): positions, states, and "who is nearest and free?".

Other domains (the incident desk) call :func:`nearest_free` and :func:`dispatch`; they never
touch the rows themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import transaction

from anbao.accounts.models import User
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.models import Event
from anbao.workforce.events import ReserveUnitChanged
from anbao.workforce.models import ReserveKind, ReserveState, ReserveUnit

#: Allowed moves between states; anything else is refused.
TRANSITIONS = {
    ReserveState.AVAILABLE: {ReserveState.DISPATCHED, ReserveState.OFF_DUTY},
    ReserveState.DISPATCHED: {ReserveState.ON_SCENE, ReserveState.AVAILABLE},
    ReserveState.ON_SCENE: {ReserveState.AVAILABLE},
    ReserveState.OFF_DUTY: {ReserveState.AVAILABLE},
}


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Return the great-circle distance in km (haversine; metres matter less than order)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Nearest:
    """A free reserve unit and how far it is."""

    unit: ReserveUnit
    distance_km: float

    def as_dict(self) -> dict[str, object]:
        """Return it as a JSON-ready dict."""
        u = self.unit
        return {
            "code": u.code,
            "name": u.name,
            "name_en": u.name_en,
            "kind": u.kind,
            "size": u.size,
            "lon": u.lon,
            "lat": u.lat,
            "state": u.state,
            "distance_km": round(self.distance_km, 3),
        }


def _check_point(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or math.isnan(lon) or math.isnan(lat):
        raise DomainError(
            "workforce.bad_position",
            "lon must be within ±180 and lat within ±90.",
            422,
            problems=[FieldProblem("lon", "out of range", "out_of_range")],
        )


def nearest_free(
    event: Event, *, lon: float, lat: float, kind: str | None = None, limit: int = 5
) -> list[Nearest]:
    """Return the available reserve units nearest to a point, nearest first."""
    _check_point(lon, lat)
    if kind is not None and kind not in ReserveKind.values:
        raise DomainError("workforce.bad_kind", f"Unknown reserve kind {kind!r}.", 422)
    units = ReserveUnit.objects.filter(event=event, state=ReserveState.AVAILABLE)
    if kind:
        units = units.filter(kind=kind)
    ranked = sorted(
        (Nearest(u, distance_km(lon, lat, u.lon, u.lat)) for u in units),
        key=lambda n: (n.distance_km, n.unit.code),
    )
    return ranked[: max(1, min(limit, 50))]


def set_state(
    unit: ReserveUnit,
    state: str,
    *,
    task: str = "",
    lon: float | None = None,
    lat: float | None = None,
    user: User | None = None,
) -> ReserveUnit:
    """Move a unit to a new state (and position); refuse a move the cycle does not allow."""
    if state not in ReserveState.values:
        raise DomainError("workforce.bad_state", f"Unknown state {state!r}.", 422)
    with transaction.atomic():
        unit = ReserveUnit.objects.select_for_update().get(pk=unit.pk)
        if state != unit.state and state not in TRANSITIONS[ReserveState(unit.state)]:
            raise DomainError(
                "workforce.bad_transition",
                f"{unit.code} is {unit.state}; it cannot become {state}.",
                409,
            )
        before = {"state": unit.state, "task": unit.task}
        if lon is not None and lat is not None:
            _check_point(lon, lat)
            unit.lon, unit.lat = lon, lat
        unit.state = state
        # Arriving on scene keeps the task the unit was dispatched to unless a new one is given.
        keeps = state in (ReserveState.DISPATCHED, ReserveState.ON_SCENE)
        unit.task = (task.strip()[:200] or unit.task) if keeps else ""
        unit.state_changed_at = clock.now()
        unit.save()
        audit.record(
            "workforce.reserve_state",
            obj=unit,
            before=before,
            after={"state": state, "task": unit.task},
        )
        bus.publish(ReserveUnitChanged(unit.code, unit.state, unit.lon, unit.lat, unit.task))
    return unit


def dispatch(unit: ReserveUnit, *, task: str, user: User | None = None) -> ReserveUnit:
    """Send an available unit to a task."""
    if not task.strip():
        raise DomainError(
            "workforce.task_required",
            "Say what the unit is sent to.",
            422,
            problems=[FieldProblem("task", "required", "required")],
        )
    return set_state(unit, ReserveState.DISPATCHED, task=task, user=user)
