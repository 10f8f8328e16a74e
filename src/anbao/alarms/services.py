"""The alarm lifecycle: trigger, fold, clear, acknowledge, take, note, close, and the timers.

The condition (is the source still alarming?) and the workflow (where are the operators?) are
separate fields. Acknowledging never hides an alarm whose source is still active: the console
lists every alarm that is active or not closed, and closing needs the source cleared.
"""

from __future__ import annotations

import threading
import time as _time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet

from anbao.accounts.models import User
from anbao.alarms import events
from anbao.alarms.models import (
    Alarm,
    AlarmAction,
    AlarmDefinition,
    AlarmEntry,
    AutoAck,
    Condition,
    Disposition,
    OverrideMode,
    SourceOverride,
    SourceType,
    Workflow,
)
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, NotFound
from anbao.sites.models import AlarmSection, Device, Event, PerimeterSegment

# Defaults for an event with no definitions yet: (priority, colour, sound, suppression s,
# momentary clear s, auto-ack, ack within s). Intrusion sensors are momentary: they report an
# instant, so their condition clears itself after a quiet spell.
DEFAULTS: dict[str, tuple[int, str, str, int, int, str, int]] = {
    SourceType.INTRUSION: (2, "#d32f2f", "alarm-high", 60, 30, AutoAck.NEVER, 60),
    SourceType.FENCE_CUT: (1, "#b71c1c", "alarm-critical", 120, 0, AutoAck.NEVER, 30),
    SourceType.FENCE_SHORT: (2, "#d32f2f", "alarm-high", 120, 0, AutoAck.NEVER, 60),
    SourceType.FENCE_VOLTAGE: (3, "#f57c00", "alarm-medium", 300, 0, AutoAck.ON_CLEAR, 300),
    SourceType.FENCE_TAMPER: (1, "#b71c1c", "alarm-critical", 120, 0, AutoAck.NEVER, 30),
    SourceType.LINE_CROSSING: (3, "#f57c00", "alarm-medium", 30, 20, AutoAck.NEVER, 120),
    SourceType.VIDEO_INTRUSION: (2, "#d32f2f", "alarm-high", 30, 20, AutoAck.NEVER, 60),
    SourceType.LOITERING: (4, "#fbc02d", "chime", 120, 60, AutoAck.ON_CLEAR, 300),
    SourceType.PANIC: (1, "#b71c1c", "alarm-critical", 30, 0, AutoAck.NEVER, 30),
    SourceType.DOOR_FORCED: (2, "#d32f2f", "alarm-high", 60, 0, AutoAck.NEVER, 60),
    SourceType.DOOR_HELD: (4, "#fbc02d", "chime", 120, 0, AutoAck.ON_CLEAR, 300),
    SourceType.DEVICE_OFFLINE: (3, "#f57c00", "alarm-medium", 300, 0, AutoAck.ON_CLEAR, 300),
    SourceType.DRONE: (2, "#d32f2f", "alarm-high", 60, 20, AutoAck.NEVER, 60),
}

TITLES: dict[str, tuple[str, str]] = {
    SourceType.INTRUSION: ("周界入侵", "Perimeter intrusion"),
    SourceType.FENCE_CUT: ("围栏剪断", "Fence cut"),
    SourceType.FENCE_SHORT: ("围栏短路", "Fence short circuit"),
    SourceType.FENCE_VOLTAGE: ("围栏电压下降", "Fence voltage drop"),
    SourceType.FENCE_TAMPER: ("围栏防拆报警", "Fence tamper"),
    SourceType.LINE_CROSSING: ("视频越线", "Line crossing (video)"),
    SourceType.VIDEO_INTRUSION: ("视频区域入侵", "Intrusion (video)"),
    SourceType.LOITERING: ("视频徘徊", "Loitering (video)"),
    SourceType.PANIC: ("紧急按钮", "Panic button"),
    SourceType.DOOR_FORCED: ("门被强行打开", "Door forced"),
    SourceType.DOOR_HELD: ("门长时间未关", "Door held open"),
    SourceType.DEVICE_OFFLINE: ("设备离线", "Device offline"),
    SourceType.DRONE: ("无人机", "Drone"),
}

_CACHE_S = 5.0
_cache_lock = threading.Lock()
_definitions: dict[int, tuple[float, dict[tuple[str, int | None], AlarmDefinition]]] = {}
_overrides: dict[int, tuple[float, list[SourceOverride]]] = {}


def forget_cached() -> None:
    """Drop the per-process caches of definitions and overrides (after a change)."""
    with _cache_lock:
        _definitions.clear()
        _overrides.clear()


def ensure_definitions(event: Event) -> int:
    """Create the default definition of every source type the event lacks; return how many."""
    have = set(
        AlarmDefinition.objects.filter(event=event, segment__isnull=True).values_list(
            "source_type", flat=True
        )
    )
    made = [
        AlarmDefinition(
            event=event,
            source_type=st,
            priority=d[0],
            colour=d[1],
            sound=d[2],
            suppression_s=d[3],
            momentary_clear_s=d[4],
            auto_ack=d[5],
            ack_within_s=d[6],
        )
        for st, d in DEFAULTS.items()
        if st not in have
    ]
    AlarmDefinition.objects.bulk_create(made)
    forget_cached()
    return len(made)


def definition_for(event: Event, source_type: str, segment_id: int | None) -> AlarmDefinition:
    """Return the most specific definition: the segment's own, else the event-wide one."""
    now = _time.monotonic()
    with _cache_lock:
        hit = _definitions.get(event.pk)
    if hit is None or now - hit[0] > _CACHE_S:
        if not AlarmDefinition.objects.filter(event=event).exists():
            ensure_definitions(event)
        table = {
            (d.source_type, d.segment_id): d for d in AlarmDefinition.objects.filter(event=event)
        }
        with _cache_lock:
            _definitions[event.pk] = (now, table)
    else:
        table = hit[1]
    found = table.get((source_type, segment_id)) or table.get((source_type, None))
    if found is None:
        raise DomainError("alarms.no_definition", f"no alarm definition for {source_type}")
    return found


def _active_overrides(event: Event, at: datetime) -> list[SourceOverride]:
    now = _time.monotonic()
    with _cache_lock:
        hit = _overrides.get(event.pk)
    if hit is None or now - hit[0] > _CACHE_S:
        rows = list(
            SourceOverride.objects.filter(event=event, ended_at__isnull=True, ends_at__gt=at)
        )
        with _cache_lock:
            _overrides[event.pk] = (now, rows)
    else:
        rows = hit[1]
    return [o for o in rows if o.starts_at <= at < o.ends_at and o.ended_at is None]


def override_for(event: Event, keys: list[str], at: datetime) -> SourceOverride | None:
    """Return the bypass (preferred) or test override covering any of ``keys`` at ``at``."""
    found = [o for o in _active_overrides(event, at) if o.source_key in keys]
    found.sort(key=lambda o: 0 if o.mode == OverrideMode.BYPASS else 1)
    return found[0] if found else None


def is_armed(definition: AlarmDefinition, at: datetime, tz: str) -> bool:
    """Whether the definition's arming schedule covers ``at`` (no windows: always armed)."""
    windows = definition.arming or []
    if not windows:
        return True
    local = at.astimezone(ZoneInfo(tz)).time()
    for w in windows:
        start, end = dtime.fromisoformat(w["start"]), dtime.fromisoformat(w["end"])
        inside = start <= local < end if start < end else local >= start or local < end
        if inside:
            return True
    return False


@dataclass
class TriggerResult:
    """What a trigger did: ``outcome`` is raised, folded, retriggered, bypassed or disarmed."""

    outcome: str
    alarm: Alarm | None = None
    reasons: list[str] = field(default_factory=list)


def _next_number(event: Event) -> int:
    top = Alarm.objects.filter(event=event).aggregate(m=Max("number"))["m"]
    return (top or 0) + 1


def _entry(
    alarm: Alarm, action: str, at: datetime, user: User | None = None, text: str = ""
) -> None:
    AlarmEntry.objects.create(alarm=alarm, at=at, action=action, user=user, text=text[:1000])


def _changed(alarm: Alarm, change: str, at: datetime) -> None:
    bus.publish(
        events.AlarmChanged(
            alarm_id=alarm.pk,
            number=alarm.number,
            event=alarm.event.code if alarm.event_id else "",
            change=change,
            condition=alarm.condition,
            workflow=alarm.workflow,
            trigger_count=alarm.trigger_count,
            at=at.isoformat(),
        )
    )


def source_keys(
    *, device: Device | None, segment: PerimeterSegment | None, section: AlarmSection | None
) -> list[str]:
    """Return the override keys that can cover a source, most specific first."""
    keys: list[str] = []
    if section is not None and segment is not None:
        keys.append(f"section:{segment.code}/{section.code}")
    if segment is not None:
        keys.append(f"segment:{segment.code}")
    if device is not None:
        keys.append(f"device:{device.external_id}")
    return keys


def trigger(
    *,
    event: Event,
    source_type: str,
    source_key: str,
    at: datetime,
    device: Device | None = None,
    segment: PerimeterSegment | None = None,
    section: AlarmSection | None = None,
    lon: float | None = None,
    lat: float | None = None,
    priority: int | None = None,
    details: dict[str, Any] | None = None,
) -> TriggerResult:
    """Raise an alarm for a source, or fold the trigger into its open alarm."""
    definition = definition_for(event, source_type, segment.pk if segment else None)
    keys = [*source_keys(device=device, segment=segment, section=section), source_key]
    override = override_for(event, keys, at)
    if override is not None and override.mode == OverrideMode.BYPASS:
        return TriggerResult("bypassed", None, [f"bypass:{override.source_key}"])
    if not is_armed(definition, at, event.time_zone):
        return TriggerResult("disarmed", None, ["schedule:disarmed"])
    test = override is not None and override.mode == OverrideMode.TEST
    prio = priority if priority is not None else definition.priority
    with transaction.atomic():
        open_alarm = (
            Alarm.objects.select_for_update()
            .filter(event=event, source_key=source_key, source_type=source_type)
            .exclude(workflow=Workflow.CLOSED)
            .order_by("-last_trigger_at")
            .first()
        )
        if open_alarm is not None:
            return _fold(open_alarm, definition, at, prio, details)
        title, title_en = _title(source_type, segment, section, device)
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    alarm = Alarm.objects.create(
                        event=event,
                        number=_next_number(event),
                        source_type=source_type,
                        source_key=source_key,
                        device=device,
                        segment=segment,
                        section=section,
                        lon=lon,
                        lat=lat,
                        priority=prio,
                        colour=definition.colour,
                        sound=definition.sound,
                        title=title,
                        title_en=title_en,
                        test=test,
                        condition=Condition.ACTIVE,
                        raised_at=at,
                        last_trigger_at=at,
                        ack_due_at=at + timedelta(seconds=definition.ack_within_s),
                        details=details or {},
                    )
                break
            except IntegrityError:  # another writer took the number; take the next
                continue
        else:
            raise DomainError("alarms.numbering", "could not number the alarm")
        _entry(alarm, AlarmAction.RAISED, at, text="test mode" if test else "")
        bus.publish(
            events.AlarmRaised(
                alarm_id=alarm.pk,
                number=alarm.number,
                event=event.code,
                source_type=source_type,
                source_key=source_key,
                priority=prio,
                colour=alarm.colour,
                sound=alarm.sound,
                title=alarm.title,
                title_en=alarm.title_en,
                lon=lon,
                lat=lat,
                test=test,
                raised_at=at.isoformat(),
            )
        )
    return TriggerResult("raised", alarm, ["test"] if test else [])


def _title(
    source_type: str,
    segment: PerimeterSegment | None,
    section: AlarmSection | None,
    device: Device | None,
) -> tuple[str, str]:
    zh, en = TITLES.get(source_type, (source_type, source_type))
    if segment is not None:
        where_zh = segment.name + (f" {section.name}" if section else "")
        where_en = (segment.name_en or segment.name) + (f" {section.code}" if section else "")
        return f"{zh} · {where_zh}", f"{en} · {where_en}"
    if device is not None:
        return f"{zh} · {device.name}", f"{en} · {device.external_id}"
    return zh, en


def _fold(
    alarm: Alarm,
    definition: AlarmDefinition,
    at: datetime,
    priority: int,
    details: dict[str, Any] | None,
) -> TriggerResult:
    within = (at - alarm.last_trigger_at).total_seconds() < definition.suppression_s
    reactivated = alarm.condition == Condition.CLEARED
    alarm.trigger_count += 1
    alarm.last_trigger_at = max(alarm.last_trigger_at, at)
    alarm.condition = Condition.ACTIVE
    alarm.cleared_at = None
    escalated = priority < alarm.priority
    if escalated:
        alarm.priority = priority
    if details:
        # An escalating trigger explains the alarm's priority now; others are kept as the last.
        alarm.details = (
            {**alarm.details, **details} if escalated else {**alarm.details, "last": details}
        )
    alarm.save(
        update_fields=[
            "trigger_count",
            "last_trigger_at",
            "condition",
            "cleared_at",
            "priority",
            "details",
        ]
    )
    if reactivated:
        _entry(alarm, AlarmAction.REACTIVATED, at)
    elif not within or escalated:
        # Re-triggers inside the suppression window only count; outside it the timeline shows one.
        _entry(alarm, AlarmAction.RETRIGGERED, at, text=f"x{alarm.trigger_count}")
    if reactivated or not within or escalated:
        _changed(alarm, "reactivated" if reactivated else "retriggered", at)
        return TriggerResult("retriggered", alarm)
    return TriggerResult("folded", alarm)


def update_from_engine(
    *, alarm_id: int, priority: int, details: dict[str, Any], at: datetime
) -> Alarm | None:
    """Apply a sensor engine's later judgement (a confirmation, say) to an open alarm."""
    with transaction.atomic():
        alarm = (
            Alarm.objects.select_for_update().select_related("event").filter(pk=alarm_id).first()
        )
        if alarm is None or alarm.workflow == Workflow.CLOSED:
            return None
        before = alarm.priority
        alarm.priority = min(alarm.priority, priority)
        alarm.details = {**alarm.details, **details}
        alarm.save(update_fields=["priority", "details"])
        codes = ", ".join(r["code"] for r in details.get("reasons", []))
        text = f"priority {before} → {alarm.priority}; {codes}" if codes else ""
        _entry(alarm, AlarmAction.UPDATED, at, text=text)
        _changed(alarm, "updated", at)
    return alarm


def clear(*, event: Event, source_type: str, source_key: str, at: datetime) -> int:
    """Mark the source cleared on its open alarms; auto-acknowledge where defined."""
    n = 0
    with transaction.atomic():
        rows = list(
            Alarm.objects.select_for_update()
            .filter(event=event, source_key=source_key, source_type=source_type)
            .exclude(workflow=Workflow.CLOSED)
            .filter(condition=Condition.ACTIVE)
        )
        for alarm in rows:
            _clear_one(alarm, at)
            n += 1
    return n


def _clear_one(alarm: Alarm, at: datetime) -> None:
    alarm.condition = Condition.CLEARED
    alarm.cleared_at = at
    fields = ["condition", "cleared_at"]
    _entry(alarm, AlarmAction.CLEARED, at)
    definition = definition_for(alarm.event, alarm.source_type, alarm.segment_id)
    if definition.auto_ack == AutoAck.ON_CLEAR and alarm.workflow == Workflow.NEW:
        alarm.workflow = Workflow.ACKNOWLEDGED
        alarm.acknowledged_at = at
        fields += ["workflow", "acknowledged_at"]
        _entry(alarm, AlarmAction.AUTO_ACK, at)
    alarm.save(update_fields=fields)
    _changed(alarm, "cleared", at)


def get_alarm(alarm_id: int) -> Alarm:
    """Return an alarm or raise ``alarms.not_found``."""
    alarm = Alarm.objects.select_related("event").filter(pk=alarm_id).first()
    if alarm is None:
        raise NotFound("alarms.not_found", f"no alarm {alarm_id}")
    return alarm


def _locked(alarm_id: int) -> Alarm:
    alarm = Alarm.objects.select_for_update().select_related("event").filter(pk=alarm_id).first()
    if alarm is None:
        raise NotFound("alarms.not_found", f"no alarm {alarm_id}")
    return alarm


def acknowledge(*, alarm_id: int, user: User, force: bool = False, note: str = "") -> Alarm:
    """Acknowledge an alarm; one whose source is still active needs ``force`` and a note."""
    at = clock.now()
    with transaction.atomic():
        alarm = _locked(alarm_id)
        if alarm.workflow != Workflow.NEW:
            raise DomainError("alarms.already_acknowledged", "the alarm is already acknowledged")
        action = AlarmAction.ACKNOWLEDGED
        if alarm.condition == Condition.ACTIVE:
            if not force:
                raise DomainError(
                    "alarms.source_active",
                    "the source is still active: use a forced acknowledge with a note",
                )
            if not note.strip():
                raise DomainError("alarms.note_required", "a forced acknowledge needs a note")
            action = AlarmAction.FORCED_ACK
        alarm.workflow = Workflow.ACKNOWLEDGED
        alarm.acknowledged_at = at
        alarm.acknowledged_by = user
        alarm.save(update_fields=["workflow", "acknowledged_at", "acknowledged_by"])
        _entry(alarm, action, at, user, note)
        audit.record(f"alarm.{action}", obj=alarm, after={"note": note})
        _changed(alarm, action, at)
    return alarm


def take(*, alarm_id: int, user: User) -> Alarm:
    """Take ownership of an alarm: it moves to in progress (acknowledging a new one)."""
    at = clock.now()
    with transaction.atomic():
        alarm = _locked(alarm_id)
        if alarm.workflow == Workflow.CLOSED:
            raise DomainError("alarms.closed", "the alarm is closed")
        if alarm.workflow == Workflow.NEW and alarm.condition == Condition.ACTIVE:
            raise DomainError(
                "alarms.source_active", "acknowledge the active alarm (forced) before taking it"
            )
        if alarm.acknowledged_at is None:
            alarm.acknowledged_at, alarm.acknowledged_by = at, user
        alarm.owner = user
        alarm.workflow = Workflow.IN_PROGRESS
        alarm.save(update_fields=["owner", "workflow", "acknowledged_at", "acknowledged_by"])
        _entry(alarm, AlarmAction.OWNED, at, user)
        audit.record("alarm.take", obj=alarm)
        _changed(alarm, "owned", at)
    return alarm


def add_note(*, alarm_id: int, user: User, text: str) -> AlarmEntry:
    """Add a note to an alarm's timeline."""
    text = text.strip()
    if not text:
        raise DomainError("alarms.note_required", "the note is empty")
    with transaction.atomic():
        alarm = _locked(alarm_id)
        entry = AlarmEntry.objects.create(
            alarm=alarm, at=clock.now(), action=AlarmAction.NOTE, user=user, text=text[:1000]
        )
        audit.record("alarm.note", obj=alarm)
    return entry


def call_up_cameras(*, alarm_id: int, user: User) -> list[dict[str, Any]]:
    """Return the cameras that can show the alarm point and note the call-up on its timeline."""
    from anbao.alarms import callup

    with transaction.atomic():
        alarm = _locked(alarm_id)
        if alarm.lon is None or alarm.lat is None:
            raise DomainError(
                "alarms.no_position", "the alarm has no position, so no camera can be aimed"
            )
        cameras = callup.cameras_for_point(alarm.event, alarm.lon, alarm.lat)
        if not cameras:
            raise DomainError("alarms.no_camera", "no camera can see the alarm point")
        text = "; ".join(
            f"{c['camera']} {c['distance_m']:.0f} m"
            + (f", pan {c['pan_deg']:.1f}°" if c["pan_deg"] is not None else "")
            + f", tilt {c['tilt_deg']:.1f}°"
            + (f", zoom {c['zoom']:.1f}x" if c["zoom"] is not None else "")
            for c in cameras
        )
        AlarmEntry.objects.create(
            alarm=alarm, at=clock.now(), action=AlarmAction.CAMERAS, user=user, text=text[:1000]
        )
        audit.record("alarm.cameras", obj=alarm, after={"cameras": [c["camera"] for c in cameras]})
    return cameras


def close(*, alarm_id: int, user: User, disposition: str, note: str = "") -> Alarm:
    """Close an alarm with a disposition; its source must have cleared."""
    if disposition not in Disposition.values:
        raise DomainError(
            "alarms.disposition_required",
            f"closing needs a disposition: {', '.join(Disposition.values)}",
        )
    at = clock.now()
    with transaction.atomic():
        alarm = _locked(alarm_id)
        if alarm.workflow == Workflow.CLOSED:
            raise DomainError("alarms.closed", "the alarm is already closed")
        if alarm.condition == Condition.ACTIVE:
            raise DomainError(
                "alarms.source_active", "the source is still active; it cannot be closed yet"
            )
        if alarm.acknowledged_at is None:
            alarm.acknowledged_at, alarm.acknowledged_by = at, user
        alarm.workflow = Workflow.CLOSED
        alarm.disposition = disposition
        alarm.closed_at, alarm.closed_by = at, user
        alarm.save(
            update_fields=[
                "workflow",
                "disposition",
                "closed_at",
                "closed_by",
                "acknowledged_at",
                "acknowledged_by",
            ]
        )
        _entry(alarm, AlarmAction.CLOSED, at, user, f"{disposition}: {note}".strip(": "))
        audit.record("alarm.close", obj=alarm, after={"disposition": disposition, "note": note})
        _changed(alarm, "closed", at)
    return alarm


def open_alarms(event: Event) -> QuerySet[Alarm]:
    """Return the alarms the console must show: not closed, or with an active source."""
    return (
        Alarm.objects.filter(event=event)
        .filter(~Q(workflow=Workflow.CLOSED) | Q(condition=Condition.ACTIVE))
        .select_related("segment", "section", "device")
        .order_by("priority", "-raised_at")
    )


def tick(event: Event, *, now: datetime | None = None) -> dict[str, int]:
    """Run the timers: clear momentary conditions, mark alarms overdue and escalate them."""
    now = now or clock.now()
    cleared = overdue = 0
    momentary = {
        (d.source_type, d.segment_id): d.momentary_clear_s
        for d in AlarmDefinition.objects.filter(event=event, momentary_clear_s__gt=0)
    }
    with transaction.atomic():
        candidates = (
            Alarm.objects.select_for_update()
            .filter(event=event, condition=Condition.ACTIVE)
            .exclude(workflow=Workflow.CLOSED)
            .select_related("event")
        )
        for alarm in candidates:
            quiet = momentary.get((alarm.source_type, alarm.segment_id)) or momentary.get(
                (alarm.source_type, None)
            )
            if quiet and (now - alarm.last_trigger_at).total_seconds() >= quiet:
                _clear_one(alarm, alarm.last_trigger_at + timedelta(seconds=quiet))
                cleared += 1
        late = (
            Alarm.objects.select_for_update()
            .filter(event=event, workflow=Workflow.NEW, ack_due_at__lte=now, test=False)
            .exclude(entries__action=AlarmAction.OVERDUE)
        )
        for alarm in late:
            _entry(alarm, AlarmAction.OVERDUE, now)
            _changed(alarm, "overdue", now)
            overdue += 1
        escalated = _escalate_unacknowledged(event, now)
    out = {"cleared": cleared, "overdue": overdue}
    if escalated:
        out["escalated"] = escalated
    return out


def tick_current(now: datetime) -> dict[str, int]:
    """Run the alarm timers of the current event (the housekeeping job)."""
    from anbao.sites import services as sites

    event = sites.current_event()
    return tick(event, now=now) if event is not None else {}


def _escalate_unacknowledged(event: Event, now: datetime) -> int:
    """Escalate alarms still new past their deadline: one level more per further interval.

    Level 1 comes with the overdue mark; the level is kept in ``details["escalation"]``. Returns
    how many alarms went up beyond level 1 (the first level is counted as overdue).
    """
    from anbao.incidents.engine import ALARM_LADDER, alarm_escalation_level, recipient
    from anbao.incidents.events import AlarmEscalated

    further = 0
    late = Alarm.objects.select_for_update().filter(
        event=event, workflow=Workflow.NEW, ack_due_at__lte=now, test=False
    )
    for alarm in late.select_related("event"):
        interval = (alarm.ack_due_at - alarm.raised_at).total_seconds()
        level = alarm_escalation_level(ack_due=alarm.ack_due_at, interval_s=interval, now=now)
        current = int((alarm.details.get("escalation") or {}).get("level", 0))
        if level <= current:
            continue
        role = recipient(ALARM_LADDER, level)
        alarm.details = {
            **alarm.details,
            "escalation": {"level": level, "recipient_role": role, "at": now.isoformat()},
        }
        alarm.save(update_fields=["details"])
        if current >= 1:
            further += 1
            # The first level rides on the overdue entry; each further level gets its own line.
            _entry(alarm, AlarmAction.OVERDUE, now, text=f"escalated to level {level}: {role}")
        else:
            AlarmEntry.objects.filter(alarm=alarm, action=AlarmAction.OVERDUE, text="").update(
                text=f"escalated to level {level}: {role}"
            )
        audit.record("alarm.escalate", obj=alarm, before={"level": current}, after={"level": level})
        bus.publish(
            AlarmEscalated(
                alarm_id=alarm.pk,
                number=alarm.number,
                event=event.code,
                level=level,
                recipient_role=role,
                at=now.isoformat(),
            )
        )
    return further
