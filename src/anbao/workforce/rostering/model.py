"""The CP-SAT model of one window: the shifts of one calendar day for a set of guards."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ortools.sat.python import cp_model

from .index import Index, Ledger, gap_hours, hours, week_of
from .types import Guard, Shift

GroupKey = tuple[int, str, str, str | None, bool]
"""Seats pooled by (shift id, place, skill, gender, soft)."""


@dataclass(slots=True)
class Group:
    """Open seats of one kind at one place in one shift."""

    key: GroupKey
    capacity: int
    shift: Shift


@dataclass(slots=True)
class WindowResult:
    """Chosen (guard id, group index) pairs and the sub-problem's figures."""

    picks: list[tuple[int, int]]
    objective: float
    bound: float
    optimal: bool
    solved: bool


Cost = Callable[[Guard, Group], int]


class _Callback(cp_model.CpSolverSolutionCallback):
    """Report each improving solution and stop on request."""

    def __init__(
        self, report: Callable[[float, float], None] | None, stop: threading.Event | None
    ) -> None:
        super().__init__()
        self._report = report
        self._stop = stop

    def on_solution_callback(self) -> None:
        """Forward the objective and bound; stop the search when asked."""
        if self._report is not None:
            self._report(self.objective_value, self.best_objective_bound)
        if self._stop is not None and self._stop.is_set():
            self.stop_search()


def solve_window(
    idx: Index,
    ledgers: dict[int, Ledger],
    groups: list[Group],
    candidates: list[list[Guard]],
    cost: Cost,
    *,
    hint: set[tuple[int, int]] | None = None,
    time_limit: float = 1.0,
    workers: int = 2,
    seed: int = 0,
    report: Callable[[float, float], None] | None = None,
    stop: threading.Event | None = None,
) -> WindowResult:
    """Pick guards for the groups; every pick respects the ledgers and the window's rules."""
    model = cp_model.CpModel()
    xs: dict[tuple[int, int], cp_model.IntVar] = {}
    per_guard: dict[int, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
    objective: list[tuple[cp_model.IntVar, int]] = []
    fit_cache: dict[tuple[int, int, bool], bool] = {}
    for gi, (group, people) in enumerate(zip(groups, candidates, strict=True)):
        canine = group.key[2] == "canine"
        terms = []
        for guard in people:
            ck = (guard.id, group.shift.id, canine)
            ok = fit_cache.get(ck)
            if ok is None:
                ok = idx.fits(guard, ledgers[guard.id], group.shift, canine) is None
                fit_cache[ck] = ok
            if not ok:
                continue
            x = model.new_bool_var("")
            xs[(guard.id, gi)] = x
            per_guard[guard.id].append((gi, x))
            terms.append(x)
            objective.append((x, cost(guard, group)))
        if len(terms) > group.capacity:
            model.add(sum(terms) <= group.capacity)
    for gid, items in per_guard.items():
        _guard_constraints(idx, idx.guards[gid], ledgers[gid], groups, items, model)
    if not xs:
        return WindowResult([], 0.0, 0.0, True, True)
    model.minimize(sum(c * x for x, c in objective))
    if hint:
        for key, x in xs.items():
            model.add_hint(x, key in hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    callback = _Callback(report, stop)
    status = solver.solve(model, callback)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return WindowResult([], 0.0, solver.best_objective_bound, False, False)
    picks = [key for key, x in xs.items() if solver.boolean_value(x)]
    return WindowResult(
        picks,
        solver.objective_value,
        solver.best_objective_bound,
        status == cp_model.OPTIMAL,
        True,
    )


def _guard_constraints(
    idx: Index,
    guard: Guard,
    ledger: Ledger,
    groups: list[Group],
    items: list[tuple[int, cp_model.IntVar]],
    model: cp_model.CpModel,
) -> None:
    """One seat per shift, rest, hours per day and week, consecutive days and dog limits.

    Each shift alone was checked against the guard's ledger before its variables were made,
    so only combinations of the window's own shifts need constraints here.
    """
    by_shift: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    canine_by_shift: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    shifts: dict[int, Shift] = {}
    for gi, x in items:
        s = groups[gi].shift
        shifts[s.id] = s
        by_shift[s.id].append(x)
        if groups[gi].key[2] == "canine":
            canine_by_shift[s.id].append(x)
    ids = sorted(shifts, key=lambda i: (shifts[i].start, i))
    by_day: dict[date, list[int]] = defaultdict(list)
    for i in ids:
        by_day[shifts[i].start.date()].append(i)
    min_rest = idx.rules.min_rest_hours
    clash = {
        (a, b)
        for n, a in enumerate(ids)
        for b in ids[n + 1 :]
        if gap_hours(shifts[a], shifts[b]) < min_rest
    }
    # A day whose shifts all clash holds one seat at most: one clique instead of many pairs.
    whole_days = {
        day
        for day, day_ids in by_day.items()
        if all((a, b) in clash for n, a in enumerate(day_ids) for b in day_ids[n + 1 :])
    }
    for day in whole_days:
        xs = [x for i in by_day[day] for x in by_shift[i]]
        if len(xs) > 1:
            model.add_at_most_one(xs)
    for i in ids:
        if shifts[i].start.date() not in whole_days and len(by_shift[i]) > 1:
            model.add_at_most_one(by_shift[i])
    for a, b in sorted(clash):
        da, db = shifts[a].start.date(), shifts[b].start.date()
        if not (da == db and da in whole_days):
            model.add_at_most_one(by_shift[a] + by_shift[b])
    reach: dict[date, float] = {}
    for day, day_ids in by_day.items():
        if day in whole_days:
            reach[day] = max(hours(shifts[i]) for i in day_ids)
        else:
            reach[day] = sum(hours(shifts[i]) for i in day_ids)
            room = idx.rules.max_hours_day - ledger.day_hours.get(day, 0.0)
            _cap(model, by_shift, shifts, day_ids, room)
    for week in sorted({week_of(d) for d in by_day}):
        days = [d for d in by_day if week_of(d) == week]
        room = idx.week_limit(guard) - ledger.week_hours.get(week, 0.0)
        if len(days) > 1 and sum(reach[d] for d in days) > room + 1e-9:
            _cap(model, by_shift, shifts, [i for d in days for i in by_day[d]], room)
    if len(by_day) > 1:
        _consecutive(idx, ledger, by_day, by_shift, whole_days, model)
    dog = idx.dogs.get(guard.id)
    if dog is not None and len(canine_by_shift) > 1:
        cids = sorted(canine_by_shift, key=lambda i: shifts[i].start)
        for n, a in enumerate(cids):
            for b in cids[n + 1 :]:
                if gap_hours(shifts[a], shifts[b]) < dog.min_rest_hours:
                    model.add_at_most_one(canine_by_shift[a] + canine_by_shift[b])
        for day in sorted({shifts[c].start.date() for c in cids}):
            room = dog.max_hours_day - ledger.canine_hours.get(day, 0.0)
            same = [c for c in cids if shifts[c].start.date() == day]
            _cap(model, canine_by_shift, shifts, same, room)


def _consecutive(
    idx: Index,
    ledger: Ledger,
    by_day: dict[date, list[int]],
    by_shift: dict[int, list[cp_model.IntVar]],
    whole_days: set[date],
    model: cp_model.CpModel,
) -> None:
    """At most ``max_consecutive_days`` worked days in any run of one more calendar day."""
    limit = idx.rules.max_consecutive_days
    open_days = sorted(d for d in by_day if d not in ledger.day_hours)
    if len(open_days) < 2:
        return
    worked: dict[date, cp_model.LinearExprT] = {}
    first, last = open_days[0].toordinal(), open_days[-1].toordinal()
    for start in range(first - limit, last + 1):
        block = [date.fromordinal(o) for o in range(start, start + limit + 1)]
        free = [d for d in block if d in open_days]
        fixed = sum(1 for d in block if d in ledger.day_hours)
        if len(free) < 2 or fixed + len(free) <= limit:
            continue
        for d in free:
            if d not in worked:
                xs = [x for i in by_day[d] for x in by_shift[i]]
                if d in whole_days:
                    worked[d] = sum(xs)
                else:
                    w = model.new_bool_var("")
                    for x in xs:
                        model.add_implication(x, w)
                    worked[d] = w
        model.add(sum(worked[d] for d in free) <= limit - fixed)


def _cap(
    model: cp_model.CpModel,
    by_shift: dict[int, list[cp_model.IntVar]],
    shifts: dict[int, Shift],
    ids: list[int],
    room: float,
) -> None:
    """Limit the hours of the chosen shifts among ``ids`` to ``room`` (skipped when slack)."""
    if sum(hours(shifts[i]) for i in ids) <= room + 1e-9:
        return
    scale = 60  # minutes keep the constraint integral
    model.add(
        sum(round(hours(shifts[i]) * scale) * x for i in ids for x in by_shift[i])
        <= math.floor(room * scale + 1e-6)
    )
