"""Lookups shared by the solver, the explanations and the suggestions (not by the checker)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from .types import Assignment, Guard, Post, Problem, Shift

FOREVER = date.max


def hours(shift: Shift) -> float:
    """Length of a shift in hours."""
    return (shift.end - shift.start).total_seconds() / 3600


def gap_hours(a: Shift, b: Shift) -> float:
    """Hours between two shifts, negative when they overlap."""
    return max((b.start - a.end).total_seconds(), (a.start - b.end).total_seconds()) / 3600


def week_of(day: date) -> tuple[int, int]:
    """ISO year and week of a day."""
    iso = day.isocalendar()
    return iso[0], iso[1]


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two lon, lat points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


@dataclass(slots=True)
class DogLimits:
    """The strictest limits over a handler's active dogs."""

    max_hours_day: float
    min_rest_hours: float


@dataclass(slots=True)
class Ledger:
    """What one guard already works: shifts (and whether canine), hours per day and week."""

    shifts: list[tuple[Shift, bool]] = field(default_factory=list)
    day_hours: dict[date, float] = field(default_factory=lambda: defaultdict(float))
    week_hours: dict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    canine_hours: dict[date, float] = field(default_factory=lambda: defaultdict(float))
    nights: int = 0
    weekends: int = 0

    def add(self, shift: Shift, canine: bool) -> None:
        """Record a shift."""
        self.shifts.append((shift, canine))
        day = shift.start.date()
        self.day_hours[day] += hours(shift)
        self.week_hours[week_of(day)] += hours(shift)
        if canine:
            self.canine_hours[day] += hours(shift)
        self.nights += shift.night
        self.weekends += shift.weekend

    def remove(self, shift: Shift, canine: bool) -> None:
        """Forget a shift recorded with ``add``."""
        self.shifts.remove((shift, canine))
        day = shift.start.date()
        self.day_hours[day] -= hours(shift)
        if self.day_hours[day] <= 1e-9:
            del self.day_hours[day]
        self.week_hours[week_of(day)] -= hours(shift)
        if canine:
            self.canine_hours[day] -= hours(shift)
        self.nights -= shift.night
        self.weekends -= shift.weekend

    def run_through(self, day: date) -> int:
        """Consecutive worked days if ``day`` were worked too."""
        worked = self.day_hours
        run = 1
        d = day.toordinal() - 1
        while date.fromordinal(d) in worked:
            run += 1
            d -= 1
        d = day.toordinal() + 1
        while date.fromordinal(d) in worked:
            run += 1
            d += 1
        return run


class Index:
    """Lookups over a problem: guards, skills, dogs, shifts, posts and places."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.rules = problem.rules
        self.guards = {g.id: g for g in problem.guards}
        self.shifts = {s.id: s for s in problem.shifts}
        self.posts = {p.id: p for p in problem.posts}
        self.skills: dict[int, dict[str, date]] = {}
        for g in problem.guards:
            held: dict[str, date] = {}
            for q in g.qualifications:
                exp = q.expires or FOREVER
                if exp > held.get(q.skill, date.min):
                    held[q.skill] = exp
            self.skills[g.id] = held
        self.holders: dict[str, list[Guard]] = defaultdict(list)
        for g in problem.guards:
            for skill in self.skills[g.id]:
                self.holders[skill].append(g)
        self.dogs: dict[int, DogLimits] = {}
        for dog in problem.dogs:
            if not dog.active:
                continue
            cur = self.dogs.get(dog.handler_id)
            if cur is None:
                self.dogs[dog.handler_id] = DogLimits(dog.max_hours_day, dog.min_rest_hours)
            else:
                cur.max_hours_day = min(cur.max_hours_day, dog.max_hours_day)
                cur.min_rest_hours = max(cur.min_rest_hours, dog.min_rest_hours)
        pts: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for p in problem.posts:
            pts.setdefault(p.place, [])
            if p.location is not None:
                pts[p.place].append(p.location)
        self.place_location: dict[str, tuple[float, float] | None] = {
            place: (
                (sum(x for x, _ in locs) / len(locs), sum(y for _, y in locs) / len(locs))
                if locs
                else None
            )
            for place, locs in pts.items()
        }
        self.places = sorted(self.place_location)

    def week_limit(self, guard: Guard) -> float:
        """Return the guard's weekly hours limit."""
        if guard.max_hours_week is not None:
            return guard.max_hours_week
        return self.rules.max_hours_week

    def qualified(self, guard: Guard, skill: str, day: date, gender: str | None) -> bool:
        """Whether the guard may fill a seat needing ``skill`` (and ``gender``) on ``day``."""
        if gender is not None and guard.gender != gender:
            return False
        exp = self.skills[guard.id].get(skill)
        if exp is None or exp < day:
            return False
        return not (skill == "canine" and guard.id not in self.dogs)

    def available(self, guard: Guard, shift: Shift) -> bool:
        """Whether the shift misses all the guard's leave and absences."""
        return all(shift.end <= a or shift.start >= b for a, b in guard.unavailable)

    def fits(self, guard: Guard, ledger: Ledger, shift: Shift, canine: bool) -> str | None:
        """Why the shift cannot be added to the guard's ledger, or None when it can."""
        rules = self.rules
        if not self.available(guard, shift):
            return "unavailable"
        dog = self.dogs.get(guard.id) if canine else None
        for other, other_canine in ledger.shifts:
            gap = gap_hours(shift, other)
            if other.id == shift.id or gap < 0:
                return "overlap"
            if gap < rules.min_rest_hours:
                return "rest"
            if dog is not None and other_canine and gap < dog.min_rest_hours:
                return "dog_rest"
        h = hours(shift)
        day = shift.start.date()
        if ledger.day_hours.get(day, 0.0) + h > rules.max_hours_day + 1e-9:
            return "hours_day"
        if ledger.week_hours.get(week_of(day), 0.0) + h > self.week_limit(guard) + 1e-9:
            return "hours_exhausted"
        if dog is not None and ledger.canine_hours.get(day, 0.0) + h > dog.max_hours_day + 1e-9:
            return "dog_hours"
        if day not in ledger.day_hours and ledger.run_through(day) > rules.max_consecutive_days:
            return "consecutive_days"
        return None

    def home_place(self, guard: Guard) -> str | None:
        """Return the place a guard belongs to: stated, or nearest to the guard's base."""
        if guard.home_place is not None and guard.home_place in self.place_location:
            return guard.home_place
        if guard.base is None:
            return None
        best: tuple[float, str] | None = None
        for place, loc in self.place_location.items():
            if loc is not None:
                d = km(guard.base, loc)
                if best is None or d < best[0]:
                    best = (d, place)
        return best[1] if best else None

    def neighbours(self, place: str, count: int) -> list[str]:
        """Return the ``count`` places nearest to ``place`` (itself excluded)."""
        here = self.place_location.get(place)
        if here is None:
            return [p for p in self.places if p != place][:count]
        ranked = sorted(
            (km(here, loc), p)
            for p, loc in self.place_location.items()
            if p != place and loc is not None
        )
        return [p for _, p in ranked[:count]]

    def distance(self, guard: Guard, post: Post) -> float | None:
        """Km from the guard's base to the post, when both are known."""
        loc = post.location or self.place_location.get(post.place)
        if guard.base is None or loc is None:
            return None
        return km(guard.base, loc)

    def ledgers(self, assignments: tuple[Assignment, ...] | list[Assignment]) -> dict[int, Ledger]:
        """Ledgers of every guard for a roster."""
        out: dict[int, Ledger] = {g: Ledger() for g in self.guards}
        for a in assignments:
            shift = self.shifts.get(a.shift_id)
            if shift is not None and a.guard_id in out:
                out[a.guard_id].add(shift, a.skill == "canine")
        return out


def frozen(problem: Problem, shift: Shift) -> bool:
    """Whether a shift lies in the frozen past."""
    return problem.freeze_before is not None and shift.start < problem.freeze_before
