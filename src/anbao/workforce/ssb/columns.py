"""Column generation over whole employee schedules, then an integer master over the columns.

Every hard rule of the benchmark concerns one employee, and only the cover ties people together.
So the problem is a choice of one schedule ("column") per employee: the master linear program
mixes columns under the cover rows, and the pricing problem, one employee's own model with the
cover duals as costs, proposes the column that lowers the master most. Its linear relaxation is
far stronger than that of the cell model (on the mid-size instances CP-SAT proves bounds of 1-30
against optima near 1,000, the column relaxation comes within a few percent), which gives a
proven bound and, solved as an integer program over the columns found, a good schedule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]
from ortools.sat.python import cp_model

from anbao.workforce.ssb.reader import Instance

Pattern = tuple[int, ...]  # shift index per day, -1 for a day off
Key = tuple[int, int]  # (day, shift index)
#: Pricing objectives are scaled to integers; the rounding error is allowed for in the bound.
SCALE = 10_000
#: Column generation stops when the LP is within this fraction of its Lagrangian bound.
TAIL = 0.002
#: A column at least this heavy in the LP is fixed during a dive without further ado.
DIVE_FIX = 0.8
#: Pricing rounds between two dive steps, and the share of the employees left fixed per step.
DIVE_ROUNDS = 5
DIVE_STEP = 1 / 8


@dataclass(slots=True)
class Outcome:
    """The best schedule over the columns, its objective and the proven lower bound (if any)."""

    schedule: list[list[str | None]] | None
    objective: int | None
    bound: int | None
    columns: int
    rounds: int


class _Pricer:
    """One employee's own model (hard rules only), re-solved with new costs each round."""

    def __init__(self, inst: Instance, e: int) -> None:
        from anbao.workforce.ssb.solver import _Model  # the cell model; imports this module

        self.sub = _Model(inst, [e], 0, inst.horizon, None, soft=False)
        self.e = e
        self.h = inst.horizon
        self.cells = [
            (d, k, v) for (_, d), cell in sorted(self.sub.x.items()) for k, v in cell.items()
        ]

    def price(
        self, coef: dict[tuple[int, int], float], limit: float, seed: int
    ) -> tuple[list[Pattern], float]:
        """Return schedules found under ``coef``, cheapest last, and a bound on the cheapest."""
        terms = [(v, round(SCALE * coef.get((d, k), 0.0))) for d, k, v in self.cells]
        self.sub.m.minimize(sum(c * v for v, c in terms if c))
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.max_time_in_seconds = max(0.01, limit)
        p.num_workers = 1
        p.random_seed = seed
        p.symmetry_level = 0
        # The pricing model is tiny; the stronger relaxation proves it optimal sooner.
        p.linearization_level = 2
        found = _Collect(self.cells, self.h)
        code = solver.solve(self.sub.m, found)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE) or not found.patterns:
            return [], -math.inf
        # Each day's coefficient was rounded by at most half a unit.
        slack = 0.5 * self.h / SCALE
        return found.patterns, solver.best_objective_bound / SCALE - slack


class _Collect(cp_model.CpSolverSolutionCallback):
    """Keep every schedule the pricing search passes through: each may be a useful column."""

    def __init__(self, cells: list[tuple[int, int, cp_model.IntVar]], h: int) -> None:
        super().__init__()
        self.cells, self.h = cells, h
        self.patterns: list[Pattern] = []

    def on_solution_callback(self) -> None:
        pat = [-1] * self.h
        for d, k, v in self.cells:
            if self.boolean_value(v):
                pat[d] = k
        self.patterns.append(tuple(pat))


class ColumnGeneration:
    """The master problem over a growing set of columns, its pricing, and its integer solve."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.h = inst.horizon
        self.n = len(inst.staff)
        self.sidx = {s.id: k for k, s in enumerate(inst.shifts)}
        index = {s.id: i for i, s in enumerate(inst.staff)}
        # Request cost of a column: a constant (every on-request broken) plus a term per cell.
        self.const = [0] * self.n
        self.req: list[dict[tuple[int, int], int]] = [{} for _ in range(self.n)]
        for r in inst.on_requests:
            e, key = index[r.employee], (r.day, self.sidx[r.shift])
            self.const[e] += r.weight
            self.req[e][key] = self.req[e].get(key, 0) - r.weight
        for r in inst.off_requests:
            e, key = index[r.employee], (r.day, self.sidx[r.shift])
            self.req[e][key] = self.req[e].get(key, 0) + r.weight
        self.cover_rows: dict[tuple[int, int], list[int]] = {}
        for i, c in enumerate(inst.cover):
            self.cover_rows.setdefault((c.day, self.sidx[c.shift]), []).append(i)
        self.cols: list[list[Pattern]] = [[] for _ in range(self.n)]
        self.costs: list[list[int]] = [[] for _ in range(self.n)]
        self.vars: list[list[pywraplp.Variable]] = [[] for _ in range(self.n)]
        self.seen: list[set[Pattern]] = [set() for _ in range(self.n)]
        self.pricers: list[_Pricer | None] = [None] * self.n
        self.lp = pywraplp.Solver.CreateSolver("GLOP")
        self.obj = self.lp.Objective()
        self.obj.SetMinimization()
        self.emp_rows = [self.lp.Constraint(1, 1) for _ in range(self.n)]
        self.cov_rows = []
        for c in inst.cover:
            row = self.lp.Constraint(c.requirement, c.requirement)
            under = self.lp.NumVar(0, c.requirement, "")
            over = self.lp.NumVar(0, self.lp.infinity(), "")
            row.SetCoefficient(under, 1)
            row.SetCoefficient(over, -1)
            self.obj.SetCoefficient(under, c.under_weight)
            self.obj.SetCoefficient(over, c.over_weight)
            self.cov_rows.append(row)
        self.lp_value: float | None = None
        self.bound: int | None = None
        self.rounds = 0

    def cost(self, e: int, pat: Pattern) -> int:
        """Return the request cost of employee ``e`` working ``pat``."""
        req = self.req[e]
        return self.const[e] + sum(req.get((d, k), 0) for d, k in enumerate(pat) if k >= 0)

    def add(self, e: int, pat: Pattern) -> bool:
        """Add a column unless it is already there; whether it was new."""
        if pat in self.seen[e]:
            return False
        self.seen[e].add(pat)
        cost = self.cost(e, pat)
        self.cols[e].append(pat)
        self.costs[e].append(cost)
        v = self.lp.NumVar(0, self.lp.infinity(), "")
        self.emp_rows[e].SetCoefficient(v, 1)
        for d, k in enumerate(pat):
            for i in self.cover_rows.get((d, k), ()) if k >= 0 else ():
                self.cov_rows[i].SetCoefficient(v, 1)
        self.obj.SetCoefficient(v, cost)
        self.vars[e].append(v)
        return True

    def seed(
        self, deadline: float, seed: int = 0, threads: int = 1
    ) -> list[list[str | None]] | None:
        """Give every employee a first column, their cheapest schedule ignoring the cover.

        Together these columns form a schedule that keeps every hard rule; None when an
        employee has no schedule in time (or none at all).
        """
        coef_of = [{key: float(w) for key, w in self.req[e].items()} for e in range(self.n)]
        for e in range(self.n):
            if self.pricers[e] is None:
                self.pricers[e] = _Pricer(self.inst, e)

        def price(e: int) -> Pattern | None:
            left = deadline - time.monotonic()
            pricer = self.pricers[e]
            if pricer is None or left <= 0:
                return None
            pats = pricer.price(coef_of[e], max(0.05, left), seed)[0]
            return pats[-1] if pats else None

        with ThreadPoolExecutor(max(1, threads)) as pool:
            pats = list(pool.map(price, range(self.n)))
        if any(p is None for p in pats):
            return None
        ids = [s.id for s in self.inst.shifts]
        out: list[list[str | None]] = []
        for e, pat in enumerate(pats):
            if pat is None:
                return None
            self.add(e, pat)
            out.append([None if k < 0 else ids[k] for k in pat])
        return out

    def add_schedule(self, schedule: Sequence[Sequence[str | None]]) -> None:
        """Add each employee's row of a schedule as a column."""
        for e, row in enumerate(schedule):
            self.add(e, tuple(-1 if s is None else self.sidx[s] for s in row))

    def generate(
        self,
        deadline: float,
        seed: int = 0,
        threads: int = 1,
        *,
        max_rounds: int | None = None,
        skip: Collection[int] = (),
    ) -> bool:
        """Alternate master LP and pricing until no column helps, ``max_rounds`` or the deadline.

        Returns whether the master LP is optimal over all columns (no column prices out).
        Employees in ``skip`` are not priced (they are fixed during a dive).
        """
        rounds = 0
        with ThreadPoolExecutor(max(1, threads)) as pool:
            while time.monotonic() < deadline:
                if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
                    return False
                if max_rounds is not None and rounds >= max_rounds:
                    return False
                rounds += 1
                self.rounds += 1
                self.lp_value = self.obj.Value()
                pi: dict[tuple[int, int], float] = {}
                for key, rows in self.cover_rows.items():
                    pi[key] = sum(self.cov_rows[i].dual_value() for i in rows)
                # Read every dual before adding columns: a changed model forgets its solution.
                alphas = [row.dual_value() for row in self.emp_rows]
                base = {key: -val for key, val in pi.items() if val}
                todo = [e for e in range(self.n) if e not in skip]
                for e in todo:
                    if self.pricers[e] is None:
                        self.pricers[e] = _Pricer(self.inst, e)

                def price(
                    e: int, seed: int = seed + self.rounds, base: dict[Key, float] = base
                ) -> tuple[list[Pattern], float]:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return [], -math.inf
                    coef = dict(base)
                    for key, w in self.req[e].items():
                        coef[key] = coef.get(key, 0.0) + w
                    pricer = self.pricers[e]
                    if pricer is None:
                        return [], -math.inf
                    return pricer.price(coef, min(left, 1.0), seed)

                answers = list(pool.map(price, todo))
                added, lagrange, complete = 0, self.lp_value, True
                for e, (pats, low) in zip(todo, answers, strict=True):
                    if not pats:
                        complete = False
                        continue
                    for pat in pats:
                        covered = sum(pi.get((d, k), 0.0) for d, k in enumerate(pat) if k >= 0)
                        reduced = self.cost(e, pat) - alphas[e] - covered
                        if reduced < -1e-6 and self.add(e, pat):
                            added += 1
                    # Lagrangian bound: the LP value plus each employee's least reduced cost.
                    lagrange += min(0.0, self.const[e] + low - alphas[e])
                if complete and not skip:
                    b = math.ceil(lagrange - 1e-6)
                    self.bound = b if self.bound is None else max(self.bound, b)
                if not added:
                    if complete and not skip:
                        b = math.ceil(self.lp_value - 1e-6)
                        self.bound = b if self.bound is None else max(self.bound, b)
                    return complete
                # The last rounds of column generation move the LP very little (tailing off):
                # stop once the Lagrangian bound is within a small fraction of it.
                if complete and self.lp_value - lagrange <= TAIL * max(1.0, abs(self.lp_value)):
                    return False
        return False

    def dive(
        self, deadline: float, seed: int = 0, threads: int = 1, rounds: int | None = None
    ) -> dict[int, list[str | None]]:
        """Fix employees to their heaviest LP columns a batch at a time, pricing in between.

        Columns above ``DIVE_FIX`` are fixed outright, then the heaviest fractional ones (about
        an eighth of those left, so the dive ends in a bounded number of steps). Slack on the
        cover keeps every fixing feasible. Returns the rows fixed by the deadline: all of them,
        or a part for the caller to complete.
        """
        fixed: dict[int, int] = {}
        rounds = DIVE_ROUNDS if rounds is None else rounds
        try:
            while time.monotonic() < deadline and len(fixed) < self.n:
                self.generate(deadline, seed, threads, max_rounds=rounds, skip=fixed)
                if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
                    break
                batch: list[tuple[int, int]] = []
                frac: list[tuple[float, int, int]] = []
                for e in range(self.n):
                    if e in fixed:
                        continue
                    vals = [v.solution_value() for v in self.vars[e]]
                    j = max(range(len(vals)), key=vals.__getitem__)
                    if vals[j] > DIVE_FIX:
                        batch.append((e, j))
                    else:
                        frac.append((vals[j], e, j))
                frac.sort(reverse=True)
                take = max(1, int((self.n - len(fixed)) * DIVE_STEP)) if not batch else 0
                batch += [(e, j) for _, e, j in frac[:take]]
                for e, j in batch:
                    fixed[e] = j
                    for jj, v in enumerate(self.vars[e]):
                        if jj != j:
                            v.SetUb(0)
        finally:
            for e in fixed:
                for v in self.vars[e]:
                    v.SetUb(self.lp.infinity())
        ids = [s.id for s in self.inst.shifts]
        return {e: [None if k < 0 else ids[k] for k in self.cols[e][j]] for e, j in fixed.items()}

    def integer(
        self,
        deadline: float,
        workers: int,
        seed: int,
        hint: Sequence[Sequence[str | None]] | None,
    ) -> tuple[list[list[str | None]] | None, int | None]:
        """Choose one column per employee by CP-SAT; the schedule and its objective."""
        m = cp_model.CpModel()
        lam = [[m.new_bool_var("") for _ in self.cols[e]] for e in range(self.n)]
        for e in range(self.n):
            m.add_exactly_one(lam[e])
        terms: list[cp_model.LinearExprT] = []
        by_cell: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        for e in range(self.n):
            for j, pat in enumerate(self.cols[e]):
                terms.append(self.costs[e][j] * lam[e][j])
                for d, k in enumerate(pat):
                    if k >= 0:
                        by_cell.setdefault((d, k), []).append(lam[e][j])
        for c in self.inst.cover:
            on = by_cell.get((c.day, self.sidx[c.shift]), [])
            under = m.new_int_var(0, c.requirement, "")
            over = m.new_int_var(0, self.n, "")
            m.add(sum(on) + under - over == c.requirement)
            terms += [c.under_weight * under, c.over_weight * over]
        m.minimize(sum(terms))
        if hint is not None:
            for e, row in enumerate(hint):
                pat = tuple(-1 if s is None else self.sidx[s] for s in row)
                for j, col in enumerate(self.cols[e]):
                    m.add_hint(lam[e][j], col == pat)
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.max_time_in_seconds = max(0.05, deadline - time.monotonic())
        p.num_workers = max(1, workers)
        p.random_seed = seed
        code = solver.solve(m)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, None
        ids = [s.id for s in self.inst.shifts]
        out: list[list[str | None]] = []
        for e in range(self.n):
            j = next(j for j, v in enumerate(lam[e]) if solver.boolean_value(v))
            out.append([None if k < 0 else ids[k] for k in self.cols[e][j]])
        return out, round(solver.objective_value)
