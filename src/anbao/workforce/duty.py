"""Duty: check-in and check-out at the post, missed check-in alerts, planned against actual.

A guard checks in by having the badge scanned on the leader's device (the badge's signature
is verified the same way a gate does) or on the guard's own phone through a personal signed
link. The roster says which post and shift the guard is expected at.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q

from anbao.accounts.models import User
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.sites.models import Event
from anbao.workforce.events import DutyAlertRaised, DutyChecked
from anbao.workforce.models import (
    Assignment,
    CheckMethod,
    DutyAlert,
    DutyAlertKind,
    DutyRecord,
    Guard,
)

#: How early before a shift a guard may check in.
EARLY = timedelta(minutes=60)
#: Minutes after the shift's start before a missing check-in raises an alert.
DEFAULT_GRACE_MINUTES = 15
_LINK_SALT = "anbao.workforce.duty-link"


def _bad(field: str, code: str, message: str, status: int = 422) -> DomainError:
    return DomainError(code, message, status, problems=[FieldProblem(field, message, code)])


def guard_from_badge(qr_text: str) -> Guard:
    """Verify a scanned badge and return the guard it belongs to."""
    from anbao.accreditation import keystore
    from anbao.accreditation.credentials.errors import CredentialError
    from anbao.accreditation.credentials.verifier import authenticate
    from anbao.accreditation.models import IssuedCredential

    text = (qr_text or "").strip()
    if not text or len(text) > 4096:
        raise _bad("qr", "workforce.bad_qr", "The scanned text is empty or too long.")
    try:
        claims = authenticate(text, trust_list=keystore.loaded_trust_list(), now=clock.now())
    except CredentialError as exc:
        if exc.reason.value == "malformed":
            raise _bad("qr", "workforce.bad_qr", "This is not an anbao badge.") from exc
        raise _bad(
            "qr", f"workforce.badge_{exc.reason.value}", f"Badge refused: {exc.reason.value}."
        ) from exc
    except Exception as exc:  # a malformed QR is the scanner's problem, not a crash
        raise _bad("qr", "workforce.bad_qr", "This is not an anbao badge.") from exc
    cred = (
        IssuedCredential.objects.filter(cid=claims.cid.hex())
        .select_related("accreditation")
        .first()
    )
    if cred is None or cred.accreditation is None:
        raise _bad("qr", "workforce.unknown_badge", "No badge with this number was issued.", 404)
    if cred.revoked_at is not None:
        raise _bad("qr", "workforce.badge_revoked", "This badge has been revoked.", 409)
    guard = Guard.objects.filter(person_id=cred.accreditation.person_id, active=True).first()
    if guard is None:
        raise _bad("qr", "workforce.not_a_guard", "The badge holder is not on the guard roll.", 404)
    return guard


def expected_assignment(guard: Guard, at: datetime) -> Assignment | None:
    """Return the guard's rostered seat running at ``at`` (or starting within the hour)."""
    return (
        Assignment.objects.filter(guard=guard, shift__start__lte=at + EARLY, shift__end__gt=at)
        .select_related("shift", "post", "event")
        .order_by("shift__start")
        .first()
    )


@dataclass
class CheckResult:
    """The answer to a check-in or check-out scan."""

    action: str
    record: DutyRecord
    late_minutes: int

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        r = self.record
        return {
            "action": self.action,
            "guard": r.guard.employee_no,
            "name": r.guard.name,
            "post": r.post.code,
            "post_name": r.post.name,
            "post_name_en": r.post.name_en,
            "shift": str(r.shift),
            "check_in_at": r.check_in_at.isoformat(),
            "check_out_at": r.check_out_at.isoformat() if r.check_out_at else None,
            "late_minutes": self.late_minutes,
        }


def check(
    guard: Guard, *, method: str, user: User | None = None, at: datetime | None = None
) -> CheckResult:
    """Check the guard in at the rostered post, or out if already on duty."""
    if method not in CheckMethod.values:
        raise _bad("method", "workforce.bad_method", f"Unknown method {method!r}.")
    at = at or clock.now()
    actor = user if getattr(user, "pk", None) else None
    open_record = (
        DutyRecord.objects.filter(guard=guard, check_out_at__isnull=True)
        .select_related("shift", "post", "guard")
        .first()
    )
    if open_record is not None:
        open_record.check_out_at = at
        open_record.check_out_method = method
        open_record.check_out_by = actor
        open_record.save(update_fields=["check_out_at", "check_out_method", "check_out_by"])
        _announce(open_record, "out", method, at)
        return CheckResult("out", open_record, 0)
    seat = expected_assignment(guard, at)
    if seat is None:
        raise _bad(
            "guard",
            "workforce.not_rostered",
            f"{guard.employee_no} {guard.name} is not rostered now.",
            409,
        )
    try:
        with transaction.atomic():
            record = DutyRecord.objects.create(
                event=seat.event,
                guard=guard,
                shift=seat.shift,
                post=seat.post,
                assignment=seat,
                check_in_at=at,
                check_in_method=method,
                check_in_by=actor,
            )
    except IntegrityError as exc:
        raise _bad(
            "guard",
            "workforce.shift_already_done",
            f"{guard.employee_no} already checked in and out of this shift.",
            409,
        ) from exc
    DutyAlert.objects.filter(assignment=seat, resolved_at__isnull=True).update(
        resolved_at=at, resolution="checked in"
    )
    late = max(0, int((at - seat.shift.start).total_seconds() // 60))
    _announce(record, "in", method, at)
    return CheckResult("in", record, late)


def _announce(record: DutyRecord, action: str, method: str, at: datetime) -> None:
    audit.record(
        f"workforce.duty_{action}",
        obj=record,
        after={"guard": record.guard.employee_no, "post": record.post.code, "method": method},
    )
    bus.publish(
        DutyChecked(
            record.guard.employee_no,
            record.post.code,
            record.shift_id,
            action,
            method,
            at.isoformat(),
        )
    )


def personal_link_token(guard: Guard) -> str:
    """Return the signed token of a guard's own-phone check-in link."""
    return signing.dumps({"g": guard.pk}, salt=_LINK_SALT)


def guard_from_link(token: str, *, max_age_days: int = 60) -> Guard:
    """Return the guard a personal link token names, or raise a coded error."""
    try:
        data = signing.loads(token, salt=_LINK_SALT, max_age=timedelta(days=max_age_days))
    except signing.BadSignature as exc:
        raise DomainError("workforce.bad_link", "This check-in link is not valid.", 403) from exc
    guard = Guard.objects.filter(pk=data.get("g"), active=True).first()
    if guard is None:
        raise NotFound("workforce.unknown_guard", "This guard is no longer on the roll.")
    return guard


def raise_missed_alerts(
    event: Event, *, grace_minutes: int = DEFAULT_GRACE_MINUTES, at: datetime | None = None
) -> list[DutyAlert]:
    """Raise an alert for every rostered guard not checked in ``grace_minutes`` into the shift."""
    at = at or clock.now()
    due = (
        Assignment.objects.filter(
            event=event,
            shift__start__lte=at - timedelta(minutes=grace_minutes),
            shift__end__gt=at,
        )
        .exclude(post__kind="reserve")
        .exclude(duty_records__isnull=False)
        .exclude(alerts__kind=DutyAlertKind.NOT_CHECKED_IN)
        .select_related("guard", "post", "shift")
    )
    raised: list[DutyAlert] = []
    for seat in due:
        try:
            with transaction.atomic():
                alert = DutyAlert.objects.create(
                    event=event, assignment=seat, kind=DutyAlertKind.NOT_CHECKED_IN, raised_at=at
                )
        except IntegrityError:
            continue  # raised by a concurrent run
        raised.append(alert)
        minutes = int((at - seat.shift.start).total_seconds() // 60)
        bus.publish(
            DutyAlertRaised(
                alert.pk, seat.guard.employee_no, seat.post.code, seat.shift_id, minutes
            )
        )
    if raised:
        audit.record(
            "workforce.duty_alerts_raised",
            object_type="workforce.DutyAlert",
            after={"count": len(raised)},
        )
    return raised


def resolve_alert(alert: DutyAlert, *, resolution: str, user: User | None) -> DutyAlert:
    """Close an alert with what was done (replacement sent, guard reached, ...)."""
    if alert.resolved_at is not None:
        raise DomainError("workforce.alert_closed", "This alert is already resolved.", 409)
    text = resolution.strip()
    if not text:
        raise _bad("resolution", "workforce.resolution_required", "Say what was done.")
    alert.resolved_at = clock.now()
    alert.resolution = text[:200]
    alert.resolved_by = user if getattr(user, "pk", None) else None
    alert.save(update_fields=["resolved_at", "resolution", "resolved_by"])
    audit.record("workforce.duty_alert_resolved", obj=alert, after={"resolution": alert.resolution})
    return alert


@dataclass
class HoursRow:
    """Planned against actual hours for one guard (or post)."""

    key: str
    name: str
    planned: float
    actual: float
    shifts_planned: int
    shifts_worked: int

    @property
    def difference(self) -> float:
        """Return actual minus planned hours."""
        return round(self.actual - self.planned, 2)


def planned_vs_actual(
    event: Event, *, first: datetime, last: datetime, by: str = "guard"
) -> list[HoursRow]:
    """Sum planned (rostered) and actual (checked in to out) hours per guard or per post."""
    if by not in ("guard", "post"):
        raise _bad("by", "workforce.bad_grouping", "by: guard or post.")
    if last <= first:
        raise _bad("to", "workforce.bad_range", "The end must be after the start.")
    rows: dict[str, HoursRow] = {}
    plan = Assignment.objects.filter(event=event, shift__start__gte=first, shift__start__lt=last)
    plan = plan.exclude(post__kind="reserve").select_related("guard", "post", "shift")
    for a in plan:
        key, name = (
            (a.guard.employee_no, a.guard.name) if by == "guard" else (a.post.code, a.post.name)
        )
        row = rows.setdefault(key, HoursRow(key, name, 0.0, 0.0, 0, 0))
        row.planned += a.shift.hours
        row.shifts_planned += 1
    done = DutyRecord.objects.filter(
        Q(event=event), Q(shift__start__gte=first), Q(shift__start__lt=last)
    ).select_related("guard", "post")
    for d in done:
        key, name = (
            (d.guard.employee_no, d.guard.name) if by == "guard" else (d.post.code, d.post.name)
        )
        row = rows.setdefault(key, HoursRow(key, name, 0.0, 0.0, 0, 0))
        row.actual += d.hours
        row.shifts_worked += 1
    for row in rows.values():
        row.planned, row.actual = round(row.planned, 2), round(row.actual, 2)
    return sorted(rows.values(), key=lambda r: r.key)


def hours_xlsx(rows: list[HoursRow], *, by: str, first: datetime, last: datetime) -> bytes:
    """Write planned against actual hours as an Excel workbook for payroll."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Hours 工时"
    ws.append([f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"])
    key = "工号 Employee no" if by == "guard" else "岗位 Post"
    ws.append(
        [
            key,
            "姓名/名称 Name",
            "计划工时 Planned h",
            "实际工时 Actual h",
            "差额 Difference h",
            "计划班次 Shifts planned",
            "实际班次 Shifts worked",
        ]
    )
    for r in rows:
        ws.append(
            [r.key, r.name, r.planned, r.actual, r.difference, r.shifts_planned, r.shifts_worked]
        )
    ws.freeze_panes = "A3"
    for col, width in zip("ABCDEFG", (16, 24, 14, 14, 16, 16, 16), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def on_duty_counts(event: Event, at: datetime | None = None) -> dict[str, int]:
    """Return rostered, checked-in and open-alert counts for the shifts running now."""
    at = at or clock.now()
    running = Assignment.objects.filter(event=event, shift__start__lte=at, shift__end__gt=at)
    counts: dict[str, int] = defaultdict(int)
    counts["rostered"] = running.exclude(post__kind="reserve").count()
    counts["checked_in"] = DutyRecord.objects.filter(
        event=event, shift__start__lte=at, shift__end__gt=at, check_out_at__isnull=True
    ).count()
    counts["alerts"] = DutyAlert.objects.filter(event=event, resolved_at__isnull=True).count()
    return dict(counts)
