"""An independent checker of every hard rule on a roster (plain Python, no solver)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from .types import Assignment, Guard, Need, Problem, Shift, Violation


def _hours(shift: Shift) -> float:
    return (shift.end - shift.start).total_seconds() / 3600


def check(problem: Problem, assignments: Iterable[Assignment]) -> list[Violation]:
    """Every hard rule the roster breaks, one Violation per breach (empty when clean)."""
    guards = {g.id: g for g in problem.guards}
    shifts = {s.id: s for s in problem.shifts}
    posts = {p.id: p for p in problem.posts}
    roster = list(assignments)
    out: list[Violation] = []

    dogs: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for dog in problem.dogs:
        if dog.active:
            dogs[dog.handler_id].append((dog.max_hours_day, dog.min_rest_hours))

    by_guard: dict[int, list[tuple[Shift, Assignment]]] = defaultdict(list)
    for a in roster:
        guard = guards.get(a.guard_id)
        shift = shifts.get(a.shift_id)
        if guard is None or shift is None or a.post_id not in posts:
            out.append(
                Violation("unknown", a.guard_id, a.shift_id, "Unknown guard, shift or post.")
            )
            continue
        by_guard[a.guard_id].append((shift, a))
        _check_seat_holder(guard, shift, a, dogs, out)

    _check_seats(problem, roster, guards, out)
    for gid, items in by_guard.items():
        _check_guard(problem, guards[gid], items, dogs.get(gid, []), out)
    _check_fixed(problem, roster, shifts, out)
    return out


def _check_seat_holder(
    guard: Guard,
    shift: Shift,
    a: Assignment,
    dogs: dict[int, list[tuple[float, float]]],
    out: list[Violation],
) -> None:
    day = shift.start.date()
    quals = [q for q in guard.qualifications if q.skill == a.skill]
    if not quals:
        out.append(Violation("skill", guard.id, shift.id, f"Guard {guard.id} lacks {a.skill}."))
    elif all(q.expires is not None and q.expires < day for q in quals):
        out.append(
            Violation(
                "certificate_expired",
                guard.id,
                shift.id,
                f"Guard {guard.id}'s {a.skill} certificate expired before {day.isoformat()}.",
            )
        )
    if a.skill == "canine" and not dogs.get(guard.id):
        out.append(Violation("dog", guard.id, shift.id, f"Guard {guard.id} has no active dog."))
    for begin, end in guard.unavailable:
        if shift.start < end and begin < shift.end:
            out.append(
                Violation(
                    "availability",
                    guard.id,
                    shift.id,
                    f"Guard {guard.id} is unavailable during shift {shift.id}.",
                )
            )
            break


def _check_seats(
    problem: Problem,
    roster: list[Assignment],
    guards: dict[int, Guard],
    out: list[Violation],
) -> None:
    """Each (post, shift, skill) holds no more guards than seats, and males only in open seats."""
    seats: dict[tuple[int, int, str], list[Need]] = defaultdict(list)
    for n in problem.needs:
        seats[(n.post_id, n.shift_id, n.skill)].append(n)
    held: dict[tuple[int, int, str], list[Assignment]] = defaultdict(list)
    for a in roster:
        if a.guard_id in guards:
            held[(a.post_id, a.shift_id, a.skill)].append(a)
    for key, people in held.items():
        needs = seats.get(key, [])
        restricted: Counter[str] = Counter()
        open_seats = 0
        for n in needs:
            if n.gender is None:
                open_seats += n.count
            else:
                restricted[n.gender] += n.count
        total = open_seats + sum(restricted.values())
        ordered = sorted(people, key=lambda x: x.guard_id)
        for a in ordered[total:]:
            out.append(
                Violation(
                    "no_seat",
                    a.guard_id,
                    a.shift_id,
                    f"Post {a.post_id} has only {total} {a.skill} seat(s) in shift {a.shift_id}.",
                )
            )
        if len(ordered) > total:
            continue
        # Guards beyond their own gender's reserved seats must fit in the open seats.
        beyond: list[Assignment] = []
        by_gender: dict[str, list[Assignment]] = defaultdict(list)
        for a in ordered:
            by_gender[guards[a.guard_id].gender].append(a)
        for gender, group in sorted(by_gender.items()):
            extra = len(group) - restricted.get(gender, 0)
            if extra > 0:
                beyond.extend(group[-extra:])
        excess = len(beyond) - open_seats
        for a in beyond[len(beyond) - excess :] if excess > 0 else []:
            out.append(
                Violation(
                    "gender",
                    a.guard_id,
                    a.shift_id,
                    f"Seat at post {a.post_id} in shift {a.shift_id} is for a "
                    f"{_other(restricted, guards[a.guard_id].gender)} guard.",
                )
            )


def _other(restricted: Counter[str], gender: str) -> str:
    for g in restricted:
        if g != gender:
            return g
    return "different"


def _check_guard(
    problem: Problem,
    guard: Guard,
    items: list[tuple[Shift, Assignment]],
    dog_limits: list[tuple[float, float]],
    out: list[Violation],
) -> None:
    rules = problem.rules
    items.sort(key=lambda x: (x[0].start, x[0].id))
    gid = guard.id
    seen: set[int] = set()
    for shift, _a in items:
        if shift.id in seen:
            out.append(
                Violation(
                    "double_seat",
                    gid,
                    shift.id,
                    f"Guard {gid} holds two seats in shift {shift.id}.",
                )
            )
        seen.add(shift.id)
    dog_rest = max((r for _, r in dog_limits), default=0.0)
    dog_day = min((h for h, _ in dog_limits), default=float("inf"))
    distinct = sorted({s.id: s for s, _ in items}.values(), key=lambda s: (s.start, s.id))
    canine = {s.id for s, a in items if a.skill == "canine"}
    for i, a in enumerate(distinct):
        for b in distinct[i + 1 :]:
            gap = (b.start - a.end).total_seconds() / 3600
            if gap >= max(rules.min_rest_hours, dog_rest):
                break
            if b.start < a.end:
                out.append(Violation("overlap", gid, b.id, f"Shifts {a.id} and {b.id} overlap."))
            elif gap < rules.min_rest_hours:
                out.append(
                    Violation(
                        "rest",
                        gid,
                        b.id,
                        f"Only {gap:.1f} h rest between shifts {a.id} and {b.id} "
                        f"(minimum {rules.min_rest_hours:g} h).",
                    )
                )
            elif a.id in canine and b.id in canine and gap < dog_rest:
                out.append(
                    Violation(
                        "dog_rest",
                        gid,
                        b.id,
                        f"The dog gets only {gap:.1f} h rest between shifts {a.id} and {b.id} "
                        f"(minimum {dog_rest:g} h).",
                    )
                )
    per_day: dict[date, float] = defaultdict(float)
    dog_per_day: dict[date, float] = defaultdict(float)
    per_week: dict[tuple[int, int], float] = defaultdict(float)
    last_on_day: dict[date, int] = {}
    last_in_week: dict[tuple[int, int], int] = {}
    for s in distinct:
        day = s.start.date()
        iso = day.isocalendar()
        week = (iso[0], iso[1])
        per_day[day] += _hours(s)
        per_week[week] += _hours(s)
        if s.id in canine:
            dog_per_day[day] += _hours(s)
        last_on_day[day] = s.id
        last_in_week[week] = s.id
    for day, h in per_day.items():
        if h > rules.max_hours_day + 1e-9:
            out.append(
                Violation(
                    "hours_day",
                    gid,
                    last_on_day[day],
                    f"{h:g} h on {day.isoformat()} (maximum {rules.max_hours_day:g} h).",
                )
            )
        if dog_per_day.get(day, 0.0) > dog_day + 1e-9:
            out.append(
                Violation(
                    "dog_hours",
                    gid,
                    last_on_day[day],
                    f"The dog works {dog_per_day[day]:g} h on {day.isoformat()} "
                    f"(maximum {dog_day:g} h).",
                )
            )
    limit = guard.max_hours_week if guard.max_hours_week is not None else rules.max_hours_week
    for week, h in per_week.items():
        if h > limit + 1e-9:
            out.append(
                Violation(
                    "hours_week",
                    gid,
                    last_in_week[week],
                    f"{h:g} h in ISO week {week[0]}-W{week[1]:02d} (maximum {limit:g} h).",
                )
            )
    run = 0
    prev: date | None = None
    for day in sorted(per_day):
        run = run + 1 if prev is not None and day - prev == timedelta(days=1) else 1
        prev = day
        if run > rules.max_consecutive_days:
            out.append(
                Violation(
                    "consecutive_days",
                    gid,
                    last_on_day[day],
                    f"{run} consecutive working days up to {day.isoformat()} "
                    f"(maximum {rules.max_consecutive_days}).",
                )
            )


def _check_fixed(
    problem: Problem, roster: list[Assignment], shifts: dict[int, Shift], out: list[Violation]
) -> None:
    have = set(roster)
    for p in problem.pins:
        if Assignment(p.guard_id, p.shift_id, p.post_id, p.skill) not in have:
            out.append(
                Violation(
                    "pin",
                    p.guard_id,
                    p.shift_id,
                    f"Pinned seat (post {p.post_id}, {p.skill}) is not kept.",
                )
            )
    cut = problem.freeze_before
    if cut is None:
        return
    past = {a for a in problem.previous if a.shift_id in shifts and shifts[a.shift_id].start < cut}
    for a in sorted(past - have, key=lambda x: (x.shift_id, x.guard_id)):
        out.append(
            Violation(
                "frozen",
                a.guard_id,
                a.shift_id,
                f"Past seat (post {a.post_id}, {a.skill}) was changed.",
            )
        )
    for a in roster:
        s = shifts.get(a.shift_id)
        if s is not None and s.start < cut and a not in past:
            out.append(
                Violation(
                    "frozen",
                    a.guard_id,
                    a.shift_id,
                    f"Seat (post {a.post_id}, {a.skill}) added to a past shift.",
                )
            )
