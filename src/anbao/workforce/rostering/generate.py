"""A generated event for tests and benchmarks: places, posts, shifts, needs, guards and dogs."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from .types import (
    Assignment,
    Dog,
    Guard,
    Need,
    Post,
    Problem,
    Qualification,
    Shift,
    Solution,
)

VENUE = (116.397, 39.908)  # lon, lat of the event's centre
DEFAULT_START = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday
SQUAD_SIZE = 12
HANDLERS_PER_CANINE_PLACE = 5

# Posts of one place, in the order they are handed out when posts do not divide evenly.
_SLOTS = (
    ["main_lane"]
    + [f"lane{i}" for i in range(1, 10)]
    + ["patrol", "patrol", "canine_patrol", "command", "reserve", "vip_route"]
)


def _kind(slot: str) -> str:
    if "lane" in slot:
        return "lane"
    if "patrol" in slot:
        return "patrol"
    return slot


def _seats(
    slot: str, night: bool, peak: bool, canine: bool
) -> list[tuple[str, int, str | None, bool]]:
    """Seats (skill, count, gender, soft) a post of this slot needs in one shift."""
    if slot == "main_lane":
        if night:
            return [("xray", 1, None, False), ("search", 1, "female", False)]
        return [
            ("xray", 1, None, False),
            ("search", 2, None, False),
            ("search", 1, "female", False),
            ("leader", 1, None, False),
        ]
    if slot.startswith("lane"):
        n = int(slot[4:])
        if night:
            return [("xray", 1, None, False), ("search", 1, None, False)] if n <= 2 else []
        if n <= 5:
            return [("xray", 1, None, False), ("search", 1, None, False)]
        return [("search", 1, None, False)] if peak else []
    if slot == "patrol":
        return [("licence", 1, None, False)]
    if slot == "canine_patrol":
        if canine and not night:
            return [("canine", 1, None, False)]
        return [("licence", 1, None, False)]
    if slot == "command":
        return [("leader", 1, None, False), ("licence", 1, None, False)]
    if slot == "reserve":
        return [("licence", 1 if night else 2, None, True)]
    if slot == "vip_route":
        return [] if night else [("driver", 1, None, False), ("licence", 1, None, False)]
    return []


def generate_event(
    *,
    guards: int = 3000,
    posts: int = 400,
    days: int = 14,
    shifts_per_day: int = 3,
    seed: int = 1,
    start: datetime | None = None,
) -> Problem:
    """Generate a realistic event whose demand fits the guards with some slack."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    begin = start or DEFAULT_START
    n_places = max(1, round(posts / len(_SLOTS)))
    places = [f"CP{i + 1:02d}" for i in range(n_places)]
    where = {
        p: (VENUE[0] + rng.uniform(-0.06, 0.06), VENUE[1] + rng.uniform(-0.04, 0.04))
        for p in places
    }
    canine_places = set(places[::2])

    post_list: list[tuple[Post, str]] = []
    for slot in _SLOTS:
        for place in places:
            if len(post_list) >= posts:
                break
            loc = (
                where[place][0] + rng.uniform(-0.003, 0.003),
                where[place][1] + rng.uniform(-0.002, 0.002),
            )
            pid = len(post_list) + 1
            post_list.append((Post(pid, f"{place}-{slot.upper()}", place, loc, _kind(slot)), slot))

    length = timedelta(hours=24 / shifts_per_day)
    first = datetime.combine(begin.date(), time(6), tzinfo=begin.tzinfo or UTC)
    shift_list: list[Shift] = []
    for d in range(days):
        for k in range(shifts_per_day):
            s = first + timedelta(days=d) + k * length
            night = s.hour >= 18 or s.hour < 4
            shift_list.append(Shift(len(shift_list) + 1, s, s + length, night, s.weekday() >= 5))

    needs: list[Need] = []
    for shift in shift_list:
        peak = shift.start.hour == 6
        for post, slot in post_list:
            for skill, count, gender, soft in _seats(
                slot, shift.night, peak, post.place in canine_places
            ):
                needs.append(Need(post.id, shift.id, skill, count, gender, soft))

    guard_list, dogs = _guards(
        rng, guards, places, where, canine_places, shift_list, begin.date(), days
    )
    return Problem(
        guards=tuple(guard_list),
        dogs=tuple(dogs),
        posts=tuple(p for p, _ in post_list),
        shifts=tuple(shift_list),
        needs=tuple(needs),
    )


def _guards(
    rng: random.Random,
    count: int,
    places: list[str],
    where: dict[str, tuple[float, float]],
    canine_places: set[str],
    shifts: list[Shift],
    first_day: date,
    days: int,
) -> tuple[list[Guard], list[Dog]]:
    """Guards in squads of twelve per place, with skill mixes, leave and wishes."""
    out: list[Guard] = []
    dogs: list[Dog] = []
    per_place: dict[str, int] = dict.fromkeys(places, 0)
    tz = shifts[0].start.tzinfo if shifts else UTC
    for i in range(count):
        gid = i + 1
        place = places[i % len(places)]
        rank = per_place[place]
        per_place[place] += 1
        squad = f"{place}-S{rank // SQUAD_SIZE + 1:02d}"
        gender = "female" if rng.random() < 0.35 else "male"
        skills: dict[str, date | None] = {"licence": None}
        if rng.random() < 0.30:
            skills["xray"] = None
        if rng.random() < 0.50:
            skills["search"] = None
        if rank % SQUAD_SIZE == 0:
            skills["leader"] = None
        for skill, share in (
            ("first_aid", 0.2),
            ("english", 0.15),
            ("driver", 0.1),
            ("vehicle", 0.1),
        ):
            if rng.random() < share:
                skills[skill] = None
        handler = (
            place in canine_places and rank % 24 == 5 and (rank // 24 < HANDLERS_PER_CANINE_PLACE)
        )
        if handler:
            skills["canine"] = None
            dogs.append(Dog(len(dogs) + 1, gid))
        # A few certificates run out during the event (xray) or before it (first aid).
        if "xray" in skills and rng.random() < 0.03:
            skills["xray"] = first_day + timedelta(days=rng.randrange(max(1, days)))
        if "first_aid" in skills and rng.random() < 0.05:
            skills["first_aid"] = first_day - timedelta(days=1)
        leave: tuple[tuple[datetime, datetime], ...] = ()
        if rng.random() < 0.05:
            d0 = rng.randrange(max(1, days))
            start = datetime.combine(first_day + timedelta(days=d0), time(0), tzinfo=tz)
            leave = ((start, start + timedelta(days=rng.randint(1, 3))),)
        prefers_off: frozenset[int] = frozenset()
        prefers_on: frozenset[int] = frozenset()
        if shifts and rng.random() < 0.10:
            prefers_off = frozenset(rng.choice(shifts).id for _ in range(rng.randint(1, 2)))
        if shifts and rng.random() < 0.05:
            prefers_on = frozenset({rng.choice(shifts).id}) - prefers_off
        base = (
            where[place][0] + rng.uniform(-0.02, 0.02),
            where[place][1] + rng.uniform(-0.015, 0.015),
        )
        out.append(
            Guard(
                id=gid,
                gender=gender,
                qualifications=tuple(Qualification(k, v) for k, v in sorted(skills.items())),
                squad=squad,
                base=base,
                unavailable=leave,
                prefers_off=prefers_off,
                prefers_on=prefers_on,
                home_place=place,
            )
        )
    return out, dogs


def absences(
    problem: Problem, solution: Solution, *, count: int = 50, day: int = 3, seed: int = 2
) -> Problem:
    """Mark ``count`` rostered guards absent from day ``day`` on and freeze the days before."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    if not problem.shifts:
        return problem
    first = min(s.start for s in problem.shifts)
    cut = datetime.combine(first.date() + timedelta(days=day), time(0), tzinfo=first.tzinfo)
    last = max(s.end for s in problem.shifts)
    shifts = {s.id: s for s in problem.shifts}
    later = sorted({a.guard_id for a in solution.assignments if shifts[a.shift_id].start >= cut})
    chosen = set(rng.sample(later, min(count, len(later))))
    # The absence starts once the guard's last shift begun before the cut has ended.
    busy_until: dict[int, datetime] = {}
    for a in solution.assignments:
        s = shifts[a.shift_id]
        if a.guard_id in chosen and s.start < cut:
            busy_until[a.guard_id] = max(busy_until.get(a.guard_id, cut), s.end)
    guards = tuple(
        replace(g, unavailable=(*g.unavailable, (busy_until.get(g.id, cut), last)))
        if g.id in chosen
        else g
        for g in problem.guards
    )
    previous: tuple[Assignment, ...] = solution.assignments
    return replace(problem, guards=guards, previous=previous, freeze_before=cut)
