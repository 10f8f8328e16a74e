"""Training that grants or renews qualifications, the equipment inventory, commendations."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from anbao.accounts.models import User
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.models import Event, Lane
from anbao.workforce.models import (
    Attendance,
    AttendanceResult,
    Commendation,
    Course,
    EquipmentEvent,
    EquipmentItem,
    Guard,
    InventoryKind,
    InventoryStatus,
    Qualification,
    TrainingSession,
)

#: Built-in courses: code, zh, en, skill granted, validity in days.
COURSES = [
    ("english-screeners", "安检员英语口语", "Spoken English for screeners", "english", 730),
    ("screening-standard", "标准安检技能", "Standard screening skills", "search", 365),
    ("xray-image", "X光机判图", "X-ray image interpretation", "xray", 365),
    ("canine-refresher", "警犬复训", "Canine refresher", "canine", 180),
    ("first-aid", "现场急救", "First aid", "first_aid", 730),
]


def _bad(field: str, code: str, message: str, status: int = 422) -> DomainError:
    return DomainError(code, message, status, problems=[FieldProblem(field, message, code)])


def _actor(user: User | None) -> User | None:
    return user if getattr(user, "pk", None) else None


def ensure_courses() -> list[Course]:
    """Create the built-in courses (idempotent)."""
    return [
        Course.objects.get_or_create(
            code=code, defaults={"name": zh, "name_en": en, "grants": skill, "validity_days": days}
        )[0]
        for code, zh, en, skill, days in COURSES
    ]


def schedule_session(
    course: Course, *, start: datetime, end: datetime, place: str = "", trainer: str = ""
) -> TrainingSession:
    """Plan a dated session of a course."""
    if end <= start:
        raise _bad("end", "workforce.bad_range", "The end must be after the start.")
    row = TrainingSession.objects.create(
        course=course, start=start, end=end, place=place[:120], trainer=trainer[:100]
    )
    audit.record("workforce.training_scheduled", obj=row, after={"course": course.code})
    return row


def record_attendance(
    session: TrainingSession,
    guard: Guard,
    *,
    result: str,
    score: int | None = None,
    user: User | None = None,
) -> Attendance:
    """Record a guard's result; a pass grants or renews the course's qualification."""
    if result not in AttendanceResult.values:
        raise _bad(
            "result", "workforce.bad_result", f"result: {', '.join(AttendanceResult.values)}."
        )
    if score is not None and not 0 <= score <= 100:
        raise _bad("score", "workforce.bad_score", "score: 0 to 100.")
    course = session.course
    if result == AttendanceResult.PASSED and score is not None and score < course.pass_mark:
        raise _bad(
            "score",
            "workforce.below_pass_mark",
            f"A pass needs at least {course.pass_mark}; the score is {score}.",
        )
    with transaction.atomic():
        granted = None
        if result == AttendanceResult.PASSED and course.grants:
            day = session.end.date()
            expires = day + timedelta(days=course.validity_days) if course.validity_days else None
            granted, _ = Qualification.objects.update_or_create(
                guard=guard,
                skill=course.grants,
                defaults={
                    "expires": expires,
                    "issued": day,
                    "certificate_no": f"{course.code}-{session.pk}",
                },
            )
        row, _ = Attendance.objects.update_or_create(
            session=session,
            guard=guard,
            defaults={
                "result": result,
                "score": score,
                "granted": granted,
                "recorded_at": clock.now(),
                "recorded_by": _actor(user),
            },
        )
        audit.record(
            "workforce.training_result",
            obj=row,
            after={
                "guard": guard.employee_no,
                "course": course.code,
                "result": result,
                "granted": course.grants if granted else None,
                "expires": granted.expires.isoformat() if granted and granted.expires else None,
            },
        )
    return row


# --- equipment ------------------------------------------------------------------------------

#: Inventory kinds shown on a lane's equipment panel, and the screening kind they appear as.
_LANE_KIND = {
    InventoryKind.XRAY: "xray",
    InventoryKind.WTMD: "wtmd",
    InventoryKind.HANDHELD: "handheld",
    InventoryKind.UVSS: "uvss",
    InventoryKind.BARRIER: "other",
    InventoryKind.RADIO: "other",
}


def _push_to_lane(item: EquipmentItem, lane: Lane, status: str, user: User | None) -> None:
    from anbao.screening import lanes

    shown = "maintenance" if status == InventoryStatus.RETIRED else status
    lanes.set_equipment(
        lane,
        kind=_LANE_KIND[InventoryKind(item.kind)],
        label=item.asset_no,
        status=shown,
        note=item.note,
        user=None,
    )


def add_item(*, asset_no: str, kind: str, model: str = "", serial_no: str = "") -> EquipmentItem:
    """Register an item of equipment."""
    if kind not in InventoryKind.values:
        raise _bad("kind", "workforce.bad_kind", f"kind: {', '.join(InventoryKind.values)}.")
    asset_no = asset_no.strip()
    if not asset_no or len(asset_no) > 40:
        raise _bad("asset_no", "workforce.bad_asset_no", "asset_no: 1 to 40 characters.")
    if EquipmentItem.objects.filter(asset_no=asset_no).exists():
        raise _bad("asset_no", "workforce.duplicate", f"{asset_no} is already registered.", 409)
    item = EquipmentItem.objects.create(
        asset_no=asset_no, kind=kind, model=model[:100], serial_no=serial_no[:60]
    )
    audit.record("workforce.equipment_added", obj=item, after={"kind": kind})
    return item


def assign_item(
    item: EquipmentItem, lane: Lane | None, *, user: User | None = None
) -> EquipmentItem:
    """Assign an item to a lane (or take it back to the store); the lane shows its state."""
    if item.status == InventoryStatus.RETIRED and lane is not None:
        raise _bad("lane", "workforce.retired", f"{item.asset_no} is retired.", 409)
    with transaction.atomic():
        old = item.lane
        item.lane = lane
        item.save(update_fields=["lane"])
        EquipmentEvent.objects.create(
            item=item,
            what="assigned" if lane else "returned",
            lane_code=str(lane or ""),
            status=item.status,
            at=clock.now(),
            by=_actor(user),
        )
        if old is not None and old != lane:
            from anbao.screening.models import LaneEquipment

            LaneEquipment.objects.filter(lane=old, label=item.asset_no).delete()
        if lane is not None:
            _push_to_lane(item, lane, item.status, user)
        audit.record(
            "workforce.equipment_assigned", obj=item, after={"lane": str(lane) if lane else None}
        )
    return item


def report_status(
    item: EquipmentItem, *, status: str, note: str = "", user: User | None = None
) -> EquipmentItem:
    """Record a fault, maintenance, a repair or retirement; the lane shows it at once."""
    if status not in InventoryStatus.values:
        raise _bad(
            "status", "workforce.bad_status", f"status: {', '.join(InventoryStatus.values)}."
        )
    if status in (InventoryStatus.FAULT, InventoryStatus.MAINTENANCE) and not note.strip():
        raise _bad("note", "workforce.note_required", "Describe the fault or the maintenance.")
    what = {"ok": "repaired", "fault": "fault", "maintenance": "maintenance", "retired": "retired"}[
        status
    ]
    with transaction.atomic():
        item.status = status
        item.note = note.strip()[:200]
        item.save(update_fields=["status", "note"])
        EquipmentEvent.objects.create(
            item=item,
            what=what,
            lane_code=str(item.lane or ""),
            status=status,
            note=item.note,
            at=clock.now(),
            by=_actor(user),
        )
        if item.lane is not None:
            _push_to_lane(item, item.lane, status, user)
        audit.record(
            "workforce.equipment_status", obj=item, after={"status": status, "note": item.note}
        )
    return item


# --- commendations ----------------------------------------------------------------------------


def commend(
    event: Event, guard: Guard, *, what: str, when: datetime, where: str, user: User | None = None
) -> Commendation:
    """Record a good deed (好人好事)."""
    if not what.strip():
        raise _bad("what", "workforce.required", "Say what the guard did.")
    if not where.strip():
        raise _bad("where", "workforce.required", "Say where it happened.")
    if when > clock.now() + timedelta(minutes=5):
        raise _bad("when", "workforce.in_future", "A good deed cannot be in the future.")
    row = Commendation.objects.create(
        event=event,
        guard=guard,
        what=what.strip()[:4000],
        when=when,
        where=where.strip()[:120],
        recorded_by=_actor(user),
        recorded_at=clock.now(),
    )
    audit.record("workforce.commendation", obj=row, after={"guard": guard.employee_no})
    return row
