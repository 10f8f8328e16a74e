"""CP-SAT model of the Shift Scheduling Benchmark, with a large-neighbourhood search on top.

One model builder serves both the whole problem and its neighbourhoods: a cell (employee, day)
is either free (a Boolean per allowed shift) or fixed to the incumbent's value, and every rule is
written so that fixed cells fold into constants. A neighbourhood model therefore only holds the
variables it frees, which is what lets the search scale to a year of 150 people.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from anbao.workforce.ssb.reader import Instance

Row = list[str | None]
Progress = Callable[[float, int, str], None]

#: Above this many shift variables the whole model is only used to find a first answer.
LNS_THRESHOLD = 8_000
#: Above this many the final whole-model pass (for a bound) is skipped.
WHOLE_MAX = 15_000
#: How instances up to ``LNS_THRESHOLD`` variables are solved.
SMALL_STRATEGY = "hybrid"
#: Time limit of one neighbourhood solve, in seconds.
STEP_SECONDS = 0.5
#: Column generation is used when one employee's own model has at most this many variables
#: on average (each pricing step solves one such model per employee).
COLUMNS_MAX_PER_EMPLOYEE = 800
#: Pricing work (state cells times steps of the dynamic programme, summed over the employees)
#: that one second of the time limit allows column generation: about 40 rounds in 40 % of the
#: limit at some 30 million cells a second on one shared core. Instance14 (34 million a
#: round) fits a minute, Instance15 (124 million) and Instance13 (365 million) do not.
COLUMNS_WORK_PER_SECOND = 1_000_000
#: Shift variables a dive leaves free for the cell model to complete (with ``DIVE_LEAVE``):
#: about ten people of Instance12, which CP-SAT completes to within 0.2 % of the optimum in
#: 8 s; twice that many come out 13 % above it.
DIVE_SPARE = 1_800
#: The completion after a dive gets at least this share of the limit.
COMPLETE_SHARE = 0.12
#: Share of neighbourhoods centred on the costly days and people rather than drawn at random.
AIMED_SHARE = 0.5


@dataclass(slots=True)
class Result:
    """The best schedule found, its objective, CP-SAT's proven lower bound and how long it took.

    ``gap`` is (objective - bound) / objective; ``schedule[i][d]`` is the shift id employee
    ``instance.staff[i]`` works on day ``d`` (None: off); ``log`` holds (seconds, objective)
    at each improvement.
    """

    objective: int | None
    bound: int | None
    gap: float | None
    status: str
    seconds: float
    schedule: list[Row] | None
    iterations: int = 0
    log: list[tuple[float, int]] = field(default_factory=list)


class _Infeasible(Exception):
    """A neighbourhood whose fixed part already breaks a rule (the incumbent is not feasible)."""


Lit = Any  # a CP-SAT literal, or a Python bool for a fixed cell


class _Model:
    """Build the CP-SAT model for the cells in ``free``; the rest are fixed to ``fixed``."""

    def __init__(
        self,
        inst: Instance,
        free_emps: Sequence[int],
        lo: int,
        hi: int,
        fixed: Sequence[Sequence[str | None]] | None,
        *,
        soft: bool = True,
    ) -> None:
        self.inst = inst
        self.soft = soft
        self.m = cp_model.CpModel()
        self.lo, self.hi = lo, hi
        self.free_emps = sorted(set(free_emps))
        self.free_set = set(self.free_emps)
        self.fixed = fixed
        self.h = inst.horizon
        self.shift_ids = [s.id for s in inst.shifts]
        self.sidx = {s: k for k, s in enumerate(self.shift_ids)}
        # x[(e, d)] maps shift index -> variable for free cells.
        self.x: dict[tuple[int, int], dict[int, cp_model.IntVar]] = {}
        self.off: dict[tuple[int, int], cp_model.IntVar] = {}
        self.obj_terms: list[Any] = []
        # Auxiliary variables, kept so that a hint can give them values too.
        self.wk_aux: list[tuple[cp_model.IntVar, int, list[int]]] = []
        self.cover_aux: list[tuple[Any, Any, Any, int, str, int]] = []
        self.offset = 0
        self._build()

    # -- cells ---------------------------------------------------------------------------------
    def is_free(self, e: int, d: int) -> bool:
        return e in self.free_set and self.lo <= d < self.hi

    def fixed_shift(self, e: int, d: int) -> int | None:
        if self.fixed is None:
            return None
        sid = self.fixed[e][d]
        return None if sid is None else self.sidx[sid]

    def xs(self, e: int, d: int, k: int) -> Lit:
        if self.is_free(e, d):
            cell = self.x.get((e, d))
            return False if cell is None else cell.get(k, False)
        return self.fixed_shift(e, d) == k

    def work(self, e: int, d: int) -> Lit:
        if self.is_free(e, d):
            off = self.off.get((e, d))
            return False if off is None else off.Not()
        return self.fixed_shift(e, d) is not None

    @staticmethod
    def neg(lit: Lit) -> Lit:
        return (not lit) if isinstance(lit, bool) else lit.Not()

    def clause(self, lits: Sequence[Lit]) -> None:
        keep = []
        for lit in lits:
            if isinstance(lit, bool):
                if lit:
                    return
            else:
                keep.append(lit)
        if not keep:
            raise _Infeasible
        self.m.add_bool_or(keep)

    # -- rules ---------------------------------------------------------------------------------
    def _build(self) -> None:
        inst, h, m = self.inst, self.h, self.m
        for e in self.free_emps:
            emp = inst.staff[e]
            days_off = inst.days_off.get(emp.id, frozenset())
            allowed = [k for k, sid in enumerate(self.shift_ids) if emp.max_shifts.get(sid, h) > 0]
            for d in range(self.lo, self.hi):
                if d in days_off or not allowed:
                    continue
                cell = {k: m.new_bool_var(f"x{e}_{d}_{k}") for k in allowed}
                off = m.new_bool_var(f"o{e}_{d}")
                m.add_exactly_one([*cell.values(), off])
                self.x[(e, d)] = cell
                self.off[(e, d)] = off
        for e in self.free_emps:
            self._employee(e)
        if self.soft:
            self._cover()
            self._requests()

    def _touches(self, d0: int, d1: int) -> bool:
        """Whether days d0..d1 (inclusive) overlap the free window."""
        return d1 >= self.lo and d0 < self.hi

    def _employee(self, e: int) -> None:
        inst, h, m = self.inst, self.h, self.m
        emp = inst.staff[e]
        shifts = inst.shifts
        # Forbidden successions: a shift and all its forbidden successors next day, at most one.
        for d in range(max(0, self.lo - 1), min(self.hi, h - 1)):
            for k, s in enumerate(shifts):
                if not s.forbidden_next:
                    continue
                group = [self.xs(e, d, k)] + [
                    self.xs(e, d + 1, self.sidx[b]) for b in s.forbidden_next
                ]
                if sum(1 for g in group if g is True) > 1:
                    raise _Infeasible
                if any(g is True for g in group):
                    for g in group:
                        if not isinstance(g, bool):
                            m.add(g == 0)
                    continue
                lits = [g for g in group if not isinstance(g, bool)]
                if len(lits) > 1:
                    m.add_at_most_one(lits)
        # Per-type limits and total minutes.
        minutes_const = 0
        minutes_terms = []
        counts_const = [0] * len(shifts)
        counts_terms: list[list[Any]] = [[] for _ in shifts]
        for d in range(h):
            if self.is_free(e, d):
                for k, v in self.x.get((e, d), {}).items():
                    counts_terms[k].append(v)
                    minutes_terms.append(shifts[k].minutes * v)
            else:
                k2 = self.fixed_shift(e, d)
                if k2 is not None:
                    counts_const[k2] += 1
                    minutes_const += shifts[k2].minutes
        for k, s in enumerate(shifts):
            limit = emp.max_shifts.get(s.id, h)
            if counts_terms[k] and counts_const[k] + len(counts_terms[k]) > limit:
                m.add(sum(counts_terms[k]) <= limit - counts_const[k])
        if minutes_terms:
            total = sum(minutes_terms)
            m.add(total <= emp.max_total_minutes - minutes_const)
            m.add(total >= emp.min_total_minutes - minutes_const)
        # Max consecutive working days: every window of max+1 days has a day off.
        mx = emp.max_consecutive_shifts
        for d in range(0, h - mx):
            if self._touches(d, d + mx):
                self.clause([self.neg(self.work(e, j)) for j in range(d, d + mx + 1)])
        # Min run lengths; a run touching either end of the horizon is exempt.
        for s_len in range(1, emp.min_consecutive_shifts):
            for d in range(0, h - s_len - 1):
                if self._touches(d, d + s_len + 1):
                    mid = [self.neg(self.work(e, j)) for j in range(d + 1, d + s_len + 1)]
                    self.clause([self.work(e, d), *mid, self.work(e, d + s_len + 1)])
        for s_len in range(1, emp.min_consecutive_days_off):
            for d in range(0, h - s_len - 1):
                if self._touches(d, d + s_len + 1):
                    mid = [self.work(e, j) for j in range(d + 1, d + s_len + 1)]
                    self.clause(
                        [self.neg(self.work(e, d)), *mid, self.neg(self.work(e, d + s_len + 1))]
                    )
        # Weekends: a weekend counts once if Saturday or Sunday is worked.
        wk_const = 0
        wk_terms = []
        for sat in range(5, h, 7):
            days = [sat] + ([sat + 1] if sat + 1 < h else [])
            lits = [self.work(e, d) for d in days]
            if any(lit is True for lit in lits):
                wk_const += 1
                continue
            var_lits = [lit for lit in lits if not isinstance(lit, bool)]
            if not var_lits:
                continue
            if len(var_lits) == 1:
                wk_terms.append(var_lits[0])
                continue
            wk = m.new_bool_var(f"w{e}_{sat}")
            self.wk_aux.append((wk, e, days))
            for lit in var_lits:
                m.add_implication(lit, wk)
            wk_terms.append(wk)
        if wk_terms:
            m.add(sum(wk_terms) <= emp.max_weekends - wk_const)
        elif wk_const > emp.max_weekends:
            raise _Infeasible

    def _cover(self) -> None:
        m = self.m
        # People on each (day, shift) among the fixed cells, counted once rather than per entry.
        fixed_count: dict[tuple[int, str], int] = {}
        if self.fixed is not None:
            for e, row in enumerate(self.fixed):
                free_row = e in self.free_set
                for d, sid in enumerate(row):
                    if sid is not None and not (free_row and self.lo <= d < self.hi):
                        fixed_count[(d, sid)] = fixed_count.get((d, sid), 0) + 1
        for c in self.inst.cover:
            k = self.sidx[c.shift]
            const = fixed_count.get((c.day, c.shift), 0)
            terms = []
            if self.lo <= c.day < self.hi:
                for e in self.free_emps:
                    cell = self.x.get((e, c.day))
                    if cell is not None and k in cell:
                        terms.append(cell[k])
            if not terms:
                self.offset += c.under_weight * max(0, c.requirement - const)
                self.offset += c.over_weight * max(0, const - c.requirement)
                continue
            need = c.requirement - const
            under = m.new_int_var(0, max(0, need), f"u{c.day}_{k}")
            over = m.new_int_var(0, max(0, len(terms) - need), f"v{c.day}_{k}")
            m.add(sum(terms) + under - over == need)
            # Without this a non-optimal answer may pay for both a shortfall and an excess.
            short = None
            if need > 0 and len(terms) > need:
                short = m.new_bool_var(f"s{c.day}_{k}")
                m.add(over == 0).only_enforce_if(short)
                m.add(under == 0).only_enforce_if(short.Not())
            self.cover_aux.append((under, over, short, c.day, c.shift, c.requirement))
            self.obj_terms += [c.under_weight * under, c.over_weight * over]

    def _requests(self) -> None:
        index = {e.id: i for i, e in enumerate(self.inst.staff)}
        for r in self.inst.on_requests:
            lit = self.xs(index[r.employee], r.day, self.sidx[r.shift])
            if isinstance(lit, bool):
                self.offset += 0 if lit else r.weight
            else:
                self.offset += r.weight
                self.obj_terms.append(-r.weight * lit)
        for r in self.inst.off_requests:
            lit = self.xs(index[r.employee], r.day, self.sidx[r.shift])
            if isinstance(lit, bool):
                self.offset += r.weight if lit else 0
            else:
                self.obj_terms.append(r.weight * lit)

    # -- solving -------------------------------------------------------------------------------
    def finish(self, hint: Sequence[Sequence[str | None]] | None) -> None:
        self.m.minimize(sum(self.obj_terms) + self.offset)
        if hint is None:
            return
        for (e, d), cell in self.x.items():
            sid = hint[e][d]
            k = None if sid is None else self.sidx.get(sid)
            for kk, v in cell.items():
                self.m.add_hint(v, kk == k)
            self.m.add_hint(self.off[(e, d)], k is None or k not in cell)
        # A complete hint lets CP-SAT start from the incumbent without any search.
        for wk, e, days in self.wk_aux:
            self.m.add_hint(wk, any(hint[e][d] is not None for d in days))
        for under, over, short, day, sid, req in self.cover_aux:
            n = sum(1 for row in hint if row[day] == sid)
            self.m.add_hint(under, max(0, req - n))
            self.m.add_hint(over, max(0, n - req))
            if short is not None:
                self.m.add_hint(short, n < req)

    def read(
        self, solver: cp_model.CpSolver, base: Sequence[Sequence[str | None]] | None
    ) -> list[Row]:
        h = self.h
        if base is None:
            out: list[Row] = [[None] * h for _ in self.inst.staff]
        else:
            out = [list(row) for row in base]
        for e in self.free_emps:
            for d in range(self.lo, self.hi):
                out[e][d] = None
                for k, v in self.x.get((e, d), {}).items():
                    if solver.boolean_value(v):
                        out[e][d] = self.shift_ids[k]
        return out

    def size(self) -> int:
        return sum(len(c) for c in self.x.values())


def columns_fit(inst: Instance, time_limit: float) -> bool:
    """Whether column generation can converge and dive in ``time_limit``, judged by size."""
    from anbao.workforce.ssb.pricing import DpPricer

    n_vars = variable_count(inst)
    if n_vars > COLUMNS_MAX_PER_EMPLOYEE * max(1, len(inst.staff)):
        return False
    return DpPricer(inst).work() <= COLUMNS_WORK_PER_SECOND * time_limit


def variable_count(inst: Instance) -> int:
    """Return how many shift variables the whole model has."""
    n = 0
    for emp in inst.staff:
        allowed = sum(1 for s in inst.shifts if emp.max_shifts.get(s.id, inst.horizon) > 0)
        n += allowed * (inst.horizon - len(inst.days_off.get(emp.id, frozenset())))
    return n


def _params(
    time_limit: float, workers: int, seed: int, *, lns_step: bool = False, fast: bool = False
) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = max(0.05, time_limit)
    p.num_workers = max(1, workers)
    p.random_seed = seed
    p.log_search_progress = False
    if lns_step:
        # Neighbourhoods are small and many: one thread each, no symmetry detection.
        p.num_workers = 1
        p.symmetry_level = 0
    if fast:
        # Building a first schedule: an answer soon matters more than the LP's guidance.
        p.linearization_level = 0
        p.symmetry_level = 0
        p.cp_model_probing_level = 0
    return solver


_STATUS = {
    cp_model.OPTIMAL: "OPTIMAL",
    cp_model.FEASIBLE: "FEASIBLE",
    cp_model.INFEASIBLE: "INFEASIBLE",
    cp_model.MODEL_INVALID: "MODEL_INVALID",
    cp_model.UNKNOWN: "UNKNOWN",
}


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(
        self, start: float, progress: Progress | None, log: list[tuple[float, int]]
    ) -> None:
        super().__init__()
        self.start, self.progress, self.log = start, progress, log

    def on_solution_callback(self) -> None:
        t = time.monotonic() - self.start
        obj = round(self.objective_value)
        self.log.append((t, obj))
        if self.progress is not None:
            self.progress(t, obj, "cp-sat")


def solve(
    instance: Instance,
    time_limit: float = 60.0,
    workers: int = 2,
    seed: int = 0,
    hint: Sequence[Sequence[str | None]] | None = None,
    progress: Progress | None = None,
    *,
    strategy: str | None = None,
) -> Result:
    """Solve ``instance`` within ``time_limit`` seconds; the best schedule, bound and status.

    ``strategy`` (None picks by size, see :func:`columns_fit`): ``"columns"`` adds column
    generation over whole employee schedules (a strong bound, a dive and an integer master),
    priced by dynamic programming; ``"whole"`` gives CP-SAT the
    whole model for the whole limit; ``"hybrid"`` gives it 40 %, then runs the
    large-neighbourhood search from its answer; ``"lns"`` builds a first schedule employee
    group by employee group instead. The search frees a window of days, a few employees, or a
    block of both, fixes the rest to the incumbent, re-optimises with the incumbent as a hint
    and keeps the answer when it is no worse. The search strategies end with CP-SAT on the
    whole model, hinted with the incumbent, for a proven bound and a last improvement
    (skipped above ``WHOLE_MAX``).
    """
    start = time.monotonic()
    deadline = start + time_limit
    log: list[tuple[float, int]] = []
    n_vars = variable_count(instance)
    if strategy is None:
        if columns_fit(instance, time_limit):
            strategy = "columns"
        else:
            strategy = "lns" if n_vars > LNS_THRESHOLD else SMALL_STRATEGY
    if strategy not in ("whole", "hybrid", "lns", "columns"):
        raise ValueError(f"unknown strategy {strategy!r}")
    if strategy == "whole":
        return _whole(instance, deadline, workers, seed, hint, progress, start, log)
    if strategy == "columns":
        return _by_columns(instance, time_limit, workers, seed, hint, progress, start, log)
    rng = random.Random(seed)  # noqa: S311 - search diversification, not secrets
    bound: int | None = None
    if strategy == "hybrid":
        first = _whole(
            instance, start + 0.4 * time_limit, workers, seed, hint, progress, start, log
        )
        if first.schedule is None or first.objective is None or first.status == "OPTIMAL":
            return first
        best, best_obj, bound = first.schedule, first.objective, first.bound
    else:
        if hint is not None:
            best = [list(row) for row in hint]
        else:
            # A good first schedule pays on short horizons, where each group solves quickly.
            share = 0.25 if variable_count(instance) > 1000 * len(instance.staff) else 0.4
            built, why = _construct(instance, start + share * time_limit, rng, workers)
            if built is None:
                return Result(None, None, None, why, time.monotonic() - start, None, 0, log)
            best = built
        best_obj = objective(instance, best)
        log.append((time.monotonic() - start, best_obj))
        if progress is not None:
            progress(time.monotonic() - start, best_obj, "construct")
    final = 0.2 * time_limit if n_vars <= WHOLE_MAX else 0.0
    return _improve(
        instance, best, best_obj, bound, final, deadline, workers, seed, rng, progress, start, log
    )


def _improve(
    inst: Instance,
    best: list[Row],
    best_obj: int,
    bound: int | None,
    final: float,
    deadline: float,
    workers: int,
    seed: int,
    rng: random.Random,
    progress: Progress | None,
    start: float,
    log: list[tuple[float, int]],
) -> Result:
    """Improve ``best`` by neighbourhoods, then (``final`` seconds) by the whole model."""
    best_obj, best, iters = _lns(inst, best, best_obj, deadline - final, rng, progress, start, log)
    if final > 0:
        res = _whole(inst, deadline, workers, seed, best, progress, start, log)
        if res.bound is not None:
            bound = res.bound if bound is None else max(bound, res.bound)
        if res.objective is not None and res.schedule is not None and res.objective <= best_obj:
            best_obj, best = res.objective, res.schedule
    status = "OPTIMAL" if bound is not None and best_obj <= bound else "FEASIBLE"
    return _result(best_obj, bound, status, start, best, iters, log)


def _by_columns(
    inst: Instance,
    time_limit: float,
    workers: int,
    seed: int,
    hint: Sequence[Sequence[str | None]] | None,
    progress: Progress | None,
    start: float,
    log: list[tuple[float, int]],
) -> Result:
    """Column generation for a bound, a dive and an integer master for a schedule, then LNS."""
    from anbao.workforce.ssb.columns import ColumnGeneration

    deadline = start + time_limit
    n_vars = variable_count(inst)
    rng = random.Random(seed)  # noqa: S311 - search diversification, not secrets
    best: list[Row] | None = None
    best_obj: int | None = None
    bound: int | None = None

    def offer(schedule: list[Row] | None, source: str) -> None:
        nonlocal best, best_obj
        if schedule is None:
            return
        obj = objective(inst, schedule)
        if best_obj is None or obj < best_obj:
            best, best_obj = schedule, obj
            t = time.monotonic() - start
            log.append((t, obj))
            if progress is not None:
                progress(t, obj, source)

    cg = ColumnGeneration(inst)
    selfish = cg.seed(start + 0.3 * time_limit, seed, workers)
    if selfish is None:
        fallback = "lns" if n_vars > LNS_THRESHOLD else SMALL_STRATEGY
        left = deadline - time.monotonic()
        res = solve(inst, left, workers, seed, hint, None, strategy=fallback)
        res.seconds = time.monotonic() - start
        return res
    if hint is not None:
        offer([list(row) for row in hint], "hint")
    elif n_vars <= LNS_THRESHOLD:
        # A short whole-model run gives a sound incumbent (and may prove optimality outright).
        first = _whole(inst, start + 0.1 * time_limit, workers, seed, None, progress, start, log)
        if first.status in ("OPTIMAL", "INFEASIBLE"):
            return first
        bound = first.bound
        offer(first.schedule, "cp-sat")
    offer(selfish, "columns")
    if best is None or best_obj is None:
        raise RuntimeError("no schedule")  # unreachable: ``selfish`` is a schedule
    cg.add_schedule(best)
    cg.generate(start + 0.5 * time_limit, seed, workers)
    if cg.bound is not None:
        bound = cg.bound if bound is None else max(bound, cg.bound)
    if bound is None or best_obj > bound:
        # Only on large models does diving to the end cost much (Instance6, 1,040 variables,
        # came out at 2,040 against 1,951 when stopped early).
        spare = DIVE_SPARE if n_vars > LNS_THRESHOLD else 0
        dived = cg.dive(start + 0.75 * time_limit, seed, workers, spare=spare)
        if dived:
            # The others start from their heaviest LP columns, which fit the fixed rows.
            base = [cg.rounded.get(e, best[e]) for e in range(len(inst.staff))]
            end = max(start + 0.8 * time_limit, time.monotonic() + COMPLETE_SHARE * time_limit)
            end = min(end, start + 0.9 * time_limit)
            offer(_complete(inst, base, dived, end, workers, seed), "dive")
            cg.add_schedule(best)
        if bound is None or best_obj > bound:
            master_end = min(deadline, time.monotonic() + 0.1 * time_limit)
            sched, _ = cg.integer(master_end, workers, seed, best)
            offer(sched, "master")
    if best is None or best_obj is None:
        raise RuntimeError("no schedule")  # unreachable: set above
    if bound is not None and best_obj <= bound:
        return _result(best_obj, bound, "OPTIMAL", start, best, 0, log)
    final = 0.5 * (deadline - time.monotonic()) if n_vars <= WHOLE_MAX else 0.0
    return _improve(
        inst, best, best_obj, bound, final, deadline, workers, seed, rng, progress, start, log
    )


def _complete(
    inst: Instance,
    base: Sequence[Sequence[str | None]],
    fixed: dict[int, list[str | None]],
    deadline: float,
    workers: int,
    seed: int,
) -> list[Row] | None:
    """Keep the rows in ``fixed`` and re-optimise everyone else's whole row by CP-SAT.

    Every row of ``base`` keeps the hard rules on its own, so the mix is a feasible hint.
    """
    rows: list[Row] = [list(fixed.get(e, base[e])) for e in range(len(inst.staff))]
    free = [e for e in range(len(inst.staff)) if e not in fixed]
    if not free:
        return rows
    sub = _Model(inst, free, 0, inst.horizon, rows)
    sub.finish(rows)
    solver = _params(deadline - time.monotonic(), workers, seed)
    code = solver.solve(sub.m)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return rows
    return sub.read(solver, rows)


def objective(inst: Instance, schedule: Sequence[Sequence[str | None]]) -> int:
    """Return the soft cost of a schedule as the model counts it (hard rules not checked)."""
    return _Model(inst, [], 0, 0, schedule).offset


def _whole(
    inst: Instance,
    deadline: float,
    workers: int,
    seed: int,
    hint: Sequence[Sequence[str | None]] | None,
    progress: Progress | None,
    start: float,
    log: list[tuple[float, int]],
) -> Result:
    whole = _Model(inst, range(len(inst.staff)), 0, inst.horizon, None)
    whole.finish(hint)
    solver = _params(deadline - time.monotonic(), workers, seed)
    code = solver.solve(whole.m, _Callback(start, progress, log))
    status = _STATUS.get(code, "UNKNOWN")
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Result(None, None, None, status, time.monotonic() - start, None, 0, log)
    bound = round(solver.best_objective_bound)
    obj = round(solver.objective_value)
    return _result(obj, bound, status, start, whole.read(solver, None), 0, log)


def _construct(
    inst: Instance, deadline: float, rng: random.Random, workers: int
) -> tuple[list[Row] | None, str]:
    """Build a first schedule a few employees at a time, each group seeing the cover so far.

    Every hard rule concerns one employee, so each group's model is feasible on its own
    whenever the instance is; cover is soft and only steers the choices.
    """
    n_emp, h = len(inst.staff), inst.horizon
    rows: list[Row] = [[None] * h for _ in range(n_emp)]
    per_emp = max(1.0, variable_count(inst) / max(1, n_emp))
    group = max(1, min(n_emp, int(300 / per_emp)))
    order = list(range(n_emp))
    rng.shuffle(order)
    chunks = [order[i : i + group] for i in range(0, n_emp, group)]
    for done, chunk in enumerate(chunks):
        left = len(chunks) - done
        raw = (deadline - time.monotonic()) / left
        share = max(0.2, raw)
        # Short horizons solve a group to optimality in a fraction of a second, and a group's
        # first answer is far worse (Instance13: 110,000 against 12,000); long horizons, or
        # when behind schedule, take each group's first answer.
        first_only = raw < 0.05 or (per_emp > 1000 and raw < 0.5)
        for attempt in range(3):
            sub = _Model(inst, chunk, 0, h, rows)
            sub.finish(None)
            # The quick settings fail on tightly constrained people; then the LP is needed.
            solver = _params(
                share * 4**attempt,
                1 if attempt == 0 else workers,
                rng.randrange(1 << 30),
                lns_step=attempt == 0,
                fast=attempt == 0,
            )
            solver.parameters.stop_after_first_solution = first_only
            code = solver.solve(sub.m)
            if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                rows = sub.read(solver, rows)
                break
            if code == cp_model.INFEASIBLE:
                return None, "INFEASIBLE"
        else:
            return None, "UNKNOWN"
    return rows, "FEASIBLE"


def _result(
    obj: int,
    bound: int | None,
    status: str,
    start: float,
    schedule: list[Row],
    iters: int,
    log: list[tuple[float, int]],
) -> Result:
    gap = None
    if bound is not None:
        gap = 0.0 if obj == bound else (obj - bound) / max(1, abs(obj))
    return Result(obj, bound, gap, status, time.monotonic() - start, schedule, iters, log)


def _lns(
    inst: Instance,
    best: list[Row],
    best_obj: int,
    deadline: float,
    rng: random.Random,
    progress: Progress | None,
    start: float,
    log: list[tuple[float, int]],
) -> tuple[int, list[Row], int]:
    n_emp, h = len(inst.staff), inst.horizon
    # Each kind of neighbourhood keeps its own size (in free cells), grown while its models
    # solve to optimality quickly and shrunk when they time out; and its own score, so the
    # kinds that have been improving lately are drawn more often.
    size = {"days": 2.0 * n_emp, "people": 3.0 * h, "block": min(n_emp * h, 600.0)}
    score = {"days": 2.0, "people": 1.0, "block": 1.0}
    step = STEP_SECONDS
    iters = 0
    day_cost, emp_cost = _costs(inst, best)
    while time.monotonic() < deadline - 0.1 and best_obj > 0:
        iters += 1
        kinds = list(score)
        kind = rng.choices(kinds, weights=[score[k] for k in kinds])[0]
        cells = size[kind]
        # Half the time the neighbourhood is centred on where the cost is (a costly day, the
        # people whose requests are broken); the other half it is random, for diversity.
        aimed = rng.random() < AIMED_SHARE
        if kind == "days":
            width = max(1, min(h, round(cells / n_emp)))
            lo = _window(rng, h, width, day_cost if aimed else None)
            emps: list[int] = list(range(n_emp))
        elif kind == "people":
            k = max(2, min(n_emp, round(cells / h)))
            emps = _people(rng, n_emp, k, emp_cost if aimed else None)
            lo, width = 0, h
        else:
            width = max(3, min(h, round((cells * h / n_emp) ** 0.5)))
            k = max(2, min(n_emp, round(cells / width)))
            lo = _window(rng, h, width, day_cost if aimed else None)
            emps = _people(rng, n_emp, k, emp_cost if aimed else None)
        hi = lo + width
        budget = min(step, deadline - time.monotonic())
        if budget <= 0.05:
            break
        try:
            sub = _Model(inst, emps, lo, hi, best)
        except _Infeasible:
            continue
        sub.finish(best)
        solver = _params(budget, 1, rng.randrange(1 << 30), lns_step=True)
        t0 = time.monotonic()
        code = solver.solve(sub.m)
        took = time.monotonic() - t0
        gain = 0
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            obj = round(solver.objective_value)
            if obj <= best_obj:
                gain = best_obj - obj
                best, best_obj = sub.read(solver, best), obj
                if gain:
                    day_cost, emp_cost = _costs(inst, best)
                    t = time.monotonic() - start
                    log.append((t, obj))
                    if progress is not None:
                        progress(t, obj, "lns")
        limit_cells = float(n_emp * h)
        if code == cp_model.OPTIMAL and took < 0.5 * budget:
            size[kind] = min(limit_cells, size[kind] * 1.2)
        elif code != cp_model.OPTIMAL:
            size[kind] = max(2.0 * min(n_emp, h), size[kind] * 0.85)
        score[kind] = 0.8 * score[kind] + 0.2 * (1.0 + (gain > 0) * 5.0)
    return best_obj, best, iters


def _costs(inst: Instance, schedule: Sequence[Sequence[str | None]]) -> tuple[list[int], list[int]]:
    """Return the soft cost per day (cover and requests) and per employee (requests)."""
    h = inst.horizon
    day = [0] * h
    emp = [0] * len(inst.staff)
    index = {e.id: i for i, e in enumerate(inst.staff)}
    count: dict[tuple[int, str], int] = {}
    for row in schedule:
        for d, sid in enumerate(row):
            if sid is not None:
                count[(d, sid)] = count.get((d, sid), 0) + 1
    for c in inst.cover:
        n = count.get((c.day, c.shift), 0)
        day[c.day] += c.under_weight * max(0, c.requirement - n)
        day[c.day] += c.over_weight * max(0, n - c.requirement)
    for r in inst.on_requests:
        i = index[r.employee]
        if schedule[i][r.day] != r.shift:
            day[r.day] += r.weight
            emp[i] += r.weight
    for r in inst.off_requests:
        i = index[r.employee]
        if schedule[i][r.day] == r.shift:
            day[r.day] += r.weight
            emp[i] += r.weight
    return day, emp


def _window(rng: random.Random, h: int, width: int, cost: Sequence[int] | None) -> int:
    """Return the first day of a window of ``width`` days, around a costly day when asked."""
    if cost is None or not any(cost):
        return rng.randrange(0, h - width + 1)
    centre = rng.choices(range(h), weights=cost)[0]
    return max(0, min(h - width, centre - rng.randrange(width)))


def _people(rng: random.Random, n: int, k: int, cost: Sequence[int] | None) -> list[int]:
    """Return ``k`` distinct employees; half drawn by cost when asked, the rest at random."""
    if cost is None or not any(cost):
        return rng.sample(range(n), k)
    chosen: set[int] = set()
    for _ in range(4 * k):
        if len(chosen) >= (k + 1) // 2:
            break
        chosen.add(rng.choices(range(n), weights=cost)[0])
    rest = [e for e in range(n) if e not in chosen]
    chosen.update(rng.sample(rest, k - len(chosen)))
    return sorted(chosen)
