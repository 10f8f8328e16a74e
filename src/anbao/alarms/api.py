"""Alarms API (at ``/api/alarms``): console actions, configuration, statistics and drones.

It also has the HTTP route for devices that cannot speak MQTT.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from anbao.accounts.auth import DEVICE_AUTH, need
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.alarms import config, queries, services, stats
from anbao.alarms.schemas import (
    AckIn,
    AlarmDetailOut,
    AlarmOut,
    CloseIn,
    Day,
    DeadLetterPageOut,
    DefinitionIn,
    DefinitionOut,
    DetectionOut,
    DeviceHealthOut,
    DroneActionIn,
    DroneActionOut,
    DroneTrackOut,
    IngestOut,
    Moment,
    NoteIn,
    NuisanceOut,
    OverrideIn,
    OverrideOut,
    SectionSettingsIn,
    SectionSettingsOut,
    WalkTestIn,
    WhitelistIn,
    WhitelistOut,
)
from anbao.core.errors import DomainError, Forbidden
from anbao.sites.models import Device, Event

VIEW = need(Cap.ALARMS_VIEW)
OPERATE = need(Cap.ALARMS_OPERATE)
CONFIGURE = need(Cap.ALARMS_CONFIGURE)

router = Router(tags=["alarms"])


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _event() -> Event:
    return queries.require_event()


class ListQuery(Schema):
    """Which alarms to list."""

    state: str = Field("open", pattern="^(open|all|closed)$")
    limit: int = Field(200, ge=1, le=1000)


@router.get("/alarms", response=list[AlarmOut], auth=VIEW, summary="Alarms for the console")
def list_alarms(request: HttpRequest, q: Query[ListQuery]) -> list[dict[str, Any]]:
    """Open alarms (not closed, or with an active source) by priority, or all, newest first."""
    return queries.alarm_list(_event(), state=q.state, limit=q.limit)


@router.get("/alarms/{alarm_id}", response=AlarmDetailOut, auth=VIEW, summary="One alarm")
def get_alarm(request: HttpRequest, alarm_id: int) -> dict[str, Any]:
    """Return an alarm with its timeline and the sensor events behind it."""
    return queries.alarm_detail(alarm_id)


@router.post(
    "/alarms/{alarm_id}/acknowledge", response=AlarmOut, auth=OPERATE, summary="Acknowledge"
)
def acknowledge(request: HttpRequest, alarm_id: int, body: AckIn) -> dict[str, Any]:
    """Acknowledge; an alarm whose source is still active needs a forced acknowledge."""
    user = _user(request)
    if body.force and Cap.ALARMS_FORCE not in user.caps:
        raise Forbidden("alarms.force_not_allowed", "a forced acknowledge needs the privilege")
    alarm = services.acknowledge(alarm_id=alarm_id, user=user, force=body.force, note=body.note)
    return queries.alarm_row(alarm)


@router.post("/alarms/{alarm_id}/take", response=AlarmOut, auth=OPERATE, summary="Take")
def take(request: HttpRequest, alarm_id: int) -> dict[str, Any]:
    """Take ownership of an alarm."""
    return queries.alarm_row(services.take(alarm_id=alarm_id, user=_user(request)))


@router.post("/alarms/{alarm_id}/notes", response={201: dict}, auth=OPERATE, summary="Add a note")
def add_note(request: HttpRequest, alarm_id: int, body: NoteIn) -> Status:
    """Add a note to an alarm's timeline."""
    entry = services.add_note(alarm_id=alarm_id, user=_user(request), text=body.text)
    return Status(201, {"id": entry.pk, "at": entry.at.isoformat()})


@router.post("/alarms/{alarm_id}/close", response=AlarmOut, auth=OPERATE, summary="Close")
def close(request: HttpRequest, alarm_id: int, body: CloseIn) -> dict[str, Any]:
    """Close with a disposition (real, nuisance, false, test); the source must have cleared."""
    alarm = services.close(
        alarm_id=alarm_id, user=_user(request), disposition=body.disposition, note=body.note
    )
    return queries.alarm_row(alarm)


@router.get("/alarms/{alarm_id}/cap", auth=VIEW, summary="The alarm as a CAP 1.2 alert")
def alarm_cap(request: HttpRequest, alarm_id: int) -> HttpResponse:
    """Return the alarm as CAP 1.2 XML, in zh-CN and en-US."""
    xml = queries.alarm_cap(alarm_id)
    return HttpResponse(xml, content_type="application/cap+xml; charset=utf-8")


@router.get("/definitions", response=list[DefinitionOut], auth=VIEW, summary="Definitions")
def list_definitions(request: HttpRequest) -> list[dict[str, Any]]:
    """Alarm definitions: priority, colour, sound, suppression, auto-ack, arming."""
    return queries.definitions(_event())


@router.put("/definitions", response=DefinitionOut, auth=CONFIGURE, summary="Set a definition")
def set_definition(request: HttpRequest, body: DefinitionIn) -> dict[str, Any]:
    """Create or change the definition of a source type, event-wide or for one segment."""
    d = config.set_definition(event=_event(), **body.dict())
    return queries.definition_row(d)


@router.get("/overrides", response=list[OverrideOut], auth=VIEW, summary="Bypass and test")
def list_overrides(request: HttpRequest) -> list[dict[str, Any]]:
    """List the sources bypassed or in test mode, now or later."""
    return queries.overrides(_event())


@router.post("/overrides", response={201: OverrideOut}, auth=CONFIGURE, summary="Bypass/test")
def start_override(request: HttpRequest, body: OverrideIn) -> Status:
    """Bypass a source for maintenance, or put it in test mode, until a time."""
    row = config.start_override(event=_event(), user=_user(request), **body.dict())
    return Status(201, queries.override_row(row))


@router.post(
    "/overrides/{override_id}/end", response=OverrideOut, auth=CONFIGURE, summary="End early"
)
def end_override(request: HttpRequest, override_id: int) -> dict[str, Any]:
    """End a bypass or test mode now."""
    return queries.override_row(config.end_override(override_id=override_id, user=_user(request)))


@router.post("/walk-tests", response={201: dict}, auth=CONFIGURE, summary="Record a walk test")
def walk_test(request: HttpRequest, body: WalkTestIn) -> Status:
    """Record walk-test passes over one section (true: detected)."""
    n = config.record_walk_test(event=_event(), user=_user(request), **body.dict())
    return Status(201, {"recorded": n})


@router.get("/stats/detection", response=list[DetectionOut], auth=VIEW, summary="Pd")
def detection(request: HttpRequest) -> list[dict[str, Any]]:
    """Probability of detection per section from its last 50 walk-test passes."""
    return [
        {**r.__dict__, "probability": r.probability} for r in stats.detection_by_section(_event())
    ]


class DayQuery(Schema):
    """A local day."""

    day: Day


@router.get("/stats/nuisance", response=list[NuisanceOut], auth=VIEW, summary="Nuisance")
def nuisance(request: HttpRequest, q: Query[DayQuery]) -> list[dict[str, Any]]:
    """Alarms per section on a day by disposition, with the nuisance rate."""
    return [
        {**r.__dict__, "nuisance_rate": r.nuisance_rate}
        for r in stats.nuisance_by_section(_event(), q.day)
    ]


@router.get(
    "/section-settings", response=list[SectionSettingsOut], auth=VIEW, summary="Nuisance control"
)
def list_section_settings(request: HttpRequest) -> list[dict[str, Any]]:
    """List the nuisance control set per segment or section."""
    return queries.section_settings(_event())


@router.put(
    "/section-settings", response=SectionSettingsOut, auth=CONFIGURE, summary="Set nuisance control"
)
def set_section_settings(request: HttpRequest, body: SectionSettingsIn) -> dict[str, Any]:
    """Set the sensitivity offset, confirmation, swinger and wind rules of a segment or section."""
    row = config.set_section_settings(event=_event(), **body.dict())
    return queries.section_settings_row(row)


@router.get("/drone-whitelist", response=list[WhitelistOut], auth=VIEW, summary="Authorised drones")
def list_whitelist(request: HttpRequest) -> list[dict[str, Any]]:
    """List the authorised drones."""
    return queries.whitelist(_event())


@router.put("/drone-whitelist", response=WhitelistOut, auth=CONFIGURE, summary="Authorise a drone")
def authorise_drone(request: HttpRequest, body: WhitelistIn) -> dict[str, Any]:
    """Authorise a drone by its Remote ID serial."""
    row = config.authorise_drone(event=_event(), **body.dict())
    return queries.whitelist_row(row)


class PageQuery(Schema):
    """A page of dead letters."""

    limit: int = Field(100, ge=1, le=500)
    code: str | None = Field(None, max_length=60)


@router.get("/dead-letters", response=DeadLetterPageOut, auth=VIEW, summary="Dead letters")
def dead_letters(request: HttpRequest, q: Query[PageQuery]) -> dict[str, Any]:
    """Messages that could not be taken, with the reason, and the counts per reason."""
    return queries.dead_letters(limit=q.limit, code=q.code)


@router.get("/devices", response=list[DeviceHealthOut], auth=VIEW, summary="Device health")
def device_health(request: HttpRequest) -> list[dict[str, Any]]:
    """Every sensor's online state and last message."""
    return queries.device_health(_event())


class SinceQuery(Schema):
    """Tracks seen since a moment."""

    since: Moment | None = None


@router.get("/drones", response=list[DroneTrackOut], auth=VIEW, summary="Drone tracks")
def drones(request: HttpRequest, q: Query[SinceQuery]) -> list[dict[str, Any]]:
    """Drone tracks with their threat score and its factors."""
    return queries.drone_tracks(_event(), since=q.since)


@router.post(
    "/drones/{track_id}/actions",
    response={201: DroneActionOut},
    auth=OPERATE,
    summary="Record an operator decision on a drone",
)
def drone_action(request: HttpRequest, track_id: str, body: DroneActionIn) -> Status:
    """Record observe, warn, locate the pilot or request a countermeasure; nothing is sent."""
    row = queries.record_drone_action(
        event=_event(), track_id=track_id, user=_user(request), action=body.action, note=body.note
    )
    return Status(201, row)


@router.post(
    "/devices/messages/{kind}",
    response={202: IngestOut, 422: IngestOut},
    auth=DEVICE_AUTH,
    summary="A device message over HTTP (same formats as MQTT)",
)
def device_message(request: HttpRequest, kind: str) -> Status:
    """Take one message from a device that cannot speak MQTT; the body is the MQTT payload."""
    device = cast(Device, request.auth)  # type: ignore[attr-defined]
    if len(request.body) > 64 * 1024:
        raise DomainError("payload.too_large", "a device message is at most 64 KiB", status=413)
    result = queries.ingest_http(device, kind, request.body)
    return Status(202 if result["accepted"] or result["duplicate"] else 422, result)
