"""Roster services: build the optimiser's problem, run solve jobs, edit, suggest, publish.

The engine (``workforce.rostering``) is pure; this module turns rows into its types and its
answers back into rows. A manual edit is checked by the engine's own checker and refused with
the broken rule named, unless a roster manager overrides it, which is audited.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import close_old_connections, connection, transaction

from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.sites.models import Event
from anbao.workforce import demand
from anbao.workforce import rostering as engine
from anbao.workforce.models import (
    Assignment,
    AssignmentSource,
    Dog,
    Guard,
    Leave,
    Post,
    Qualification,
    RosterPublication,
    Shift,
    SolveJob,
    SolveJobStatus,
    Squad,
)

log = logging.getLogger(__name__)

#: The most seconds a roster manager may give one solve job.
MAX_TIME_LIMIT = 600


@dataclass
class Built:
    """An engine problem and the maps back to rows."""

    problem: engine.Problem
    shifts: dict[int, Shift]
    posts: dict[int, Post]
    seats: int


def _weekend(shift: Shift, tz: ZoneInfo) -> bool:
    return shift.start.astimezone(tz).weekday() >= 5


def _night(shift: Shift, tz: ZoneInfo) -> bool:
    local = shift.start.astimezone(tz)
    end = shift.end.astimezone(tz)
    return local.hour >= 20 or local.hour < 4 or end.date() > local.date()


def build_problem(
    event: Event,
    *,
    shifts: Iterable[Shift] | None = None,
    from_time: datetime | None = None,
    include_previous: bool = True,
) -> Built:
    """Build the engine's problem for ``shifts`` (default: all the event's shifts)."""
    tz = ZoneInfo(event.time_zone)
    shift_rows = list(shifts if shifts is not None else Shift.objects.filter(event=event))
    shift_ids = {s.pk for s in shift_rows}
    posts = {p.pk: p for p in Post.objects.filter(event=event, active=True)}
    seat_rows = [s for s in demand.seats(event, shift_rows) if s.post_id in posts]
    quals: dict[int, list[engine.Qualification]] = {}
    for q in Qualification.objects.filter(guard__active=True):
        quals.setdefault(q.guard_id, []).append(engine.Qualification(q.skill, q.expires))
    leave: dict[int, list[tuple[datetime, datetime]]] = {}
    for row in Leave.objects.filter(guard__active=True):
        leave.setdefault(row.guard_id, []).append((row.start, row.end))
    squads = {s.pk: s for s in Squad.objects.filter(event=event)}
    guards = []
    for g in Guard.objects.filter(active=True).order_by("pk"):
        squad = squads.get(g.squad_id) if g.squad_id else None
        guards.append(
            engine.Guard(
                id=g.pk,
                gender=g.gender,
                qualifications=tuple(quals.get(g.pk, ())),
                squad=squad.code if squad else None,
                reserve=bool(squad and squad.reserve),
                base=(g.base_lon, g.base_lat)
                if g.base_lon is not None and g.base_lat is not None
                else None,
                unavailable=tuple(leave.get(g.pk, ())),
                max_hours_week=g.max_hours_week,
                home_place=(squad.place_code or None) if squad else None,
            )
        )
    dogs = tuple(
        engine.Dog(d.pk, d.handler_id, d.max_hours_day, d.min_rest_hours)
        for d in Dog.objects.filter(active=True)
    )
    current = list(
        Assignment.objects.filter(event=event, shift_id__in=shift_ids).values_list(
            "guard_id", "shift_id", "post_id", "skill", "pinned"
        )
    )
    pins = tuple(engine.Pin(g, s, p, k) for g, s, p, k, pinned in current if pinned)
    previous = (
        tuple(engine.Assignment(g, s, p, k) for g, s, p, k, _pinned in current)
        if include_previous
        else ()
    )
    problem = engine.Problem(
        guards=tuple(guards),
        dogs=dogs,
        posts=tuple(
            engine.Post(
                id=p.pk,
                code=p.code,
                place=p.place_code,
                location=(p.lon, p.lat) if p.lon is not None and p.lat is not None else None,
                kind=p.kind,
            )
            for p in posts.values()
        ),
        shifts=tuple(
            engine.Shift(
                id=s.pk, start=s.start, end=s.end, night=_night(s, tz), weekend=_weekend(s, tz)
            )
            for s in sorted(shift_rows, key=lambda s: s.start)
        ),
        needs=tuple(
            engine.Need(
                post_id=s.post_id,
                shift_id=s.shift_id,
                skill=s.skill,
                count=s.count,
                gender=s.gender or None,
                soft=s.soft,
            )
            for s in seat_rows
        ),
        pins=pins,
        previous=previous,
        freeze_before=from_time,
    )
    return Built(
        problem=problem,
        shifts={s.pk: s for s in shift_rows},
        posts=posts,
        seats=sum(s.count for s in seat_rows if not s.soft),
    )


# --- solve jobs ---------------------------------------------------------------------------


def start_solve_job(
    event: Event,
    *,
    time_limit: int = 60,
    from_time: datetime | None = None,
    user: User | None = None,
    inline: bool = False,
) -> SolveJob:
    """Queue a solve job and run it in a background thread (or inline); return the job."""
    if not 1 <= time_limit <= MAX_TIME_LIMIT:
        message = f"time_limit: 1 to {MAX_TIME_LIMIT} seconds."
        raise DomainError(
            "workforce.bad_time_limit",
            message,
            422,
            problems=[FieldProblem("time_limit", message, "out_of_range")],
        )
    if not Shift.objects.filter(event=event).exists():
        raise DomainError("workforce.no_shifts", "Generate the event's shifts first.", 409)
    running = SolveJob.objects.filter(
        event=event, status__in=[SolveJobStatus.QUEUED, SolveJobStatus.RUNNING]
    ).first()
    if running is not None:
        raise DomainError("workforce.job_running", f"Solve job {running.pk} is still running.", 409)
    job = SolveJob.objects.create(
        event=event,
        time_limit=time_limit,
        from_time=from_time,
        requested_by=user if getattr(user, "pk", None) else None,
        created_at=clock.now(),
    )
    audit.record(
        "workforce.solve_started",
        obj=job,
        after={"time_limit": time_limit, "from": from_time.isoformat() if from_time else None},
    )
    if inline:
        run_solve_job(job.pk)
        job.refresh_from_db()
        return job
    ctx = contextvars.copy_context()
    stop = threading.Event()
    thread = threading.Thread(
        target=ctx.run, args=(_run_in_thread, job.pk, stop), name=f"solve-{job.pk}", daemon=True
    )
    _jobs[job.pk] = (thread, stop)
    thread.start()
    return job


_jobs: dict[int, tuple[threading.Thread, threading.Event]] = {}


def wait(job_id: int, timeout: float | None = None) -> None:
    """Wait for a background job's thread (tests, the demo)."""
    entry = _jobs.get(job_id)
    if entry is not None:
        entry[0].join(timeout)


def cancel_job(job: SolveJob) -> None:
    """Ask a running job to stop; it keeps the best roster found so far."""
    entry = _jobs.get(job.pk)
    if entry is not None:
        entry[1].set()
    audit.record("workforce.solve_cancelled", obj=job)


def _run_in_thread(job_id: int, stop: threading.Event) -> None:
    close_old_connections()
    try:
        run_solve_job(job_id, stop=stop)
    finally:
        _jobs.pop(job_id, None)
        connection.close()


def run_solve_job(job_id: int, *, stop: threading.Event | None = None) -> None:
    """Solve, record progress as it improves, and write the roster (the past kept fixed)."""
    job = SolveJob.objects.select_related("event").get(pk=job_id)
    job.status = SolveJobStatus.RUNNING
    job.started_at = clock.now()
    job.save(update_fields=["status", "started_at"])
    try:
        shifts = list(Shift.objects.filter(event=job.event))
        built = build_problem(job.event, shifts=shifts, from_time=job.from_time)
        last_write = [0.0]
        owner = threading.get_ident()

        def progress(p: engine.Progress) -> None:
            entry = {
                "seconds": round(p.seconds, 2),
                "objective": p.objective,
                "bound": p.bound,
                "gap": p.gap,
                "assigned": p.assigned,
                "uncovered": p.uncovered,
            }
            job.progress = [*job.progress[-199:], entry]
            # CP-SAT calls back from its own threads: only the job's thread touches the
            # database (its connection), at most twice a second; the rest waits for it.
            if threading.get_ident() == owner and p.seconds - last_write[0] >= 0.5:
                last_write[0] = p.seconds
                SolveJob.objects.filter(pk=job.pk).update(progress=job.progress)

        solution = engine.solve(
            built.problem, time_limit=job.time_limit, progress=progress, stop=stop
        )
        if solution.violations:
            raise RuntimeError(f"the engine returned {len(solution.violations)} violations")
        changed = apply_solution(job.event, built, solution, from_time=job.from_time)
        job.status = (
            SolveJobStatus.CANCELLED if stop is not None and stop.is_set() else SolveJobStatus.DONE
        )
        job.objective, job.bound, job.gap = solution.objective, solution.bound, solution.gap
        job.solver_status = solution.status
        job.assigned = sum(1 for a in solution.assignments if not _soft(built, a))
        job.seats = built.seats
        job.changed = changed
        job.uncovered = [
            {
                "post": built.posts[u.post_id].code,
                "post_id": u.post_id,
                "shift_id": u.shift_id,
                "shift": str(built.shifts[u.shift_id]),
                "skill": u.skill,
                "gender": u.gender or "",
                "missing": u.missing,
                "reason": u.reason,
                "detail": u.detail,
            }
            for u in solution.uncovered
        ][:2000]
    except Exception as exc:
        log.exception("solve job %s failed", job_id)
        job.status = SolveJobStatus.FAILED
        job.error = f"{type(exc).__name__}: {exc}"
    job.finished_at = clock.now()
    job.save()
    audit.record(
        "workforce.solve_finished",
        obj=job,
        after={"status": job.status, "assigned": job.assigned, "changed": job.changed},
    )


def _soft(built: Built, a: engine.Assignment) -> bool:
    post = built.posts.get(a.post_id)
    return post is not None and post.kind == "reserve"


def apply_solution(
    event: Event, built: Built, solution: engine.Solution, *, from_time: datetime | None
) -> int:
    """Replace the roster from ``from_time`` on with the solution; return assignments changed."""
    now = clock.now()
    keep = {(a.guard_id, a.shift_id, a.post_id, a.skill) for a in solution.assignments}
    with transaction.atomic():
        rows = Assignment.objects.filter(event=event, shift_id__in=list(built.shifts))
        if from_time is not None:
            rows = rows.filter(shift__start__gte=from_time)
        existing = {(a.guard_id, a.shift_id, a.post_id, a.skill): a for a in rows}
        if from_time is not None:
            keep = {k for k in keep if built.shifts[k[1]].start >= from_time}
        gone = [a.pk for k, a in existing.items() if k not in keep and not a.pinned]
        Assignment.objects.filter(pk__in=gone).delete()
        new = [
            Assignment(
                event=event,
                shift_id=s,
                post_id=p,
                guard_id=g,
                skill=k,
                source=AssignmentSource.SOLVER,
                created_at=now,
            )
            for g, s, p, k in keep
            if (g, s, p, k) not in existing
        ]
        Assignment.objects.bulk_create(new, batch_size=2000)
    return len(gone) + len(new)


# --- manual edits ---------------------------------------------------------------------------


def _assignments_of(event: Event, guard_ids: Iterable[int]) -> list[engine.Assignment]:
    return [
        engine.Assignment(g, s, p, k)
        for g, s, p, k in Assignment.objects.filter(
            event=event, guard_id__in=list(guard_ids)
        ).values_list("guard_id", "shift_id", "post_id", "skill")
    ]


def _local_problem(event: Event, guard_ids: set[int], shift: Shift) -> Built:
    # The rules that reach across shifts (rest, hours per week, consecutive days) need the
    # guard's shifts around this one; a fortnight either side covers every rule.
    window = Shift.objects.filter(
        event=event,
        start__gte=shift.start - timedelta(days=14),
        start__lte=shift.start + timedelta(days=14),
    )
    return build_problem(event, shifts=window, include_previous=False)


def check_edit(
    event: Event,
    *,
    guard: Guard,
    shift: Shift,
    post: Post,
    skill: str,
    replacing: Assignment | None,
) -> list[engine.Violation]:
    """Return the hard rules the edit would break (empty: the edit is clean)."""
    built = _local_problem(event, {guard.pk}, shift)
    mine = [
        a
        for a in _assignments_of(event, [guard.pk])
        if a.shift_id in built.shifts
        and not (
            replacing is not None
            and a.shift_id == replacing.shift_id
            and a.guard_id == replacing.guard_id
        )
    ]
    mine.append(engine.Assignment(guard.pk, shift.pk, post.pk, skill))
    return [v for v in engine.check(built.problem, mine) if v.guard_id == guard.pk]


def assign(
    event: Event,
    *,
    guard: Guard,
    shift: Shift,
    post: Post,
    skill: str,
    user: User | None,
    override: bool = False,
    pin: bool = True,
    replacing: Assignment | None = None,
) -> Assignment:
    """Put a guard on a seat by hand; refuse a broken hard rule unless a manager overrides."""
    if shift.event_id != event.pk or post.event_id != event.pk:
        raise NotFound("workforce.not_found", "That shift or post is not at this event.")
    violations = check_edit(
        event, guard=guard, shift=shift, post=post, skill=skill, replacing=replacing
    )
    rules = sorted({v.rule for v in violations})
    if violations and not override:
        raise DomainError(
            "workforce.rule_broken",
            f"Refused: {', '.join(rules)}. " + " ".join(v.detail for v in violations[:3]),
            409,
            problems=[FieldProblem("guard", v.detail, v.rule) for v in violations],
            detail={"rules": rules},
        )
    if violations and (user is None or not user.can(Cap.WORKFORCE_EDIT)):
        raise DomainError(
            "workforce.override_forbidden", "Only a roster manager may override.", 403
        )
    with transaction.atomic():
        if replacing is not None:
            replacing.delete()
        Assignment.objects.filter(guard=guard, shift=shift).delete()
        row = Assignment.objects.create(
            event=event,
            shift=shift,
            post=post,
            guard=guard,
            skill=skill,
            pinned=pin,
            source=AssignmentSource.OVERRIDE if violations else AssignmentSource.MANUAL,
            overridden_rule=",".join(rules)[:30],
            created_at=clock.now(),
            created_by=user if getattr(user, "pk", None) else None,
        )
        audit.record(
            "workforce.assignment_override" if violations else "workforce.assignment_set",
            obj=row,
            after={
                "guard": guard.employee_no,
                "shift": str(shift),
                "post": post.code,
                "skill": skill,
                "rules_overridden": rules,
                "replacing": replacing.guard_id if replacing is not None else None,
            },
        )
    return row


def unassign(row: Assignment, *, user: User | None) -> None:
    """Take a guard off a seat (audited)."""
    audit.record(
        "workforce.assignment_removed",
        obj=row,
        before={
            "guard": row.guard_id,
            "shift": row.shift_id,
            "post": row.post_id,
            "skill": row.skill,
        },
    )
    row.delete()


def set_pinned(row: Assignment, pinned: bool) -> Assignment:
    """Pin an assignment so the optimiser keeps it, or release it."""
    row.pinned = pinned
    row.save(update_fields=["pinned"])
    audit.record("workforce.assignment_pinned", obj=row, after={"pinned": pinned})
    return row


def replacements(row: Assignment, *, limit: int = 10) -> list[dict[str, Any]]:
    """Rank guards who could take this seat instead: skills, rest, hours and distance."""
    built = _local_problem(row.event, {row.guard_id}, row.shift)
    current = _assignments_of(row.event, [g.id for g in built.problem.guards])
    current = [a for a in current if a.shift_id in built.shifts]
    found = engine.suggest_replacements(
        built.problem, current, row.guard_id, row.shift_id, limit=limit
    )
    guards = Guard.objects.in_bulk([c.guard_id for c in found])
    return [
        {
            "guard_id": c.guard_id,
            "employee_no": guards[c.guard_id].employee_no,
            "name": guards[c.guard_id].name,
            "score": round(c.score, 2),
            "reasons": list(c.reasons),
            "distance_km": None if c.distance_km is None else round(c.distance_km, 1),
            "hours_week": c.hours_week,
        }
        for c in found
        if c.guard_id in guards
    ]


# --- publishing ------------------------------------------------------------------------------


def publish(event: Event, *, user: User | None) -> RosterPublication:
    """Freeze the roster as a new numbered publication (calendar SEQUENCE)."""
    with transaction.atomic():
        last = RosterPublication.objects.filter(event=event).order_by("-version").first()
        snapshot = [
            list(k)
            for k in Assignment.objects.filter(event=event).values_list(
                "guard_id", "shift_id", "post_id", "skill"
            )
        ]
        row = RosterPublication.objects.create(
            event=event,
            version=(last.version + 1) if last else 1,
            published_at=clock.now(),
            published_by=user if getattr(user, "pk", None) else None,
            snapshot=snapshot,
        )
        audit.record(
            "workforce.roster_published",
            obj=row,
            after={"version": row.version, "rows": len(snapshot)},
        )
    return row


def _entries(keys: list[tuple[int, int, int, str]]) -> tuple[Any, ...]:
    from anbao.workforce import publish as out

    guards = Guard.objects.select_related("squad").in_bulk({k[0] for k in keys})
    shifts = Shift.objects.in_bulk({k[1] for k in keys})
    posts = Post.objects.in_bulk({k[2] for k in keys})
    entries = []
    for g, s, p, skill in keys:
        guard, shift, post = guards.get(g), shifts.get(s), posts.get(p)
        if guard is None or shift is None or post is None:
            continue  # deleted since publication; nothing left to show
        entries.append(
            out.RosterEntry(
                guard_id=g,
                employee_no=guard.employee_no,
                guard_name=guard.name,
                guard_name_en=guard.name_en,
                squad=guard.squad.name if guard.squad else "",
                post_code=post.code,
                post_name=post.name,
                post_name_en=post.name_en,
                place_code=post.place_code,
                place_name=post.place_name,
                place_name_en=post.place_name_en,
                skill=skill,
                shift_code=shift.code,
                start=shift.start,
                end=shift.end,
            )
        )
    return tuple(sorted(entries, key=lambda e: e.sort_key))


def sheet(
    event: Event,
    *,
    guard_ids: Iterable[int] | None = None,
    place: str | None = None,
    publication: RosterPublication | None = None,
) -> Any:
    """Return the RosterSheet of a publication (default: the latest one)."""
    from anbao.workforce import publish as out

    pub = publication or RosterPublication.objects.filter(event=event).order_by("-version").first()
    if pub is None:
        raise DomainError(
            "workforce.not_published", "Nothing is published yet: publish the roster first.", 409
        )
    keys = [(int(g), int(s), int(p), str(k)) for g, s, p, k in pub.snapshot]
    if guard_ids is not None:
        wanted = set(guard_ids)
        keys = [k for k in keys if k[0] in wanted]
    if place is not None:
        at_place = set(
            Post.objects.filter(event=event, place_code=place).values_list("pk", flat=True)
        )
        keys = [k for k in keys if k[2] in at_place]
    refs: tuple[Any, ...] = ()
    if guard_ids is not None:
        refs = tuple(
            out.GuardRef(g.pk, g.employee_no, g.name, g.name_en)
            for g in Guard.objects.filter(pk__in=list(guard_ids))
        )
    places: tuple[Any, ...] = ()
    if place is not None:
        p0 = Post.objects.filter(event=event, place_code=place).first()
        if p0 is not None:
            places = (out.PlaceRef(place, p0.place_name, p0.place_name_en),)
    return out.RosterSheet(
        event_code=event.code,
        event_name=event.name,
        event_name_en=event.name_en,
        tz=event.time_zone,
        version=pub.version,
        published_at=pub.published_at,
        entries=_entries(keys),
        guards=refs,
        places=places,
    )


def person_calendar(event: Event, guard: Guard) -> bytes:
    """Return a guard's .ics: the latest publication, with shifts removed since the last one."""
    from anbao.workforce import publish as out

    pubs = list(RosterPublication.objects.filter(event=event).order_by("-version")[:2])
    current = sheet(event, guard_ids=[guard.pk], publication=pubs[0] if pubs else None)
    if len(pubs) < 2:
        return bytes(out.person_ics(current, guard.pk))
    previous = sheet(event, guard_ids=[guard.pk], publication=pubs[1])
    return bytes(out.cancelled_ics(previous, current, guard.pk))
