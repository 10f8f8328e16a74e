"""Alarm configuration: definitions, arming schedules, bypass and test mode, walk tests."""

from __future__ import annotations

import re
from datetime import datetime
from datetime import time as dtime
from typing import Any

from django.db import transaction

from anbao.accounts.models import User
from anbao.alarms import services
from anbao.alarms.models import (
    AlarmDefinition,
    AutoAck,
    DroneWhitelist,
    OverrideMode,
    SectionSettings,
    SourceOverride,
    SourceType,
    Unconfirmed,
    WalkTest,
)
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.sites.models import AlarmSection, Device, Event, PerimeterSegment

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SOURCE_KEY = re.compile(
    r"^(segment:[-A-Za-z0-9_]+|section:[-A-Za-z0-9_]+/[-A-Za-z0-9_]+|device:[A-Za-z0-9][A-Za-z0-9_.:-]{0,63})$"
)


def _check_arming(windows: Any) -> list[dict[str, str]]:
    if not isinstance(windows, list):
        raise DomainError("alarms.bad_arming", "arming must be a list of windows")
    out = []
    for i, w in enumerate(windows):
        if not isinstance(w, dict) or set(w) != {"start", "end"}:
            raise DomainError(
                "alarms.bad_arming",
                "each arming window needs start and end",
                problems=[FieldProblem(f"arming[{i}]", "needs exactly start and end (HH:MM)")],
            )
        try:
            start, end = dtime.fromisoformat(str(w["start"])), dtime.fromisoformat(str(w["end"]))
        except ValueError as exc:
            raise DomainError(
                "alarms.bad_arming",
                "arming times are HH:MM",
                problems=[FieldProblem(f"arming[{i}]", str(exc))],
            ) from exc
        if start == end:
            raise DomainError(
                "alarms.bad_arming",
                "an arming window cannot start and end at the same time",
                problems=[FieldProblem(f"arming[{i}]", "start equals end")],
            )
        out.append({"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")})
    return out


def set_definition(
    *,
    event: Event,
    source_type: str,
    segment_code: str | None = None,
    priority: int,
    colour: str,
    sound: str,
    suppression_s: int,
    momentary_clear_s: int,
    auto_ack: str,
    arming: list[dict[str, str]],
    ack_within_s: int,
) -> AlarmDefinition:
    """Create or update the definition of a source type, event-wide or for one segment."""
    problems = []
    if source_type not in SourceType.values:
        problems.append(FieldProblem("source_type", f"unknown source type {source_type!r}"))
    if not 1 <= priority <= 4:
        problems.append(FieldProblem("priority", "1 (critical) to 4 (low)"))
    if not _COLOUR.match(colour):
        problems.append(FieldProblem("colour", "a colour like #d32f2f"))
    if auto_ack not in AutoAck.values:
        problems.append(FieldProblem("auto_ack", f"one of {', '.join(AutoAck.values)}"))
    for name, value in (
        ("suppression_s", suppression_s),
        ("momentary_clear_s", momentary_clear_s),
        ("ack_within_s", ack_within_s),
    ):
        if not 0 <= value <= 86_400:
            problems.append(FieldProblem(name, "0 to 86400 seconds"))
    if problems:
        raise DomainError(
            "alarms.bad_definition", "the alarm definition is not valid", problems=problems
        )
    windows = _check_arming(arming)
    segment = None
    if segment_code:
        segment = PerimeterSegment.objects.filter(event=event, code=segment_code).first()
        if segment is None:
            raise NotFound("alarms.unknown_segment", f"no perimeter segment {segment_code}")
    with transaction.atomic():
        services.ensure_definitions(event)
        definition, _ = AlarmDefinition.objects.update_or_create(
            event=event,
            source_type=source_type,
            segment=segment,
            defaults={
                "priority": priority,
                "colour": colour,
                "sound": sound[:40],
                "suppression_s": suppression_s,
                "momentary_clear_s": momentary_clear_s,
                "auto_ack": auto_ack,
                "arming": windows,
                "ack_within_s": ack_within_s,
            },
        )
        audit.record("alarm_definition.set", obj=definition, after={"arming": windows})
    services.forget_cached()
    return definition


def _check_key(event: Event, key: str) -> None:
    if not _SOURCE_KEY.match(key):
        raise DomainError(
            "alarms.bad_source_key",
            "a source is segment:CODE, section:SEGMENT/CODE or device:ID",
            problems=[FieldProblem("source_key", key[:120])],
        )
    kind, _, ref = key.partition(":")
    if kind == "segment":
        ok = PerimeterSegment.objects.filter(event=event, code=ref).exists()
    elif kind == "section":
        seg, _, sec = ref.partition("/")
        ok = AlarmSection.objects.filter(segment__event=event, segment__code=seg, code=sec).exists()
    else:
        ok = Device.objects.filter(event=event, external_id=ref).exists()
    if not ok:
        raise NotFound("alarms.unknown_source", f"no such source {key}")


def start_override(
    *,
    event: Event,
    source_key: str,
    mode: str,
    ends_at: datetime,
    reason: str,
    user: User,
    starts_at: datetime | None = None,
) -> SourceOverride:
    """Bypass a source for maintenance, or put it in test mode, until ``ends_at``."""
    if mode not in OverrideMode.values:
        raise DomainError("alarms.bad_mode", f"mode is one of {', '.join(OverrideMode.values)}")
    if not reason.strip():
        raise DomainError("alarms.reason_required", "say why the source is bypassed or tested")
    _check_key(event, source_key)
    start = starts_at or clock.now()
    if ends_at <= start:
        raise DomainError("alarms.bad_window", "the end must be after the start")
    if (ends_at - start).total_seconds() > 7 * 86_400:
        raise DomainError("alarms.bad_window", "a bypass or test lasts at most 7 days")
    with transaction.atomic():
        row = SourceOverride.objects.create(
            event=event,
            source_key=source_key,
            mode=mode,
            starts_at=start,
            ends_at=ends_at,
            reason=reason.strip()[:300],
            created_by=user,
        )
        audit.record(f"alarm_override.{mode}", obj=row, after={"source": source_key})
    services.forget_cached()
    return row


def end_override(*, override_id: int, user: User) -> SourceOverride:
    """End a bypass or test mode early."""
    with transaction.atomic():
        row = SourceOverride.objects.select_for_update().filter(pk=override_id).first()
        if row is None:
            raise NotFound("alarms.unknown_override", f"no override {override_id}")
        if row.ended_at is None:
            row.ended_at = clock.now()
            row.save(update_fields=["ended_at"])
            audit.record("alarm_override.end", obj=row)
    services.forget_cached()
    return row


def record_walk_test(
    *,
    event: Event,
    segment_code: str,
    section_code: str,
    detected: list[bool],
    user: User,
    method: str = "walk",
    note: str = "",
) -> int:
    """Record the passes of a walk test over one section; return how many were stored."""
    if not detected:
        raise DomainError("alarms.no_passes", "a walk test records at least one pass")
    if len(detected) > 500:
        raise DomainError("alarms.too_many_passes", "at most 500 passes per record")
    section = AlarmSection.objects.filter(
        segment__event=event, segment__code=segment_code, code=section_code
    ).first()
    if section is None:
        raise NotFound("alarms.unknown_section", f"no section {segment_code}/{section_code}")
    now = clock.now()
    with transaction.atomic():
        WalkTest.objects.bulk_create(
            WalkTest(
                section=section,
                at=now,
                detected=bool(d),
                method=method[:40],
                recorded_by=user,
                note=note[:300],
            )
            for d in detected
        )
        audit.record(
            "walk_test.record",
            obj=section,
            after={"passes": len(detected), "detected": sum(map(bool, detected))},
        )
    return len(detected)


def set_section_settings(
    *,
    event: Event,
    segment_code: str,
    section_code: str | None,
    sensitivity_offset: float,
    unconfirmed: str,
    swinger_limit: int | None,
    wind_sensitive: bool,
    gust_threshold_mps: float,
    base_priority: int,
) -> SectionSettings:
    """Set the nuisance control of a segment, or of one of its sections."""
    problems = []
    if unconfirmed not in Unconfirmed.values:
        problems.append(FieldProblem("unconfirmed", f"one of {', '.join(Unconfirmed.values)}"))
    if not -100 <= sensitivity_offset <= 100:
        problems.append(FieldProblem("sensitivity_offset", "-100 to 100"))
    if swinger_limit is not None and not 1 <= swinger_limit <= 1000:
        problems.append(FieldProblem("swinger_limit", "1 to 1000, or none for no limit"))
    if not 0 <= gust_threshold_mps <= 80:
        problems.append(FieldProblem("gust_threshold_mps", "0 to 80 m/s"))
    if not 1 <= base_priority <= 4:
        problems.append(FieldProblem("base_priority", "1 (critical) to 4 (low)"))
    if problems:
        raise DomainError(
            "alarms.bad_section_settings", "the section settings are not valid", problems=problems
        )
    segment = PerimeterSegment.objects.filter(event=event, code=segment_code).first()
    if segment is None:
        raise NotFound("alarms.unknown_segment", f"no perimeter segment {segment_code}")
    section = None
    if section_code:
        section = AlarmSection.objects.filter(segment=segment, code=section_code).first()
        if section is None:
            raise NotFound("alarms.unknown_section", f"no section {segment_code}/{section_code}")
    with transaction.atomic():
        row, _ = SectionSettings.objects.update_or_create(
            segment=segment,
            section=section,
            defaults={
                "sensitivity_offset": sensitivity_offset,
                "unconfirmed": unconfirmed,
                "swinger_limit": swinger_limit,
                "wind_sensitive": wind_sensitive,
                "gust_threshold_mps": gust_threshold_mps,
                "base_priority": base_priority,
            },
        )
        audit.record("alarm_section_settings.set", obj=row, after=audit.snapshot(row))
    return row


def authorise_drone(
    *,
    event: Event,
    serial: str,
    owner: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> DroneWhitelist:
    """Whitelist a drone by its Remote ID serial (the organiser's, media, police)."""
    serial = serial.strip()
    if not re.fullmatch(r"[A-Za-z0-9.-]{4,20}", serial):
        raise DomainError(
            "alarms.bad_serial",
            "a Remote ID serial is 4 to 20 letters, digits, dots or dashes",
            problems=[FieldProblem("serial", serial[:40])],
        )
    if not owner.strip():
        raise DomainError("alarms.owner_required", "say whose drone it is")
    if valid_from and valid_until and valid_from >= valid_until:
        raise DomainError("alarms.bad_window", "valid_from must be before valid_until")
    with transaction.atomic():
        row, _ = DroneWhitelist.objects.update_or_create(
            event=event,
            serial=serial,
            defaults={
                "owner": owner.strip()[:200],
                "valid_from": valid_from,
                "valid_until": valid_until,
            },
        )
        audit.record("drone_whitelist.set", obj=row, after={"serial": serial, "owner": owner})
    return row
