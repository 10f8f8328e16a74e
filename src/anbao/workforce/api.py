"""Workforce API (at ``/api/workforce``): staff, posts, shifts, rosters, duty, reserves, training.

Thin: each route validates its input with a schema and calls one service.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from anbao.accounts.auth import need
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core.errors import DomainError, FieldProblem
from anbao.core.pagination import BoundedPageNumberPagination
from anbao.sites import services as sites
from anbao.sites.models import Event, Lane
from anbao.workforce import demand, duty, reserves, rosters, staffing, training
from anbao.workforce.models import (
    Assignment,
    Commendation,
    Course,
    DutyAlert,
    EquipmentItem,
    Guard,
    Post,
    ReserveUnit,
    Shift,
    ShiftTemplate,
    SolveJob,
    TrainingSession,
)

VIEW = need(Cap.WORKFORCE_VIEW)
EDIT = need(Cap.WORKFORCE_EDIT)
DUTY = need(Cap.WORKFORCE_DUTY)

router = Router(tags=["workforce"], auth=VIEW)


def _user(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _event(code: str | None = None) -> Event:
    return sites.get_event(code)


def _day_range(event: Event, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(event.time_zone))
    return start, start + timedelta(days=1)


# --- schemas ----------------------------------------------------------------------------


class QualificationOut(Schema):
    """A skill a guard holds."""

    skill: str
    expires: date | None


class GuardOut(Schema):
    """A guard as listed (phone masked)."""

    id: int
    employee_no: str
    name: str
    name_en: str
    gender: str
    employer: str
    squad: str | None
    phone: str
    english: str
    party_member: bool
    base_name: str
    qualifications: list[QualificationOut]

    @staticmethod
    def resolve_employer(obj: Guard) -> str:
        """Return the employer's name."""
        return obj.employer.name

    @staticmethod
    def resolve_squad(obj: Guard) -> str | None:
        """Return the squad's code."""
        return obj.squad.code if obj.squad else None

    @staticmethod
    def resolve_phone(obj: Guard) -> str:
        """Return the masked phone."""
        return obj.masked_phone()

    @staticmethod
    def resolve_qualifications(obj: Guard) -> list[dict[str, Any]]:
        """Return the guard's skills."""
        return [{"skill": q.skill, "expires": q.expires} for q in obj.qualifications.all()]


class LeaveIn(Schema):
    """Leave or an absence to record."""

    kind: str = "leave"
    start: datetime
    end: datetime
    reason: str = Field("", max_length=200)


class PostOut(Schema):
    """A post and its place."""

    id: int
    code: str
    name: str
    name_en: str
    kind: str
    place_code: str
    lon: float | None
    lat: float | None


class ShiftsIn(Schema):
    """Generate dated shifts from a template."""

    template: str = Field(..., max_length=20)
    first: date
    last: date


class ShiftOut(Schema):
    """A dated shift."""

    id: int
    code: str
    day: date
    start: datetime
    end: datetime
    phase: str


class SeatOut(Schema):
    """Guards wanted on a post in a shift."""

    post_id: int
    shift_id: int
    skill: str
    gender: str
    count: int
    soft: bool
    source: str


class OverrideIn(Schema):
    """A planner's change to a post's need."""

    post: str = Field(..., max_length=60)
    skill: str
    count: int
    start: datetime
    end: datetime
    gender: str = ""
    reason: str = Field("", max_length=200)


class SolveIn(Schema):
    """Start the optimiser."""

    time_limit: int = 60
    from_time: datetime | None = None


class AssignmentOut(Schema):
    """A guard on a seat."""

    id: int
    guard_id: int
    employee_no: str
    name: str
    shift_id: int
    post: str
    skill: str
    pinned: bool
    source: str
    checked_in: bool

    @staticmethod
    def resolve_employee_no(obj: Assignment) -> str:
        """Return the guard's number."""
        return obj.guard.employee_no

    @staticmethod
    def resolve_name(obj: Assignment) -> str:
        """Return the guard's name."""
        return obj.guard.name

    @staticmethod
    def resolve_post(obj: Assignment) -> str:
        """Return the post's code."""
        return obj.post.code

    @staticmethod
    def resolve_checked_in(obj: Assignment) -> bool:
        """Return whether the guard has checked in for this seat."""
        return bool(getattr(obj, "n_duty", 0))


class AssignIn(Schema):
    """Put a guard on a seat by hand."""

    guard: str = Field(..., max_length=30, description="employee number")
    shift_id: int
    post: str = Field(..., max_length=60)
    skill: str
    override: bool = False
    pin: bool = True
    replacing: int | None = Field(None, description="the assignment this one replaces")


class PinIn(Schema):
    """Pin or release an assignment."""

    pinned: bool


class ScanIn(Schema):
    """A badge scanned by a leader's device."""

    qr: str = Field(..., max_length=4096)


class CheckIn(Schema):
    """A check-in or check-out entered by hand."""

    guard: str = Field(..., max_length=30)


class ResolveIn(Schema):
    """How an alert was handled."""

    resolution: str = Field(..., max_length=200)


class AlertOut(Schema):
    """A missed check-in."""

    id: int
    guard: str
    name: str
    post: str
    shift_id: int
    raised_at: datetime
    resolved_at: datetime | None
    resolution: str

    @staticmethod
    def resolve_guard(obj: DutyAlert) -> str:
        """Return the guard's number."""
        return obj.assignment.guard.employee_no

    @staticmethod
    def resolve_name(obj: DutyAlert) -> str:
        """Return the guard's name."""
        return obj.assignment.guard.name

    @staticmethod
    def resolve_post(obj: DutyAlert) -> str:
        """Return the post's code."""
        return obj.assignment.post.code

    @staticmethod
    def resolve_shift_id(obj: DutyAlert) -> int:
        """Return the shift."""
        return obj.assignment.shift_id


class ReserveOut(Schema):
    """A reserve unit."""

    code: str
    name: str
    name_en: str
    kind: str
    size: int
    lon: float
    lat: float
    state: str
    task: str


class ReserveStateIn(Schema):
    """Move a reserve unit."""

    state: str
    task: str = Field("", max_length=200)
    lon: float | None = None
    lat: float | None = None


class AttendanceIn(Schema):
    """A guard's result at a session."""

    guard: str = Field(..., max_length=30)
    result: str
    score: int | None = None


class SessionIn(Schema):
    """Plan a training session."""

    course: str = Field(..., max_length=40)
    start: datetime
    end: datetime
    place: str = Field("", max_length=120)
    trainer: str = Field("", max_length=100)


class ItemIn(Schema):
    """Register an item of equipment."""

    asset_no: str = Field(..., max_length=40)
    kind: str
    model: str = Field("", max_length=100)
    serial_no: str = Field("", max_length=60)


class ItemOut(Schema):
    """An item of equipment."""

    id: int
    asset_no: str
    kind: str
    model: str
    status: str
    note: str
    lane: str | None

    @staticmethod
    def resolve_lane(obj: EquipmentItem) -> str | None:
        """Return the lane it is at."""
        return str(obj.lane) if obj.lane else None


class ItemAssignIn(Schema):
    """Assign an item to a lane (empty: back to store)."""

    checkpoint: str = Field("", max_length=40)
    lane: str = Field("", max_length=40)


class ItemStatusIn(Schema):
    """A fault, maintenance, repair or retirement."""

    status: str
    note: str = Field("", max_length=200)


class CommendationIn(Schema):
    """A good deed."""

    guard: str = Field(..., max_length=30)
    what: str = Field(..., max_length=4000)
    when: datetime
    where: str = Field(..., max_length=120)


class CommendationOut(Schema):
    """A good deed as listed."""

    id: int
    guard: str
    name: str
    what: str
    when: datetime
    where: str

    @staticmethod
    def resolve_guard(obj: Commendation) -> str:
        """Return the guard's number."""
        return obj.guard.employee_no

    @staticmethod
    def resolve_name(obj: Commendation) -> str:
        """Return the guard's name."""
        return obj.guard.name


def _guard(number: str) -> Guard:
    guard = Guard.objects.filter(employee_no=number).first()
    if guard is None:
        raise DomainError(
            "workforce.unknown_guard",
            f"No guard {number!r}.",
            404,
            problems=[FieldProblem("guard", f"No guard {number!r}.", "unknown_guard")],
        )
    return guard


def _post(event: Event, code: str) -> Post:
    post = Post.objects.filter(event=event, code=code).first()
    if post is None:
        raise DomainError(
            "workforce.unknown_post",
            f"No post {code!r}.",
            404,
            problems=[FieldProblem("post", f"No post {code!r}.", "unknown_post")],
        )
    return post


# --- staff --------------------------------------------------------------------------------


@router.get("/guards", response=list[GuardOut], summary="Search guards (phones masked)")
@paginate(BoundedPageNumberPagination, page_size=50)
def list_guards(
    request: HttpRequest, q: str = "", skill: str = "", squad: str = ""
) -> QuerySet[Guard]:
    """List guards by number or name, skill and squad."""
    rows = Guard.objects.select_related("employer", "squad").prefetch_related("qualifications")
    if q:
        rows = rows.filter(employee_no__icontains=q) | rows.filter(name__icontains=q)
    if skill:
        rows = rows.filter(qualifications__skill=skill)
    if squad:
        rows = rows.filter(squad__code=squad)
    return rows.order_by("employee_no").distinct()


@router.get("/guards/{number}/phone", auth=EDIT, summary="Reveal a guard's phone (audited)")
def guard_phone(request: HttpRequest, number: str) -> dict[str, str]:
    """Return the full phone number; the read is audited."""
    return {"employee_no": number, "phone": staffing.read_phone(_guard(number))}


@router.post("/guards/import", auth=EDIT, summary="Import guards from CSV/XLSX (all or nothing)")
def import_guards(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008  (Ninja's declaration style)
    dry_run: bool = Form(False),
    event: str | None = Form(None),
) -> dict[str, Any]:
    """Import a staff sheet; any bad row refuses the file with every problem named."""
    data = file.read()
    if len(data) > 10 * 1024 * 1024:
        raise DomainError("workforce.file_too_large", "At most 10 MiB per file.", 413)
    result = staffing.import_staff(
        data, file.name or "upload.csv", event=_event(event), dry_run=dry_run
    )
    return result.as_dict()


@router.post(
    "/guards/{number}/leave", response={201: dict[str, Any]}, auth=EDIT, summary="Record leave"
)
def add_leave(request: HttpRequest, number: str, payload: LeaveIn) -> Status[dict[str, Any]]:
    """Record leave or an absence for a guard; overlapping leave is refused."""
    from anbao.workforce.models import LeaveKind

    if payload.kind not in LeaveKind.values:
        raise DomainError("workforce.bad_kind", f"kind: {', '.join(LeaveKind.values)}.", 422)
    leave = staffing.add_leave(
        _guard(number),
        start=payload.start,
        end=payload.end,
        kind=payload.kind,
        reason=payload.reason,
    )
    return Status(
        201, {"id": leave.pk, "start": leave.start.isoformat(), "end": leave.end.isoformat()}
    )


# --- posts, shifts, demand -----------------------------------------------------------------


@router.get("/posts", response=list[PostOut], summary="The event's posts")
def list_posts(request: HttpRequest, event: str | None = None) -> QuerySet[Post]:
    """List the posts of the event."""
    return Post.objects.filter(event=_event(event), active=True)


@router.post("/posts/derive", auth=EDIT, summary="Create the posts the site implies")
def derive_posts(request: HttpRequest, event: str | None = None) -> dict[str, int]:
    """Create lane, leader, patrol, command and reserve posts from the site (idempotent)."""
    return {"posts": len(demand.derive_posts(_event(event)))}


@router.get("/shifts", response=list[ShiftOut], summary="Shifts of a day")
def list_shifts(
    request: HttpRequest, day: date | None = None, event: str | None = None
) -> QuerySet[Shift]:
    """List the shifts, or those of one local day."""
    rows = Shift.objects.filter(event=_event(event))
    return rows.filter(day=day) if day else rows


@router.post("/shifts/generate", auth=EDIT, summary="Generate shifts from a template")
def generate_shifts(
    request: HttpRequest, payload: ShiftsIn, event: str | None = None
) -> dict[str, int]:
    """Create dated shifts from a template for a range of days (idempotent)."""
    ev = _event(event)
    demand.ensure_templates(ev)
    template = ShiftTemplate.objects.filter(event=ev, code=payload.template).first()
    if template is None:
        raise DomainError(
            "workforce.unknown_template",
            f"No template {payload.template!r}.",
            404,
            problems=[FieldProblem("template", "unknown template", "unknown_template")],
        )
    return {"shifts": len(demand.generate_shifts(ev, template, payload.first, payload.last))}


@router.get("/seats", response=list[SeatOut], summary="Seats to fill on a day")
def list_seats(request: HttpRequest, day: date, event: str | None = None) -> list[demand.Seat]:
    """Return the demand for a day: needs by phase and window, open lanes, overrides."""
    ev = _event(event)
    return demand.seats(ev, Shift.objects.filter(event=ev, day=day))


@router.post("/overrides", response={201: dict[str, Any]}, auth=EDIT, summary="Override a need")
def add_override(
    request: HttpRequest, payload: OverrideIn, event: str | None = None
) -> Status[dict[str, Any]]:
    """Replace a post's derived need for a time range."""
    ev = _event(event)
    row = demand.add_override(
        _post(ev, payload.post),
        skill=payload.skill,
        count=payload.count,
        start=payload.start,
        end=payload.end,
        gender=payload.gender,
        reason=payload.reason,
        user=_user(request),
    )
    return Status(201, {"id": row.pk})


# --- solving --------------------------------------------------------------------------------


@router.post("/solve", response={202: dict[str, Any]}, auth=EDIT, summary="Start the optimiser")
def start_solve(
    request: HttpRequest, payload: SolveIn, event: str | None = None
) -> Status[dict[str, Any]]:
    """Start a background solve job (a re-solve keeps shifts before from_time)."""
    job = rosters.start_solve_job(
        _event(event),
        time_limit=payload.time_limit,
        from_time=payload.from_time,
        user=_user(request),
    )
    return Status(202, job.as_dict())


@router.get("/solve/{job_id}", summary="A solve job's progress and result")
def get_solve(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """Return the job: status, progress, objective, bound, gap, uncovered seats with reasons."""
    return get_object_or_404(SolveJob, pk=job_id).as_dict()


@router.post("/solve/{job_id}/cancel", auth=EDIT, summary="Stop a solve job, keeping the best")
def cancel_solve(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """Ask the job to stop; it writes the best roster found so far."""
    job = get_object_or_404(SolveJob, pk=job_id)
    rosters.cancel_job(job)
    return job.as_dict()


# --- the roster -----------------------------------------------------------------------------


@router.get("/roster", response=list[AssignmentOut], summary="The roster of a day")
def list_roster(
    request: HttpRequest, day: date, place: str = "", event: str | None = None
) -> QuerySet[Assignment]:
    """Return who is on which seat on a local day (optionally at one place)."""
    from django.db.models import Count

    ev = _event(event)
    rows = Assignment.objects.filter(event=ev, shift__day=day).select_related("guard", "post")
    if place:
        rows = rows.filter(post__place_code=place)
    return rows.annotate(n_duty=Count("duty_records"))


@router.post("/roster/assign", response={201: AssignmentOut}, auth=EDIT, summary="Assign by hand")
def assign(request: HttpRequest, payload: AssignIn, event: str | None = None) -> Status[Assignment]:
    """Assign a guard; a broken hard rule is refused with its name unless overridden (audited)."""
    ev = _event(event)
    shift = get_object_or_404(Shift, pk=payload.shift_id, event=ev)
    replacing = (
        get_object_or_404(Assignment, pk=payload.replacing, event=ev) if payload.replacing else None
    )
    row = rosters.assign(
        ev,
        guard=_guard(payload.guard),
        shift=shift,
        post=_post(ev, payload.post),
        skill=payload.skill,
        user=_user(request),
        override=payload.override,
        pin=payload.pin,
        replacing=replacing,
    )
    return Status(201, row)


@router.delete("/roster/{assignment_id}", response={204: None}, auth=EDIT, summary="Unassign")
def unassign(request: HttpRequest, assignment_id: int) -> Status[None]:
    """Take a guard off a seat."""
    rosters.unassign(get_object_or_404(Assignment, pk=assignment_id), user=_user(request))
    return Status(204, None)


@router.post("/roster/{assignment_id}/pin", response=AssignmentOut, auth=EDIT, summary="Pin")
def pin(request: HttpRequest, assignment_id: int, payload: PinIn) -> Assignment:
    """Pin an assignment (the optimiser keeps it) or release it."""
    return rosters.set_pinned(get_object_or_404(Assignment, pk=assignment_id), payload.pinned)


@router.get("/roster/{assignment_id}/replacements", summary="Ranked replacements")
def replacements(request: HttpRequest, assignment_id: int) -> list[dict[str, Any]]:
    """Rank guards who could take this seat: skills, rest, hours and distance."""
    return rosters.replacements(get_object_or_404(Assignment, pk=assignment_id))


# --- publishing -----------------------------------------------------------------------------


@router.post("/publish", response={201: dict[str, Any]}, auth=EDIT, summary="Publish the roster")
def publish(request: HttpRequest, event: str | None = None) -> Status[dict[str, Any]]:
    """Freeze the roster as a new version; calendars update in place."""
    row = rosters.publish(_event(event), user=_user(request))
    return Status(201, {"version": row.version, "published_at": row.published_at.isoformat()})


def _render(make: Any, *args: Any, **kwargs: Any) -> bytes:
    """Run a publish function; a guard or place not on the roster is a 404, not a crash."""
    try:
        return bytes(make(*args, **kwargs))
    except ValueError as exc:
        raise DomainError("workforce.not_on_roster", str(exc), 404) from exc


def _file(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/publish/guards/{number}.pdf", summary="A guard's roster as PDF")
def person_pdf(request: HttpRequest, number: str, lang: str = "zh-hans") -> HttpResponse:
    """Return one guard's shifts as a PDF."""
    from anbao.workforce import publish as out

    guard = _guard(number)
    data = out.person_pdf(rosters.sheet(_event(), guard_ids=[guard.pk]), guard.pk, lang=_lang(lang))
    return _file(data, "application/pdf", f"roster-{number}.pdf")


@router.get("/publish/guards/{number}.ics", summary="A guard's roster as iCalendar")
def person_ics(request: HttpRequest, number: str) -> HttpResponse:
    """Return one guard's shifts as an .ics calendar (cancelled shifts included)."""
    guard = _guard(number)
    data = _render(rosters.person_calendar, _event(), guard)
    return _file(data, "text/calendar", f"roster-{number}.ics")


@router.get("/publish/places/{place}.pdf", summary="A checkpoint's roster as PDF")
def place_pdf(
    request: HttpRequest, place: str, day: date | None = None, lang: str = "zh-hans"
) -> HttpResponse:
    """Return a place's roster (one day or all) as a PDF."""
    from anbao.workforce import publish as out

    sheet = rosters.sheet(_event(), place=place)
    data = _render(out.checkpoint_pdf, sheet, place, day=day, lang=_lang(lang))
    return _file(data, "application/pdf", f"roster-{place}.pdf")


@router.get("/publish/places/{place}.xlsx", summary="A checkpoint's roster as Excel")
def place_xlsx(request: HttpRequest, place: str) -> HttpResponse:
    """Return a place's roster as an Excel workbook."""
    from anbao.workforce import publish as out

    data = _render(out.checkpoint_xlsx, rosters.sheet(_event(), place=place), place)
    return _file(
        data,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"roster-{place}.xlsx",
    )


@router.get("/publish/wall/{day}.pdf", summary="The wall chart of a day")
def wall_chart(request: HttpRequest, day: date, lang: str = "zh-hans") -> HttpResponse:
    """Return the day's wall chart (A3) as a PDF."""
    from anbao.workforce import publish as out

    data = _render(out.wall_chart_pdf, rosters.sheet(_event()), day, lang=_lang(lang))
    return _file(data, "application/pdf", f"wall-{day.isoformat()}.pdf")


def _lang(lang: str) -> str:
    if lang not in ("zh-hans", "en"):
        raise DomainError("request.bad_lang", "lang: zh-hans or en.", 422)
    return lang


# --- duty -----------------------------------------------------------------------------------


@router.post("/duty/scan", auth=DUTY, summary="Check a guard in or out by badge")
def duty_scan(request: HttpRequest, payload: ScanIn) -> dict[str, Any]:
    """Verify a scanned badge and check its guard in at the rostered post (or out)."""
    from anbao.workforce.models import CheckMethod

    guard = duty.guard_from_badge(payload.qr)
    return duty.check(guard, method=CheckMethod.LEADER_DEVICE, user=_user(request)).as_dict()


@router.post("/duty/check", auth=DUTY, summary="Check a guard in or out by number")
def duty_manual(request: HttpRequest, payload: CheckIn) -> dict[str, Any]:
    """Check a guard in or out by employee number (when the badge will not scan)."""
    from anbao.workforce.models import CheckMethod

    return duty.check(
        _guard(payload.guard), method=CheckMethod.MANUAL, user=_user(request)
    ).as_dict()


@router.post("/duty/me/{token}", auth=None, summary="A guard checks in or out from their phone")
def duty_own_phone(request: HttpRequest, token: str) -> dict[str, Any]:
    """Check in or out through the guard's personal signed link (the link is the credential)."""
    from anbao.workforce.models import CheckMethod

    return duty.check(duty.guard_from_link(token), method=CheckMethod.OWN_PHONE).as_dict()


@router.get("/duty/alerts", response=list[AlertOut], summary="Missed check-ins")
def list_alerts(
    request: HttpRequest, open_only: bool = True, event: str | None = None
) -> QuerySet[DutyAlert]:
    """List alerts for guards who have not checked in."""
    rows = DutyAlert.objects.filter(event=_event(event)).select_related(
        "assignment__guard", "assignment__post"
    )
    return rows.filter(resolved_at__isnull=True) if open_only else rows


@router.post("/duty/alerts/raise", auth=DUTY, summary="Look for missed check-ins now")
def raise_alerts(
    request: HttpRequest, grace_minutes: int = 15, event: str | None = None
) -> dict[str, int]:
    """Raise alerts for guards not checked in ``grace_minutes`` after their shift began."""
    if not 0 <= grace_minutes <= 240:
        raise DomainError("workforce.bad_grace", "grace_minutes: 0 to 240.", 422)
    return {"raised": len(duty.raise_missed_alerts(_event(event), grace_minutes=grace_minutes))}


@router.post(
    "/duty/alerts/{alert_id}/resolve", response=AlertOut, auth=DUTY, summary="Close an alert"
)
def resolve_alert(request: HttpRequest, alert_id: int, payload: ResolveIn) -> DutyAlert:
    """Close a missed check-in alert, saying what was done."""
    alert = get_object_or_404(DutyAlert, pk=alert_id)
    return duty.resolve_alert(alert, resolution=payload.resolution, user=_user(request))


@router.get("/duty/hours", summary="Planned against actual hours (JSON or Excel)")
def hours(
    request: HttpRequest,
    first: date,
    last: date,
    by: str = "guard",
    format: str = "json",
    event: str | None = None,
) -> Any:
    """Sum planned and actual hours per guard or post from ``first`` to ``last`` (local days)."""
    ev = _event(event)
    if not date(2000, 1, 1) <= first <= last <= date(2100, 1, 1) or (last - first).days > 366:
        raise DomainError(
            "workforce.bad_range",
            "first ≤ last, at most a year apart, between 2000 and 2100.",
            422,
            problems=[FieldProblem("last", "bad date range", "bad_range")],
        )
    start, _ = _day_range(ev, first)
    _, end = _day_range(ev, last)
    rows = duty.planned_vs_actual(ev, first=start, last=end, by=by)
    if format == "xlsx":
        return _file(
            duty.hours_xlsx(rows, by=by, first=start, last=end),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"hours-{first}-{last}.xlsx",
        )
    if format != "json":
        raise DomainError("request.bad_format", "format: json or xlsx.", 422)
    return [
        {
            "key": r.key,
            "name": r.name,
            "planned": r.planned,
            "actual": r.actual,
            "difference": r.difference,
            "shifts_planned": r.shifts_planned,
            "shifts_worked": r.shifts_worked,
        }
        for r in rows
    ]


# --- reserves -------------------------------------------------------------------------------


@router.get("/reserves", response=list[ReserveOut], summary="Reserve units")
def list_reserves(request: HttpRequest, event: str | None = None) -> QuerySet[ReserveUnit]:
    """List the reserve units with their positions and states."""
    return ReserveUnit.objects.filter(event=_event(event))


@router.get("/reserves/nearest", summary="Who is nearest and free?")
def nearest(
    request: HttpRequest, lon: float, lat: float, kind: str | None = None, limit: int = 5
) -> list[dict[str, object]]:
    """Return the available units nearest to a point."""
    return [
        n.as_dict()
        for n in reserves.nearest_free(_event(), lon=lon, lat=lat, kind=kind, limit=limit)
    ]


@router.post(
    "/reserves/{code}/state", response=ReserveOut, auth=EDIT, summary="Move a reserve unit"
)
def reserve_state(request: HttpRequest, code: str, payload: ReserveStateIn) -> ReserveUnit:
    """Dispatch, arrive, release or stand down a unit (the cycle is enforced)."""
    unit = get_object_or_404(ReserveUnit, event=_event(), code=code)
    if payload.state == "dispatched":
        return reserves.dispatch(unit, task=payload.task, user=_user(request))
    return reserves.set_state(
        unit,
        payload.state,
        task=payload.task,
        lon=payload.lon,
        lat=payload.lat,
        user=_user(request),
    )


# --- training, equipment, commendations -------------------------------------------------------


@router.get("/courses", summary="Training courses")
def list_courses(request: HttpRequest) -> list[dict[str, Any]]:
    """List the courses and what they grant."""
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "grants": c.grants,
            "validity_days": c.validity_days,
        }
        for c in Course.objects.all()
    ]


@router.post(
    "/training/sessions", response={201: dict[str, Any]}, auth=EDIT, summary="Plan a session"
)
def add_session(request: HttpRequest, payload: SessionIn) -> Status[dict[str, Any]]:
    """Plan a dated session of a course."""
    course = Course.objects.filter(code=payload.course).first()
    if course is None:
        raise DomainError("workforce.unknown_course", f"No course {payload.course!r}.", 404)
    row = training.schedule_session(
        course, start=payload.start, end=payload.end, place=payload.place, trainer=payload.trainer
    )
    return Status(201, {"id": row.pk})


@router.post("/training/sessions/{session_id}/attendance", auth=EDIT, summary="Record a result")
def attendance(request: HttpRequest, session_id: int, payload: AttendanceIn) -> dict[str, Any]:
    """Record a guard's result; a pass grants or renews the qualification."""
    session = get_object_or_404(TrainingSession, pk=session_id)
    row = training.record_attendance(
        session,
        _guard(payload.guard),
        result=payload.result,
        score=payload.score,
        user=_user(request),
    )
    granted = row.granted
    return {
        "result": row.result,
        "granted": granted.skill if granted else None,
        "expires": granted.expires.isoformat() if granted and granted.expires else None,
    }


@router.get("/equipment", response=list[ItemOut], summary="Equipment inventory")
def list_items(request: HttpRequest, status: str = "") -> QuerySet[EquipmentItem]:
    """List equipment items, optionally by status."""
    rows = EquipmentItem.objects.select_related("lane__checkpoint")
    return rows.filter(status=status) if status else rows


@router.post("/equipment", response={201: ItemOut}, auth=EDIT, summary="Register an item")
def add_item(request: HttpRequest, payload: ItemIn) -> Status[EquipmentItem]:
    """Register an item of equipment."""
    return Status(201, training.add_item(**payload.dict()))


@router.post(
    "/equipment/{asset_no}/assign", response=ItemOut, auth=EDIT, summary="Assign to a lane"
)
def assign_item(request: HttpRequest, asset_no: str, payload: ItemAssignIn) -> EquipmentItem:
    """Assign an item to a lane, or back to the store with an empty lane."""
    item = get_object_or_404(EquipmentItem, asset_no=asset_no)
    lane = None
    if payload.lane:
        lane = Lane.objects.filter(checkpoint__code=payload.checkpoint, code=payload.lane).first()
        if lane is None:
            raise DomainError("workforce.unknown_lane", "No such lane.", 404)
    return training.assign_item(item, lane, user=_user(request))


@router.post("/equipment/{asset_no}/status", response=ItemOut, auth=DUTY, summary="Report a fault")
def item_status(request: HttpRequest, asset_no: str, payload: ItemStatusIn) -> EquipmentItem:
    """Record a fault, maintenance, a repair or retirement; the lane shows it at once."""
    item = get_object_or_404(EquipmentItem, asset_no=asset_no)
    return training.report_status(
        item, status=payload.status, note=payload.note, user=_user(request)
    )


@router.get("/commendations", response=list[CommendationOut], summary="Good deeds")
def list_commendations(request: HttpRequest, event: str | None = None) -> QuerySet[Commendation]:
    """List the good deeds recorded at the event."""
    return Commendation.objects.filter(event=_event(event)).select_related("guard")


@router.post(
    "/commendations", response={201: CommendationOut}, auth=DUTY, summary="Record a good deed"
)
def add_commendation(request: HttpRequest, payload: CommendationIn) -> Status[Commendation]:
    """Record who did what, when and where."""
    row = training.commend(
        _event(),
        _guard(payload.guard),
        what=payload.what,
        when=payload.when,
        where=payload.where,
        user=_user(request),
    )
    return Status(201, row)
