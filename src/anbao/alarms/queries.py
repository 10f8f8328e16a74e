"""Read side of the alarms domain: rows for the console, the API and the pages."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from django.db.models import Count

from anbao.accounts.models import User
from anbao.alarms import services
from anbao.alarms.models import (
    Alarm,
    AlarmDefinition,
    DeadLetter,
    DroneTrack,
    DroneWhitelist,
    SectionSettings,
    SourceOverride,
    Workflow,
)
from anbao.core import clock
from anbao.core.errors import NotFound
from anbao.sites import services as sites
from anbao.sites.models import Device, DeviceKind, Event

SENSOR_KINDS = [k for k in DeviceKind.values if k not in ("gate_scanner", "queue_sensor")]


def require_event() -> Event:
    """Return the current event or raise ``sites.no_event``."""
    event = sites.current_event()
    if event is None:
        raise NotFound("sites.no_event", "no event is loaded")
    return event


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def alarm_row(alarm: Alarm, now: datetime | None = None) -> dict[str, Any]:
    """Return one alarm as the console shows it."""
    now = now or clock.now()
    return {
        "id": alarm.pk,
        "number": alarm.number,
        "source_type": alarm.source_type,
        "source_key": alarm.source_key,
        "title": alarm.title,
        "title_en": alarm.title_en,
        "priority": alarm.priority,
        "colour": alarm.colour,
        "sound": alarm.sound,
        "test": alarm.test,
        "condition": alarm.condition,
        "workflow": alarm.workflow,
        "disposition": alarm.disposition,
        "raised_at": alarm.raised_at,
        "last_trigger_at": alarm.last_trigger_at,
        "trigger_count": alarm.trigger_count,
        "cleared_at": alarm.cleared_at,
        "ack_due_at": alarm.ack_due_at,
        "acknowledged_at": alarm.acknowledged_at,
        "owner": _name(alarm.owner) if alarm.owner_id else None,
        "segment": alarm.segment.code if alarm.segment_id and alarm.segment else None,
        "section": alarm.section.code if alarm.section_id and alarm.section else None,
        "device": alarm.device.external_id if alarm.device_id and alarm.device else None,
        "lon": alarm.lon,
        "lat": alarm.lat,
        "overdue": alarm.workflow == Workflow.NEW and not alarm.test and alarm.ack_due_at <= now,
    }


def alarm_list(event: Event, *, state: str = "open", limit: int = 200) -> list[dict[str, Any]]:
    """Return the console's list: open alarms by priority, or all/closed ones newest first."""
    if state == "open":
        qs = services.open_alarms(event)
    else:
        qs = Alarm.objects.filter(event=event).select_related("segment", "section", "device")
        if state == "closed":
            qs = qs.filter(workflow=Workflow.CLOSED)
        qs = qs.order_by("-raised_at")
    now = clock.now()
    return [alarm_row(a, now) for a in qs.select_related("owner")[:limit]]


def alarm_detail(alarm_id: int) -> dict[str, Any]:
    """Return an alarm with its timeline, sensor events and the cameras to call up."""
    alarm = (
        Alarm.objects.select_related("segment", "section", "device", "owner", "event")
        .filter(pk=alarm_id)
        .first()
    )
    if alarm is None:
        raise NotFound("alarms.not_found", f"no alarm {alarm_id}")
    row = alarm_row(alarm)
    row["details"] = alarm.details
    row["entries"] = [
        {
            "at": e.at,
            "action": e.action,
            "action_label": e.get_action_display(),
            "user": _name(e.user),
            "text": e.text,
        }
        for e in alarm.entries.select_related("user")
    ]
    row["sensor_events"] = [
        {
            "device": s.device.external_id,
            "message_id": s.message_id,
            "kind": s.kind,
            "device_time": s.device_time,
            "received_at": s.received_at,
            "outcome": s.outcome,
            "body": s.body,
        }
        for s in alarm.sensor_events.select_related("device").order_by("received_at")[:50]
    ]
    row["cameras"] = cameras_for(alarm)
    return row


def cameras_for(alarm: Alarm) -> list[dict[str, Any]]:
    """Return the cameras covering the alarm point, with the PTZ pan/tilt to look at it."""
    if alarm.lon is None or alarm.lat is None:
        return []
    from anbao.alarms import callup

    return callup.cameras_for_point(alarm.event, alarm.lon, alarm.lat)


def alarm_cap(alarm_id: int) -> bytes:
    """Return the alarm as a CAP 1.2 alert."""
    from anbao.alarms import callup

    alarm = Alarm.objects.select_related("event", "segment", "section").filter(pk=alarm_id).first()
    if alarm is None:
        raise NotFound("alarms.not_found", f"no alarm {alarm_id}")
    return callup.cap_for_alarm(alarm)


def definition_row(d: AlarmDefinition) -> dict[str, Any]:
    """Return one definition."""
    return {
        "id": d.pk,
        "source_type": d.source_type,
        "segment": d.segment.code if d.segment_id and d.segment else None,
        "priority": d.priority,
        "colour": d.colour,
        "sound": d.sound,
        "suppression_s": d.suppression_s,
        "momentary_clear_s": d.momentary_clear_s,
        "auto_ack": d.auto_ack,
        "arming": d.arming,
        "ack_within_s": d.ack_within_s,
    }


def definitions(event: Event) -> list[dict[str, Any]]:
    """Return the event's alarm definitions (the defaults are created on first use)."""
    services.ensure_definitions(event)
    return [
        definition_row(d)
        for d in AlarmDefinition.objects.filter(event=event).select_related("segment")
    ]


def override_row(o: SourceOverride) -> dict[str, Any]:
    """Return one bypass or test-mode window."""
    now = clock.now()
    return {
        "id": o.pk,
        "source_key": o.source_key,
        "mode": o.mode,
        "starts_at": o.starts_at,
        "ends_at": o.ends_at,
        "ended_at": o.ended_at,
        "reason": o.reason,
        "created_by": _name(o.created_by) if o.created_by_id else None,
        "active": o.ended_at is None and o.starts_at <= now < o.ends_at,
    }


def overrides(event: Event) -> list[dict[str, Any]]:
    """Return the windows that are current or to come."""
    now = clock.now()
    rows = SourceOverride.objects.filter(event=event, ends_at__gt=now, ended_at__isnull=True)
    return [override_row(o) for o in rows.select_related("created_by")]


def dead_letters(*, limit: int = 100, code: str | None = None) -> dict[str, Any]:
    """Return recent dead letters and the counts per reason code."""
    qs = DeadLetter.objects.all()
    if code:
        qs = qs.filter(code=code)
    by_code = dict(DeadLetter.objects.values_list("code").annotate(n=Count("id")).order_by("code"))
    items = [
        {
            "id": d.pk,
            "received_at": d.received_at,
            "topic": d.topic,
            "size": d.size,
            "code": d.code,
            "reason": d.reason,
            "message_id": d.message_id,
            "preview": bytes(d.payload[:200]).decode("utf-8", "replace"),
        }
        for d in qs.order_by("-received_at", "-id")[:limit]
    ]
    return {"total": sum(by_code.values()), "by_code": by_code, "items": items}


def device_health(event: Event) -> list[dict[str, Any]]:
    """Return every sensor's online state."""
    rows = Device.objects.filter(event=event, kind__in=SENSOR_KINDS).select_related("segment")
    return [
        {
            "external_id": d.external_id,
            "name": d.name,
            "kind": d.kind,
            "online": d.online,
            "last_seen": d.last_seen,
            "segment": d.segment.code if d.segment else None,
        }
        for d in rows
    ]


def drone_tracks(event: Event, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Return drone tracks, most recent first, with their recorded actions."""
    qs = DroneTrack.objects.filter(event=event).prefetch_related("actions__user")
    if since is not None:
        qs = qs.filter(last_seen__gte=since)
    return [
        {
            "track_id": t.track_id,
            "serial": t.serial,
            "status": t.status,
            "first_seen": t.first_seen,
            "last_seen": t.last_seen,
            "lon": t.lon,
            "lat": t.lat,
            "alt_m": t.alt_m,
            "score": t.score,
            "level": t.level,
            "authorised": t.authorised,
            "snapshot": t.snapshot,
            "trail": t.trail,
            "alarm_id": t.alarm_id,
            "actions": [
                {"at": a.at.isoformat(), "action": a.action, "user": _name(a.user), "note": a.note}
                for a in t.actions.all()
            ],
        }
        for t in qs[:200]
    ]


def record_drone_action(
    *, event: Event, track_id: str, user: User, action: str, note: str
) -> dict[str, Any]:
    """Record an operator's decision on a drone (see ``drones.record_action``)."""
    from anbao.alarms import drones

    row = drones.record_action(event=event, track_id=track_id, user=user, action=action, note=note)
    return {
        "id": row.pk,
        "track_id": track_id,
        "at": row.at,
        "action": row.action,
        "user": _name(user),
        "note": row.note,
        "result": row.result,
    }


_pipelines: dict[int, Any] = {}
_pipelines_lock = threading.Lock()


def ingest_http(device: Device, kind: str, body: bytes) -> dict[str, Any]:
    """Feed one HTTP device message through this process's pipeline."""
    from anbao.alarms import payloads
    from anbao.alarms.ingest import Incoming, Pipeline

    event = device.event
    with _pipelines_lock:
        pipeline = _pipelines.get(event.pk)
        if pipeline is None or device.external_id not in pipeline.registry:
            pipeline = _pipelines[event.pk] = Pipeline(event)
    # Built by hand, not with topic_for: decode() then names what is wrong with the kind.
    topic = f"{payloads.TOPIC_ROOT}/{event.code}/{device.kind}/{device.external_id}/{kind}"
    result = pipeline.handle([Incoming(topic, body, clock.now())])
    if result.dead:
        code, reason = result.dead_reasons[0]
        return {
            "accepted": False,
            "duplicate": False,
            "outcome": None,
            "code": code,
            "reason": reason,
        }
    outcome = next(iter(result.outcomes), None)
    return {
        "accepted": result.accepted > 0,
        "duplicate": result.duplicates > 0,
        "outcome": outcome or ("duplicate" if result.duplicates else None),
        "code": None,
        "reason": None,
    }


def section_settings_row(row: SectionSettings) -> dict[str, Any]:
    """Return one segment's or section's nuisance control."""
    return {
        "segment": row.segment.code,
        "section": row.section.code if row.section else None,
        "sensitivity_offset": row.sensitivity_offset,
        "unconfirmed": row.unconfirmed,
        "swinger_limit": row.swinger_limit,
        "wind_sensitive": row.wind_sensitive,
        "gust_threshold_mps": row.gust_threshold_mps,
        "base_priority": row.base_priority,
    }


def section_settings(event: Event) -> list[dict[str, Any]]:
    """Return the nuisance control set for the event's perimeter."""
    rows = SectionSettings.objects.filter(segment__event=event).select_related("segment", "section")
    return [section_settings_row(r) for r in rows.order_by("segment__code", "section__code")]


def whitelist_row(row: DroneWhitelist) -> dict[str, Any]:
    """Return one authorised drone."""
    return {
        "serial": row.serial,
        "owner": row.owner,
        "valid_from": row.valid_from,
        "valid_until": row.valid_until,
    }


def whitelist(event: Event) -> list[dict[str, Any]]:
    """Return the event's authorised drones."""
    return [whitelist_row(r) for r in DroneWhitelist.objects.filter(event=event)]
