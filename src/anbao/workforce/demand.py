"""Demand: shift templates, dated shifts, posts derived from the site, and the seats to fill.

A lane's post needs guards only while the lane is open (the screening domain keeps that
state); a planner's override replaces a derived count for the shifts it overlaps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from anbao.accounts.models import User
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.models import Checkpoint, Event, EventPhase, Lane, LaneKind, PerimeterSegment
from anbao.sites.models import PhaseKind as P
from anbao.workforce.models import (
    DemandOverride,
    Post,
    PostKind,
    PostNeed,
    Shift,
    ShiftTemplate,
    Skill,
)

#: Built-in shift patterns: code, local start time, hours.
TEMPLATES: dict[str, tuple[str, list[dict[str, object]]]] = {
    "3x8": (
        "3 x 8 h",
        [
            {"code": "M", "start": "06:00", "hours": 8},
            {"code": "A", "start": "14:00", "hours": 8},
            {"code": "N", "start": "22:00", "hours": 8},
        ],
    ),
    "2x12": (
        "2 x 12 h",
        [
            {"code": "D", "start": "08:00", "hours": 12},
            {"code": "N", "start": "20:00", "hours": 12},
        ],
    ),
}

#: Seats per lane by lane kind while the lane is open: (skill, count, gender).
LANE_NEEDS: dict[str, list[tuple[str, int, str]]] = {
    LaneKind.WTMD_XRAY: [(Skill.XRAY, 1, ""), (Skill.SEARCH, 1, ""), (Skill.SEARCH, 1, "female")],
    LaneKind.MANUAL: [(Skill.SEARCH, 1, ""), (Skill.SEARCH, 1, "female")],
    LaneKind.VEHICLE: [(Skill.VEHICLE, 1, ""), (Skill.LICENCE, 1, "")],
    LaneKind.VIP: [(Skill.XRAY, 1, ""), (Skill.ENGLISH, 1, "")],
    LaneKind.STAFF: [(Skill.SEARCH, 1, "")],
}
#: Lanes screen in rehearsal and on event days; build-up and tear-down need patrols only.
LANE_PHASES = (P.REHEARSAL, P.EVENT)
RESERVE_SEATS = 6


def _invalid(name: str, code: str, message: str) -> DomainError:
    return DomainError(code, message, 422, problems=[FieldProblem(name, message, code)])


def validate_pattern(pattern: object) -> list[dict[str, object]]:
    """Check a template's pattern (code, HH:MM start, 1 to 24 hours); return it normalised."""
    if not isinstance(pattern, list) or not pattern:
        raise _invalid("pattern", "workforce.bad_pattern", "A pattern is a non-empty list.")
    out: list[dict[str, object]] = []
    codes: set[str] = set()
    for i, item in enumerate(pattern):
        if not isinstance(item, dict):
            raise _invalid(f"pattern[{i}]", "workforce.bad_pattern", "Each shift is an object.")
        code = str(item.get("code", "")).strip()
        if not code or len(code) > 8 or code in codes:
            raise _invalid(
                f"pattern[{i}].code", "workforce.bad_pattern", "A unique code, ≤ 8 characters."
            )
        try:
            start = time.fromisoformat(str(item.get("start", "")))
            hours = float(str(item.get("hours", "")))
        except ValueError as exc:
            raise _invalid(
                f"pattern[{i}]", "workforce.bad_pattern", "start is HH:MM and hours a number."
            ) from exc
        if not 1 <= hours <= 24:
            raise _invalid(f"pattern[{i}].hours", "workforce.bad_pattern", "hours: 1 to 24.")
        codes.add(code)
        out.append({"code": code, "start": start.strftime("%H:%M"), "hours": hours})
    return out


def ensure_templates(event: Event) -> list[ShiftTemplate]:
    """Create the built-in templates for an event (idempotent)."""
    return [
        ShiftTemplate.objects.get_or_create(
            event=event, code=code, defaults={"name": name, "pattern": pattern}
        )[0]
        for code, (name, pattern) in TEMPLATES.items()
    ]


def phase_of(event: Event, day: date, phases: Sequence[EventPhase] | None = None) -> str:
    """Return the phase a local date falls in ("" outside every phase)."""
    for phase in phases if phases is not None else event.phases.all():
        if phase.start_date <= day <= phase.end_date:
            return phase.kind
    return ""


def generate_shifts(event: Event, template: ShiftTemplate, first: date, last: date) -> list[Shift]:
    """Create the dated shifts of ``template`` from ``first`` to ``last`` (idempotent)."""
    if last < first:
        raise _invalid("last", "workforce.bad_range", "The last day is before the first.")
    if (last - first).days > 120:
        raise _invalid("last", "workforce.bad_range", "At most 120 days at once.")
    pattern = validate_pattern(template.pattern)
    tz = ZoneInfo(event.time_zone)
    phases = list(event.phases.all())
    made: list[Shift] = []
    with transaction.atomic():
        day = first
        while day <= last:
            for item in pattern:
                start = datetime.combine(day, time.fromisoformat(str(item["start"])), tzinfo=tz)
                end = start + timedelta(hours=float(str(item["hours"])))
                shift, _ = Shift.objects.get_or_create(
                    event=event,
                    start=start,
                    code=str(item["code"]),
                    defaults={
                        "template": template,
                        "day": day,
                        "end": end,
                        "phase": phase_of(event, day, phases),
                    },
                )
                made.append(shift)
            day += timedelta(days=1)
    return made


def _post(event: Event, code: str, **values: object) -> Post:
    post, _ = Post.objects.update_or_create(event=event, code=code, defaults=values)
    return post


def derive_posts(event: Event) -> list[Post]:
    """Create the posts the site implies: lanes, checkpoint leaders, patrols, command, reserve."""
    posts: list[Post] = []
    with transaction.atomic():
        for cp in Checkpoint.objects.filter(event=event).order_by("code"):
            place = {"place_code": cp.code, "place_name": cp.name, "place_name_en": cp.name_en}
            lead = _post(
                event,
                f"{cp.code}-lead",
                name=f"{cp.name} 带班",
                name_en=f"{cp.name_en or cp.code} team leader",
                kind=PostKind.LANE,
                checkpoint=cp,
                lon=cp.lon,
                lat=cp.lat,
                **place,
            )
            if not lead.needs.exists():
                PostNeed.objects.create(post=lead, skill=Skill.LEADER, count=1)
            posts.append(lead)
            for lane in Lane.objects.filter(checkpoint=cp).order_by("code"):
                post = _post(
                    event,
                    f"{cp.code}-{lane.code}",
                    name=f"{cp.name} {lane.name}",
                    name_en=f"{cp.name_en or cp.code} {lane.name}",
                    kind=PostKind.LANE,
                    checkpoint=cp,
                    lane=lane,
                    lon=lane.lon if lane.lon is not None else cp.lon,
                    lat=lane.lat if lane.lat is not None else cp.lat,
                    **place,
                )
                if not post.needs.exists():
                    for phase in LANE_PHASES:
                        for skill, count, gender in LANE_NEEDS.get(lane.kind, []):
                            PostNeed.objects.create(
                                post=post, phase=phase, skill=skill, count=count, gender=gender
                            )
                posts.append(post)
        for seg in PerimeterSegment.objects.filter(event=event).order_by("code"):
            coords = (seg.geometry or {}).get("coordinates") or [[None, None]]
            mid = coords[len(coords) // 2]
            post = _post(
                event,
                f"patrol-{seg.code}",
                name=f"{seg.name} 巡逻",
                name_en=f"{seg.name_en or seg.code} patrol",
                kind=PostKind.PATROL,
                place_code=f"perimeter-{seg.code}",
                place_name=seg.name,
                place_name_en=seg.name_en,
                lon=mid[0],
                lat=mid[1],
            )
            if not post.needs.exists():
                PostNeed.objects.create(post=post, skill=Skill.LICENCE, count=1)
            posts.append(post)
        cp0 = Checkpoint.objects.filter(event=event).order_by("code").first()
        lon, lat = (cp0.lon, cp0.lat) if cp0 else (None, None)
        command = _post(
            event,
            "command",
            name="指挥中心值班",
            name_en="Command centre duty",
            kind=PostKind.COMMAND,
            place_code="command",
            place_name="指挥中心",
            place_name_en="Command centre",
            lon=lon,
            lat=lat,
        )
        if not command.needs.exists():
            PostNeed.objects.create(post=command, skill=Skill.LEADER, count=1)
            PostNeed.objects.create(post=command, skill=Skill.LICENCE, count=1)
        posts.append(command)
        reserve = _post(
            event,
            "reserve",
            name="机动力量",
            name_en="Reserve force",
            kind=PostKind.RESERVE,
            place_code="reserve",
            place_name="机动力量驻地",
            place_name_en="Reserve base",
            lon=lon,
            lat=lat,
        )
        if not reserve.needs.exists():
            PostNeed.objects.create(
                post=reserve, skill=Skill.LICENCE, count=RESERVE_SEATS, soft=True
            )
        posts.append(reserve)
    return posts


@dataclass(frozen=True)
class Seat:
    """``count`` guards with ``skill`` (and ``gender``) wanted on a post in a shift."""

    post_id: int
    shift_id: int
    skill: str
    gender: str
    count: int
    soft: bool
    source: str  # "need", "override" or "closed_lane"


def _in_window(need: PostNeed, shift: Shift, tz: ZoneInfo) -> bool:
    if need.from_time is None or need.to_time is None:
        return True
    local = shift.start.astimezone(tz)
    start = datetime.combine(local.date(), need.from_time, tzinfo=tz)
    end = datetime.combine(local.date(), need.to_time, tzinfo=tz)
    if end <= start:
        end += timedelta(days=1)
    return start < shift.end and shift.start < end


def seats(event: Event, shifts: Iterable[Shift], *, now: datetime | None = None) -> list[Seat]:
    """Return every seat to fill in ``shifts``: needs by phase and window, open lanes, overrides."""
    from anbao.screening.models import LaneState

    now = now or clock.now()
    tz = ZoneInfo(event.time_zone)
    shifts = list(shifts)
    closed = set(LaneState.objects.filter(is_open=False).values_list("lane_id", flat=True))
    needs = list(
        PostNeed.objects.filter(post__event=event, post__active=True).select_related("post")
    )
    overrides = list(DemandOverride.objects.filter(post__event=event))
    out: list[Seat] = []
    for shift in shifts:
        keys: dict[tuple[int, str, str], Seat] = {}
        for need in needs:
            if need.phase and need.phase != shift.phase:
                continue
            if not _in_window(need, shift, tz):
                continue
            count, source = need.count, "need"
            # A closed lane needs no one for shifts still to come; the past stays as it was.
            if need.post.lane_id in closed and shift.end > now:
                count, source = 0, "closed_lane"
            key = (need.post_id, need.skill, need.gender)
            prev = keys.get(key)
            total = count + (prev.count if prev else 0)
            keys[key] = Seat(
                need.post_id, shift.pk, need.skill, need.gender, total, need.soft, source
            )
        for o in overrides:
            if o.start < shift.end and shift.start < o.end:
                keys[(o.post_id, o.skill, o.gender)] = Seat(
                    o.post_id, shift.pk, o.skill, o.gender, o.count, False, "override"
                )
        out.extend(s for s in keys.values() if s.count > 0)
    return out


def add_override(
    post: Post,
    *,
    skill: str,
    count: int,
    start: datetime,
    end: datetime,
    gender: str = "",
    reason: str = "",
    user: User | None = None,
) -> DemandOverride:
    """Override a post's need for a time range (validated, audited)."""
    if skill not in Skill.values:
        raise _invalid("skill", "workforce.unknown_skill", f"Unknown skill {skill!r}.")
    if gender not in ("", "female", "male"):
        raise _invalid("gender", "workforce.bad_gender", "gender: female, male or empty.")
    if not 0 <= count <= 50:
        raise _invalid("count", "workforce.bad_count", "count: 0 to 50.")
    if end <= start:
        raise _invalid("end", "workforce.bad_range", "The end must be after the start.")
    row = DemandOverride.objects.create(
        post=post,
        skill=skill,
        gender=gender,
        count=count,
        start=start,
        end=end,
        reason=reason[:200],
        created_by=user if user is not None and user.pk else None,
        created_at=clock.now(),
    )
    audit.record(
        "workforce.demand_override",
        obj=row,
        after={"post": post.code, "skill": skill, "count": count, "start": start.isoformat()},
    )
    return row
