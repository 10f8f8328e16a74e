"""Pricing by dynamic programming: one employee's cheapest schedule under given day costs.

A schedule is a path over the days. The state after a day is what the rules still need to
know: the last shift's successor class (shifts with the same forbidden successors behave
alike), the length of the current working run or rest run, the minutes worked and the
weekends worked. Minutes and weekends only grow, so their upper limits are checked once at the
end, like the minimum on minutes; a rest run longer than the minimum rest is the same state as
one of exactly the minimum. Every state is a cell of a dense array, so one day's step is a few
whole-array minima (numpy), and employees with the same run rules are priced together as one
batch.

The per-type limits (``MaxShifts``) are left out of the state, where they would multiply it by
the product of the limits; a penalty per shift of a type (a Lagrangian multiplier, raised while
the cheapest path breaks the limit) steers the search instead. The answer is then a relaxation:
its value, less the penalties' share, is a valid lower bound; a path is only returned as a
column when it keeps every rule, checked by the evaluator's own per-employee rules.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from anbao.workforce.ssb.evaluate import employee_violations
from anbao.workforce.ssb.reader import Instance

Pattern = tuple[int, ...]  # shift index per day, -1 for a day off
Array = npt.NDArray[np.float64]
Grid = npt.NDArray[Any]  # the recursion's own arrays, in ``DTYPE``
INF = math.inf
#: The recursion runs in single precision (twice as fast); its values are only used to choose
#: paths and, with a safety margin, as bounds: a column's cost is recomputed exactly.
DTYPE = np.float32
#: Largest batch, counted in state cells (employees x states); bounds the memory the stored
#: days take (every day's array is kept to trace the paths back).
BATCH_CELLS = 8_000_000
#: Penalty rounds for the per-type limits in one pricing call.
PENALTY_ROUNDS = 6


@dataclass(slots=True)
class Answer:
    """One employee's priced columns (cheapest first), a lower bound and whether it is exact.

    ``low`` bounds the cheapest schedule's day costs from below; ``exact`` says the first
    column attains it (no per-type limit got in the way).
    """

    patterns: list[Pattern]
    low: float
    exact: bool
    best: float = INF


@dataclass(slots=True)
class _Group:
    """Employees with the same run rules, which share one state layout."""

    emps: list[int]
    maxcons: int
    mincons: int
    minoff: int
    rr: int = 0  # working-run states per class
    src: tuple[list[int], list[int]] = field(default_factory=lambda: ([], []))


class DpPricer:
    """Price every employee's schedule by dynamic programming over the days."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        h = self.h = inst.horizon
        shifts = inst.shifts
        self.k = len(shifts)
        sidx = {s.id: k for k, s in enumerate(shifts)}
        g = 0
        for s in shifts:
            g = math.gcd(g, s.minutes)
        self.g = max(1, g)
        self.units = [s.minutes // self.g for s in shifts]
        # Successor classes: shifts forbidding the same successors.
        forb = [frozenset(sidx[b] for b in s.forbidden_next) for s in shifts]
        by_forb: dict[frozenset[int], int] = {}
        self.cls = [by_forb.setdefault(f, len(by_forb)) for f in forb]
        self.c = len(by_forb)
        self.members: list[list[int]] = [[] for _ in range(self.c)]
        for k, c in enumerate(self.cls):
            self.members[c].append(k)
        cls_forb = {c: f for f, c in by_forb.items()}
        # The classes a shift may follow the next day.
        self.preds = [
            tuple(c for c in range(self.c) if k not in cls_forb[c]) for k in range(self.k)
        ]
        self._bundle_cache: dict[
            int, list[tuple[tuple[int, tuple[int, ...], int, bool], list[int]]]
        ] = {}
        n = len(inst.staff)
        self.n = n
        self.limit = np.zeros((n, self.k))
        self.lo_units = [0] * n
        self.hi_units = [0] * n
        self.maxwk = [0] * n
        self.blocked = np.zeros((n, h, self.k), dtype=bool)
        weekends = len(range(5, h, 7))
        for e, emp in enumerate(inst.staff):
            for k, s in enumerate(shifts):
                self.limit[e, k] = emp.max_shifts.get(s.id, h)
                if self.limit[e, k] <= 0:
                    self.blocked[e, :, k] = True
            for d in inst.days_off.get(emp.id, frozenset()):
                self.blocked[e, d, :] = True
            self.lo_units[e] = max(0, -(-emp.min_total_minutes // self.g))
            self.hi_units[e] = emp.max_total_minutes // self.g
            self.maxwk[e] = min(emp.max_weekends, weekends)
        # Which per-type limits can bind: fewer than the days the type could be worked.
        self.binding = [
            [
                k
                for k in range(self.k)
                if 0 < self.limit[e, k] < min(h, self.hi_units[e] // max(1, self.units[k]))
            ]
            for e in range(n)
        ]
        self.penalty = np.zeros((n, self.k))
        #: How far below the cheapest column a bound may sit and the answer still be exact
        #: (twice the rounding margin taken off the bound).
        self.tol = np.full(n, 1e-6)
        groups: dict[tuple[int, int, int], list[int]] = {}
        for e, emp in enumerate(inst.staff):
            key = (
                max(1, min(emp.max_consecutive_shifts, h)),
                max(1, min(emp.min_consecutive_shifts, h)),
                max(1, min(emp.min_consecutive_days_off, h)),
            )
            groups.setdefault(key, []).append(e)
        self.groups = [_Group(emps, *key) for key, emps in groups.items()]
        for grp in self.groups:
            self._layout(grp)

    def work(self) -> int:
        """Return the size of one pricing pass over everyone: state cells times steps."""
        steps = len(self._bundles(-1))
        total = 0
        for grp in self.groups:
            for e in grp.emps:
                m, w = self._dims([e])
                total += (self.c * grp.rr + grp.minoff) * m * w * self.h * steps
        return total

    @staticmethod
    def _layout(grp: _Group) -> None:
        # Working-run states: index r-1 for a run of r days that may end (r >= min, or begun on
        # day 0, which is exempt), index maxcons+r-1 for a run of r < min that may not end yet.
        mx, mn = grp.maxcons, max(1, min(grp.mincons, grp.maxcons))
        grp.mincons = mn
        grp.rr = mx + mn - 1
        pad = grp.rr
        src1 = [pad] * grp.rr
        src2 = [pad] * grp.rr
        for r in range(2, mx + 1):
            src1[r - 1] = r - 2  # a run that may end goes on
            if r == mn:
                src2[r - 1] = mx + r - 2  # a run reaching the minimum may now end
        for r in range(2, mn):
            src1[mx + r - 1] = mx + r - 2
        grp.src = (src1, src2)

    def price(
        self,
        day_cost: Array,
        todo: list[int],
        many: int = 3,
        target: dict[int, float] | None = None,
        threads: int = 1,
        precise: bool = False,
    ) -> dict[int, Answer]:
        """Return, for each employee in ``todo``, columns under ``day_cost`` and a lower bound.

        ``day_cost[e, d, k]`` is the cost of employee ``e`` working shift ``k`` on day ``d``.
        With ``target``, an employee's search may stop once it has a column cheaper than its
        target or has proven that none exists (what column generation needs), rather than
        pressing on to an exact answer. ``precise`` runs the recursion in double precision,
        with a margin on the bounds a million times narrower.
        """
        dtype = np.float64 if precise else DTYPE
        found: dict[int, tuple[list[Pattern], float]] = {}
        wanted = set(todo)
        jobs = [
            (grp, batch, -1)
            for grp in self.groups
            for batch in self._batches(grp, [e for e in grp.emps if e in wanted], 1)
        ]
        for res in self._run(jobs, day_cost, many, target, threads, dtype):
            found.update(res)
        out = {e: self._answer(day_cost, e, *found[e]) for e in todo}
        # Where a per-type limit kept the answer inexact, count that type in the state (the one
        # with the heaviest penalty) and price again: exact when it was the only one in the way.
        again: dict[tuple[int, int, int], list[int]] = {}
        for gi, grp in enumerate(self.groups):
            for e in grp.emps:
                if e not in out or out[e].exact or not self.binding[e]:
                    continue
                if target is not None and self._settled(out[e], target.get(e)):
                    continue
                t = max(self.binding[e], key=lambda k: self.penalty[e, k])
                again.setdefault((gi, t, int(self.limit[e, t])), []).append(e)
        jobs = [
            (self.groups[gi], batch, t)
            for (gi, t, lim), emps in again.items()
            for batch in self._batches(self.groups[gi], emps, lim + 1)
        ]
        for res in self._run(jobs, day_cost, many, target, threads, dtype):
            for e, (cols, low) in res.items():
                old_cols, old_low = found[e]
                found[e] = (old_cols + cols, max(old_low, low))
                out[e] = self._answer(day_cost, e, *found[e])
        return out

    def _run(
        self,
        jobs: list[tuple[_Group, list[int], int]],
        day_cost: Array,
        many: int,
        target: dict[int, float] | None,
        threads: int,
        dtype: type[np.floating[Any]],
    ) -> list[dict[int, tuple[list[Pattern], float]]]:
        """Price the batches, in parallel threads when asked (numpy lets go of the lock)."""

        def one(job: tuple[_Group, list[int], int]) -> dict[int, tuple[list[Pattern], float]]:
            grp, batch, track = job
            return self._price_batch(grp, batch, day_cost, many, track, target, dtype)

        if threads <= 1 or len(jobs) <= 1:
            return [one(job) for job in jobs]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, jobs))

    @staticmethod
    def _settled(ans: Answer, goal: float | None) -> bool:
        """Whether an answer already has a column under ``goal`` or proves there is none."""
        if goal is None:
            return ans.exact
        return ans.low >= goal - 1e-6 or ans.best < goal - 1e-6

    def _answer(self, day_cost: Array, e: int, cols: list[Pattern], low: float) -> Answer:
        scored = sorted(
            {p: self.path_cost(day_cost[e], p) for p in cols}.items(), key=lambda t: t[1]
        )
        exact = False
        best = INF
        if scored:
            best = scored[0][1]
            low = min(low, best)
            exact = best - low <= self.tol[e]
        return Answer([p for p, _ in scored], low, exact, best)

    def _batches(self, grp: _Group, emps: list[int], x: int) -> list[list[int]]:
        if not emps:
            return []
        m, w = self._dims(emps)
        cells = (self.c * grp.rr + grp.minoff) * m * w * x * self.h
        size = max(1, BATCH_CELLS // max(1, cells))
        # At least two batches from a big group, so that two threads have work.
        size = min(size, max(4, -(-len(emps) // 2)))
        return [emps[i : i + size] for i in range(0, len(emps), size)]

    def _dims(self, emps: list[int]) -> tuple[int, int]:
        m = max(self.hi_units[e] for e in emps) + 1
        w = max(self.maxwk[e] for e in emps) + 1
        return m, w

    def _price_batch(
        self,
        grp: _Group,
        emps: list[int],
        day_cost: Array,
        many: int,
        track: int,
        target: dict[int, float] | None,
        dtype: type[np.floating[Any]] = DTYPE,
    ) -> dict[int, tuple[list[Pattern], float]]:
        """Price a batch; ``track`` is a shift type whose count is kept in the state, or -1.

        The penalties on the per-type limits follow the subgradient of the Lagrangian dual
        with Polyak's step (towards the cheapest column that keeps the limits), each employee
        until its answer is exact or, with a target, settled.
        """
        todo = list(emps)
        best_low = dict.fromkeys(emps, -INF)
        best_cols: dict[int, list[Pattern]] = {e: [] for e in emps}
        best_ub = dict.fromkeys(emps, INF)
        xdim = 1 if track < 0 else int(self.limit[emps[0], track]) + 1
        theta = 1.0
        for attempt in range(PENALTY_ROUNDS):
            idx = np.array(todo)
            pen_arr = self.penalty[idx].copy()
            if track >= 0:
                pen_arr[:, track] = 0.0
            cost = day_cost[idx] + pen_arr[:, None, :]
            cost[self.blocked[idx]] = INF
            # Each of the days' additions, and each cost's own rounding, may lose half a unit in
            # the last place of a sum no larger than ``scale``: twice that, to be safe.
            scale = np.where(np.isfinite(cost), np.abs(cost), 0.0).max(axis=2).sum(axis=1)
            eps = float(np.finfo(dtype).eps)
            margin = eps * (self.h + 1) * scale + 1e-9
            hist = self._forward(grp, todo, cost.astype(dtype), track, xdim)
            again: list[int] = []
            for i, e in enumerate(todo):
                finals = self._finals(hist[-1], i, e)
                if not finals:
                    best_low[e] = INF  # no schedule at all, whatever the penalties
                    continue
                lagr = finals[0][0] - float(pen_arr[i] @ self.limit[e]) - float(margin[i])
                self.tol[e] = 2 * float(margin[i]) + 1e-6
                best_low[e] = max(best_low[e], lagr)
                first: Pattern | None = None
                for _, state in finals[:many]:
                    pat = self._trace(grp, hist, cost[i], i, state, track)
                    first = first or pat
                    if not self._over(e, pat):
                        best_cols[e].append(pat)
                        best_ub[e] = min(best_ub[e], self.path_cost(day_cost[e], pat))
                if first is None or attempt + 1 == PENALTY_ROUNDS:
                    continue
                counts = np.bincount([k for k in first if k >= 0], minlength=self.k)
                slack = self.limit[e] - counts
                gap = best_ub[e] - best_low[e]
                if gap <= self.tol[e]:
                    continue  # exact
                goal = None if target is None else target.get(e)
                if goal is not None and (best_low[e] >= goal - 1e-6 or best_ub[e] < goal - 1e-6):
                    continue  # settled
                # Projected subgradient over the limits that may bind (the counted type aside).
                grad = np.zeros(self.k)
                for k in self.binding[e]:
                    if k != track and (slack[k] < 0 or pen_arr[i, k] > 0):
                        grad[k] = -slack[k]
                norm = float(grad @ grad)
                if norm == 0:
                    continue
                aim = best_ub[e] if math.isfinite(best_ub[e]) else lagr + 0.1 * abs(lagr) + 1.0
                step = theta * max(aim - lagr, 1e-3) / norm
                self.penalty[e] = np.maximum(0.0, self.penalty[e] + step * grad)
                if track >= 0:
                    self.penalty[e, track] = pen_arr[i, track]
                again.append(e)
            if not again:
                break
            todo = again
            theta *= 0.7
        return {e: (best_cols[e], best_low[e]) for e in emps}

    def path_cost(self, cost: Array, pat: Pattern) -> float:
        """Return the sum of ``cost[d, k]`` over the days a pattern works."""
        return float(sum(cost[d, k] for d, k in enumerate(pat) if k >= 0))

    def _over(self, e: int, pat: Pattern) -> dict[int, int]:
        """Return the per-type limits a pattern exceeds (type -> excess); {} when none."""
        counts = [0] * self.k
        for k in pat:
            if k >= 0:
                counts[k] += 1
        over = {k: counts[k] - int(self.limit[e, k]) for k in self.binding[e]}
        over = {k: v for k, v in over.items() if v > 0}
        if over:
            return over
        ids = [s.id for s in self.inst.shifts]
        row = [None if k < 0 else ids[k] for k in pat]
        if employee_violations(self.inst, e, row):
            # Unreachable unless the state space above disagrees with the rules; treat the
            # path as unusable rather than hand out a column that breaks one.
            return {-1: 1}
        return {}

    # -- the recursion -------------------------------------------------------------------------
    def _forward(
        self, grp: _Group, emps: list[int], cost: Grid, track: int, xdim: int
    ) -> list[tuple[Grid, Grid]]:
        """Return each day's (working states, rest states) arrays for the batch."""
        ne = len(emps)
        mdim, wdim = self._dims(emps)
        c, rr, om, mx, mn = self.c, grp.rr, grp.minoff, grp.maxcons, grp.mincons
        hist: list[tuple[Grid, Grid]] = []
        # Minutes last: every step shifts along it, and long inner loops keep numpy fast.
        work = np.full((ne, c, rr, xdim, wdim, mdim), INF, dtype=cost.dtype)
        rest = np.full((ne, om, xdim, wdim, mdim), INF, dtype=cost.dtype)
        # Before day 0: a rest run that counts as long enough (a run touching day 0 is exempt).
        rest[:, om - 1, 0, 0, 0] = 0.0
        bundles = self._bundles(track)
        order = self._pred_order(track)
        for d in range(self.h):
            nwork = np.full_like(work, INF)
            nrest = np.full_like(rest, INF)
            if d == 0:
                nrest[:, om - 1] = rest[:, om - 1]
            else:
                if om >= 2:
                    nrest[:, 1:] = rest[:, :-1]
                    np.minimum(nrest[:, om - 1], rest[:, om - 1], out=nrest[:, om - 1])
                else:
                    nrest[:, 0] = rest[:, 0]
                ending = work[:, :, :mx].min(axis=(1, 2))
                np.minimum(nrest[:, 0], ending, out=nrest[:, 0])
            start = rest[:, om - 1]
            # A run begun on day 0 is exempt from the minimum; later ones must reach it.
            js = 0 if d == 0 or mn <= 1 else mx
            wd = d % 7
            iw = 1 if wd == 5 else 0
            ist = 1 if wd in (5, 6) else 0
            conts: dict[tuple[int, ...], Grid] = {}
            if d > 0:
                # The cheapest predecessor over each set of classes a shift may follow, built
                # from a subset already computed where there is one.
                mins: dict[tuple[int, ...], Grid] = {}
                for p, base in order:
                    if base is None:
                        acc = work[:, p[0]].copy()
                        rest_cls = p[1:]
                    else:
                        acc = mins[base].copy()
                        rest_cls = tuple(x for x in p if x not in base)
                    for cl in rest_cls:
                        np.minimum(acc, work[:, cl], out=acc)
                    mins[p] = acc
                    # One more working day: a run of r becomes r+1 (those that may end stay
                    # so; the last short one reaches the minimum and may end too).
                    cont = np.full_like(acc, INF)
                    if mx >= 2:
                        cont[:, 1:mx] = acc[:, : mx - 1]
                    if mn >= 3:
                        cont[:, mx + 1 : mx + mn - 1] = acc[:, mx : mx + mn - 2]
                    if mn >= 2:
                        np.minimum(cont[:, mn - 1], acc[:, mx + mn - 2], out=cont[:, mn - 1])
                    conts[p] = cont
            for (cl, p, u, tracked), ks in bundles:
                ck = cost[:, d, ks[0]] if len(ks) == 1 else cost[:, d, ks].min(axis=1)
                ix = 1 if tracked else 0
                if u >= mdim or ix >= xdim or not np.isfinite(ck).any():
                    continue
                dst = nwork[:, cl]
                if d > 0:
                    cand = conts[p][:, :, : xdim - ix, : wdim - iw, : mdim - u]
                    cand = cand + ck[:, None, None, None, None]
                    view = dst[:, :, ix:, iw:, u:]
                    np.minimum(view, cand, out=view)
                cand_s = start[:, : xdim - ix, : wdim - ist, : mdim - u] + ck[:, None, None, None]
                view_s = dst[:, js, ix:, ist:, u:]
                np.minimum(view_s, cand_s, out=view_s)
            work, rest = nwork, nrest
            hist.append((work, rest))
        return hist

    def _pred_order(self, track: int) -> list[tuple[tuple[int, ...], tuple[int, ...] | None]]:
        """Return the predecessor sets in use, smallest first, each with its largest subset."""
        sets = sorted({p for (_, p, _, _), _ in self._bundles(track)}, key=len)
        out: list[tuple[tuple[int, ...], tuple[int, ...] | None]] = []
        for i, p in enumerate(sets):
            subs = [q for q in sets[:i] if set(q) <= set(p)]
            out.append((p, max(subs, key=len) if subs else None))
        return out

    def _bundles(
        self, track: int
    ) -> list[tuple[tuple[int, tuple[int, ...], int, bool], list[int]]]:
        # Shifts alike in class, predecessors and length (and not the counted type) lead from
        # the same states to the same states: one step takes the cheapest of them per
        # employee, and the trace tells them apart.
        cached = self._bundle_cache.get(track)
        if cached is None:
            found: dict[tuple[int, tuple[int, ...], int, bool], list[int]] = {}
            for k in range(self.k):
                key = (self.cls[k], self.preds[k], self.units[k], k == track)
                found.setdefault(key, []).append(k)
            cached = self._bundle_cache[track] = list(found.items())
        return cached

    def _finals(
        self, last: tuple[Grid, Grid], i: int, e: int
    ) -> list[tuple[float, tuple[int, ...]]]:
        """Return the end states that keep the minutes and weekend limits, cheapest first."""
        work, rest = last
        lo, hi, wk = self.lo_units[e], self.hi_units[e], self.maxwk[e]
        w = work[i][:, :, :, : wk + 1, lo : hi + 1]
        r = rest[i][:, :, : wk + 1, lo : hi + 1]
        flat = np.concatenate([w.reshape(-1), r.reshape(-1)])
        finite = np.flatnonzero(np.isfinite(flat))
        if finite.size == 0:
            return []
        order = finite[np.argsort(flat[finite], kind="stable")]
        out: list[tuple[float, tuple[int, ...]]] = []
        nw = w.size
        for pos in order[:8]:
            if pos < nw:
                cc, j, x, ww, m = (int(v) for v in np.unravel_index(pos, w.shape))
                state: tuple[int, ...] = (0, cc, j, m + lo, ww, x)
            else:
                o, x, ww, m = (int(v) for v in np.unravel_index(pos - nw, r.shape))
                state = (1, o, m + lo, ww, x)
            out.append((float(flat[pos]), state))
        return out

    def _trace(
        self,
        grp: _Group,
        hist: list[tuple[Grid, Grid]],
        cost: Array,
        i: int,
        state: tuple[int, ...],
        track: int,
    ) -> Pattern:
        """Follow the recursion back from an end state; the pattern of shifts it came by."""
        mx, mn, om = grp.maxcons, grp.mincons, grp.minoff
        src1, src2 = grp.src
        pat = [-1] * self.h
        for d in range(self.h - 1, -1, -1):
            wd = d % 7
            iw = 1 if wd == 5 else 0
            ist = 1 if wd in (5, 6) else 0
            first = d == 0
            # On day 0 these are unused (the state before it is the virtual rest run).
            pw, pr = hist[max(0, d - 1)]
            best = INF
            nxt: tuple[int, ...] | None = None
            choice = -1
            if state[0] == 0:
                _, cc, j, m, w, x = state
                js = 0 if first or mn <= 1 else mx
                for k in self.members[cc]:
                    ck = float(cost[d, k])
                    pm = m - self.units[k]
                    px = x - 1 if k == track else x
                    if not math.isfinite(ck) or pm < 0 or px < 0:
                        continue
                    pws = w - ist
                    if j == js and pws >= 0:
                        if first:
                            val = 0.0 if pm == 0 and pws == 0 and px == 0 else INF
                        else:
                            val = float(pr[i, om - 1, px, pws, pm])
                        if val + ck < best:
                            best, nxt, choice = val + ck, (1, om - 1, pm, pws, px), k
                    pww = w - iw
                    if first or pww < 0:
                        continue
                    for s in (src1[j], src2[j]):
                        if s >= grp.rr:
                            continue
                        for pc in self.preds[k]:
                            val = float(pw[i, pc, s, px, pww, pm])
                            if val + ck < best:
                                best, nxt, choice = val + ck, (0, pc, s, pm, pww, px), k
            else:
                _, o, m, w, x = state
                if first:
                    best, nxt = 0.0, (1, om - 1, 0, 0, 0)
                else:
                    cands: list[tuple[float, tuple[int, ...]]] = []
                    if o >= 1:
                        cands.append((float(pr[i, o - 1, x, w, m]), (1, o - 1, m, w, x)))
                    if o == om - 1:
                        cands.append((float(pr[i, o, x, w, m]), (1, o, m, w, x)))
                    if o == 0:
                        sub = pw[i, :, :mx, x, w, m]
                        flat = int(np.argmin(sub))
                        pc, js2 = (int(v) for v in np.unravel_index(flat, sub.shape))
                        cands.append((float(sub[pc, js2]), (0, pc, js2, m, w, x)))
                    best, nxt = min(cands, key=lambda t: t[0])
            if nxt is None or not math.isfinite(best):
                raise RuntimeError("the recursion could not be traced back")
            pat[d] = choice
            state = nxt
        return tuple(pat)
