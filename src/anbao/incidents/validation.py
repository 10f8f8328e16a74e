"""Checks of what callers ask incidents for: types, positions, site references, alarms."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from anbao.alarms.models import Alarm
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.incidents.models import IncidentAlarm, IncidentKind, IncidentType
from anbao.incidents.sop import ensure_types
from anbao.sites.models import Checkpoint, Event, PerimeterSegment, Venue


def type_for(event: Event, code: str) -> IncidentType:
    """Return the event's incident type ``code`` or raise ``incidents.unknown_type``."""
    if code not in IncidentKind.values:
        raise DomainError(
            "incidents.unknown_type",
            f"unknown incident type {code!r}; one of {', '.join(IncidentKind.values)}",
            422,
            problems=[FieldProblem("type", "unknown incident type", "unknown")],
        )
    row = IncidentType.objects.filter(event=event, code=code).first()
    if row is None:
        ensure_types(event)
        row = IncidentType.objects.get(event=event, code=code)
    return row


def check_position(lon: float | None, lat: float | None) -> None:
    """Refuse a half-given, non-finite or out-of-range position with ``incidents.bad_position``."""
    if (lon is None) != (lat is None):
        raise DomainError(
            "incidents.bad_position",
            "give both lon and lat, or neither",
            422,
            problems=[FieldProblem("lon" if lon is None else "lat", "missing", "required")],
        )
    if lon is None or lat is None:
        return
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise DomainError(
            "incidents.bad_position",
            "lon must be within -180..180 and lat within -90..90",
            422,
            problems=[FieldProblem("lon", "out of range", "out_of_range")],
        )


_M = TypeVar("_M", Checkpoint, PerimeterSegment, Venue)


def site_ref(model: type[_M], event: Event, code: str) -> _M:
    """Return the event's checkpoint, segment or venue ``code``, or a coded refusal."""
    row = model.objects.filter(event=event, code=code).first()
    if row is None:
        name = model._meta.model_name or "reference"
        raise DomainError(
            "incidents.unknown_reference",
            f"no {name} {code!r} at this event",
            422,
            problems=[FieldProblem(name, "unknown", "unknown")],
        )
    return row


def alarms_to_attach(event: Event, alarm_ids: Sequence[int]) -> list[Alarm]:
    """Return the alarms named, each of this event and on no incident yet."""
    out: list[Alarm] = []
    for alarm_id in dict.fromkeys(alarm_ids):
        alarm = Alarm.objects.filter(pk=alarm_id, event=event).first()
        if alarm is None:
            raise NotFound("incidents.unknown_alarm", f"no alarm {alarm_id} at this event")
        link = IncidentAlarm.objects.select_related("incident").filter(alarm=alarm).first()
        if link is not None:
            raise DomainError(
                "incidents.alarm_attached",
                f"alarm #{alarm.number} is already on incident #{link.incident.number}",
                409,
            )
        out.append(alarm)
    return out
