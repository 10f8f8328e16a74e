"""Column generation over whole employee schedules, then an integer master over the columns.

Every hard rule of the benchmark concerns one employee, and only the cover ties people together.
So the problem is a choice of one schedule ("column") per employee: the master linear program
mixes columns under the cover rows, and the pricing problem, one employee's own model with the
cover duals as costs (solved by dynamic programming over the days, see ``pricing.py``),
proposes the column that lowers the master most. Its linear relaxation is
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

import numpy as np
from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]
from ortools.sat.python import cp_model

from anbao.workforce.ssb.pricing import Answer, DpPricer
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
#: A dive step that raises the LP by more than this fraction is undone, at most this often.
DIVE_JUMP = 0.005
DIVE_BACKTRACKS = 4
#: A dive given ``spare`` stops once the employees left are at most this share of the staff
#: (and have at most ``spare`` shift variables): the last steps of a dive raise the LP the
#: most, and the cell model completes that few people better (Instance12: 4,048 from ten people
#: left, against 4,857 for diving to the end).
DIVE_LEAVE = 1 / 4


@dataclass(slots=True)
class Outcome:
    """The best schedule over the columns, its objective and the proven lower bound (if any)."""

    schedule: list[list[str | None]] | None
    objective: int | None
    bound: int | None
    columns: int
    rounds: int


class _Pricer:
    """One employee's own CP-SAT model (hard rules only), re-solved with new costs.

    The dynamic programme (``pricing.py``) prices first; this model answers only when the
    per-type limits keep the programme from an exact answer, and is its oracle in the tests.
    """

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
        self.req_arr = np.zeros((self.n, self.h, len(inst.shifts)))
        for e in range(self.n):
            for (d, k), w in self.req[e].items():
                self.req_arr[e, d, k] = w
        self.dp = DpPricer(inst)
        #: Pricing calls answered by the dynamic programme, and those passed on to CP-SAT.
        self.dp_calls = 0
        self.cp_calls = 0
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
        #: Shift variables of each employee's cell model (allowed types times workable days).
        self.size = [
            sum(1 for s in inst.shifts if emp.max_shifts.get(s.id, self.h) > 0)
            * (self.h - len(inst.days_off.get(emp.id, frozenset())))
            for emp in inst.staff
        ]
        #: After a dive: the heaviest LP column of each employee it left unfixed.
        self.rounded: dict[int, list[str | None]] = {}

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
        answers = self.dp.price(self.req_arr, list(range(self.n)), threads=threads)
        self.dp_calls += self.n
        pats: list[Pattern | None] = [
            answers[e].patterns[0] if answers[e].patterns else None for e in range(self.n)
        ]
        coef_of = [{key: float(w) for key, w in self.req[e].items()} for e in range(self.n)]
        missing = [e for e in range(self.n) if pats[e] is None]
        for e in missing:
            if self.pricers[e] is None:
                self.pricers[e] = _Pricer(self.inst, e)

        def price(e: int) -> Pattern | None:
            left = deadline - time.monotonic()
            pricer = self.pricers[e]
            if pricer is None or left <= 0:
                return None
            found = pricer.price(coef_of[e], max(0.05, left), seed)[0]
            return found[-1] if found else None

        with ThreadPoolExecutor(max(1, threads)) as pool:
            for e, pat in zip(missing, pool.map(price, missing), strict=True):
                pats[e] = pat
        self.cp_calls += len(missing)
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
                lp = self.lp_value = self.obj.Value()
                pi: dict[tuple[int, int], float] = {}
                for key, rows in self.cover_rows.items():
                    pi[key] = sum(self.cov_rows[i].dual_value() for i in rows)
                # Read every dual before adding columns: a changed model forgets its solution.
                alphas = [row.dual_value() for row in self.emp_rows]
                todo = [e for e in range(self.n) if e not in skip]

                added, lagrange, complete = self._pricing_round(
                    pool, pi, alphas, todo, deadline, seed, lp, False
                )
                if not added and complete and not skip:
                    # Nothing prices out in single precision: confirm it in double, so that
                    # the bound is the LP value itself rather than one less a rounding margin.
                    added, lagrange, complete = self._pricing_round(
                        pool, pi, alphas, todo, deadline, seed, lp, True
                    )
                if complete and not skip:
                    b = math.ceil(lagrange - 1e-6)
                    self.bound = b if self.bound is None else max(self.bound, b)
                if not added:
                    # The Lagrangian bound above is the LP value itself when every pricing
                    # answer was proven; a timed-out one only weakens it.
                    return complete
                # The last rounds of column generation move the LP very little (tailing off):
                # stop once the Lagrangian bound is within a small fraction of it.
                if complete and self.lp_value - lagrange <= TAIL * max(1.0, abs(self.lp_value)):
                    return False
        return False

    def _pricing_round(
        self,
        pool: ThreadPoolExecutor,
        pi: dict[Key, float],
        alphas: list[float],
        todo: list[int],
        deadline: float,
        seed: int,
        lp: float,
        precise: bool,
    ) -> tuple[int, float, bool]:
        """Price everyone in ``todo``: columns added, the Lagrangian bound, and completeness."""
        base = {key: -val for key, val in pi.items() if val}
        pi_arr = np.zeros((self.h, len(self.inst.shifts)))
        for (d, k), val in pi.items():
            pi_arr[d, k] = val
        goal = {e: alphas[e] - self.const[e] for e in todo}
        answers: dict[int, Answer] = self.dp.price(
            self.req_arr - pi_arr, todo, target=goal, precise=precise
        )
        self.dp_calls += len(todo)
        added, lagrange, complete = 0, lp, True

        def reduced(
            e: int,
            pat: Pattern,
        ) -> float:
            covered = sum(pi.get((d, k), 0.0) for d, k in enumerate(pat) if k >= 0)
            return self.cost(e, pat) - alphas[e] - covered

        hard: list[int] = []
        for e in todo:
            ans = answers[e]
            gained = 0
            for pat in ans.patterns:
                if reduced(e, pat) < -1e-6 and self.add(e, pat):
                    gained += 1
            added += gained
            if not ans.exact and not gained and self.const[e] + ans.low - alphas[e] < -1e-6:
                # A per-type limit kept the programme from a column it says may exist.
                hard.append(e)
            else:
                lagrange += min(0.0, self.const[e] + ans.low - alphas[e])
        for e in hard:
            if self.pricers[e] is None:
                self.pricers[e] = _Pricer(self.inst, e)

        def price(e: int, seed: int = seed + self.rounds) -> tuple[list[Pattern], float]:
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

        self.cp_calls += len(hard)
        for e, (pats, low) in zip(hard, pool.map(price, hard), strict=True):
            if not pats:
                complete = False
                continue
            for pat in pats:
                if reduced(e, pat) < -1e-6 and self.add(e, pat):
                    added += 1
            best = max(low, answers[e].low)
            lagrange += min(0.0, self.const[e] + best - alphas[e])
        return added, lagrange, complete

    def _solve_lp(self) -> bool:
        """Solve the master LP; once more from scratch when GLOP gives up on the warm start."""
        if self.lp.Solve() == pywraplp.Solver.OPTIMAL:
            return True
        self.lp.Reset()
        return bool(self.lp.Solve() == pywraplp.Solver.OPTIMAL)

    def dive(
        self,
        deadline: float,
        seed: int = 0,
        threads: int = 1,
        rounds: int | None = None,
        spare: int = 0,
    ) -> dict[int, list[str | None]]:
        """Fix employees to their heaviest LP columns a batch at a time, pricing in between.

        Columns above ``DIVE_FIX`` are fixed outright, then the heaviest fractional ones (about
        an eighth of those left, so the dive ends in a bounded number of steps). Slack on the
        cover keeps every fixing feasible. With ``spare``, the dive stops once the employees
        left have at most ``spare`` shift variables and are at most ``DIVE_LEAVE`` of the
        staff, for the caller to complete. Returns the rows fixed: all of them, or a part;
        ``rounded`` then holds the others' heaviest columns in the last LP.
        """
        fixed: dict[int, int] = {}
        rounds = DIVE_ROUNDS if rounds is None else rounds
        step_rounds, priced, pricing = rounds, 0, 0.0
        # People the caller completes: the dive's pace is set by how many it must fix.
        keep = 0
        if spare > 0:
            keep = min(int(DIVE_LEAVE * self.n), spare * self.n // max(1, sum(self.size)))
        banned: list[pywraplp.Variable] = []
        last: list[tuple[int, int, float]] = []
        prev = math.inf
        backtracks = 0
        heaviest: dict[int, tuple[int, float]] = {}

        def small(free: Collection[int]) -> bool:
            return (
                spare > 0
                and len(free) <= DIVE_LEAVE * self.n
                and sum(self.size[e] for e in free) <= spare
            )

        try:
            while time.monotonic() < deadline and len(fixed) < self.n:
                t0, r0 = time.monotonic(), self.rounds
                self.generate(deadline, seed, threads, max_rounds=step_rounds, skip=fixed)
                pricing += time.monotonic() - t0
                priced += self.rounds - r0
                if not self._solve_lp():
                    break
                value = self.obj.Value()
                jump = max(1.0, DIVE_JUMP * abs(prev))
                if last and value > prev + jump and backtracks < DIVE_BACKTRACKS:
                    # The last fixing cost too much: undo it and keep its weakest column
                    # out of the dive, so that the next step chooses differently.
                    backtracks += 1
                    for e, _, _ in last:
                        del fixed[e]
                        for v in self.vars[e]:
                            v.SetUb(self.lp.infinity())
                    e, j, _ = min(last, key=lambda t: t[2])
                    if len(self.vars[e]) > 1:
                        self.vars[e][j].SetUb(0)
                        banned.append(self.vars[e][j])
                    last = []
                    continue
                prev = value
                heaviest = {}
                for e in range(self.n):
                    if e not in fixed:
                        vals = [v.solution_value() for v in self.vars[e]]
                        j = max(range(len(vals)), key=vals.__getitem__)
                        heaviest[e] = (j, vals[j])
                if small(heaviest):
                    break
                batch: list[tuple[int, int, float]] = []
                frac: list[tuple[float, int, int]] = []
                for e, (j, val) in heaviest.items():
                    if val > DIVE_FIX:
                        batch.append((e, j, val))
                    else:
                        frac.append((val, e, j))
                frac.sort(reverse=True)
                left = self.n - len(fixed)
                take = max(1, int(left * DIVE_STEP)) if not batch else 0
                # Behind schedule (big instances, a busy machine), price less between steps
                # first; only when one round a step is still too slow, fix more per step, so
                # that the dive still ends by the deadline rather than leave people unfixed.
                per_round = pricing / max(1, priced)
                steps_left = _steps(left - len(batch) - take, keep) + 1
                budget = (deadline - time.monotonic()) / steps_left
                step_rounds = max(1, min(rounds, int(budget / max(per_round, 1e-3))))
                fits = max(1, int((deadline - time.monotonic()) / max(per_round, 1e-3)))
                take = max(take, math.ceil((left - keep) / fits) - len(batch))
                free = set(heaviest).difference(e for e, _, _ in batch)
                for val, e, j in frac[:take]:
                    if small(free):
                        # Fixing past the completion's share would only take its choices away.
                        break
                    batch.append((e, j, val))
                    free.discard(e)
                for e, j, _ in batch:
                    fixed[e] = j
                    for jj, v in enumerate(self.vars[e]):
                        if jj != j:
                            v.SetUb(0)
                last = batch
        finally:
            for v in banned:
                v.SetUb(self.lp.infinity())
            for e in fixed:
                for v in self.vars[e]:
                    v.SetUb(self.lp.infinity())
        ids = [s.id for s in self.inst.shifts]

        def row(e: int, j: int) -> list[str | None]:
            return [None if k < 0 else ids[k] for k in self.cols[e][j]]

        self.rounded = {e: row(e, j) for e, (j, _) in heaviest.items() if e not in fixed}
        return {e: row(e, j) for e, j in fixed.items()}

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


def _steps(left: int, keep: int) -> int:
    """Return how many dive steps fix all but ``keep`` of ``left`` people at ``DIVE_STEP``."""
    steps = 0
    while left > max(keep, 0):
        left -= max(1, int(left * DIVE_STEP))
        steps += 1
    return steps
