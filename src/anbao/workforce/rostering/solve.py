"""Build a roster: day-by-day windows solved with CP-SAT per home place, then a pooled pass."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]

from .check import check
from .explain import reason_for
from .index import Index, Ledger, frozen, km
from .model import Group, GroupKey, WindowResult, solve_window
from .types import Assignment, Guard, Need, Problem, Progress, Shortfall, Solution

log = logging.getLogger(__name__)

SeatKey = tuple[int, int, str, str | None, bool]
"""One kind of seat: (post id, shift id, skill, gender, soft)."""

LEFTOVER_CANDIDATES = 40  # least candidates per short seat kind in the pooled pass
POOLED_VARIABLES = 60_000  # candidates spread over the pooled pass's seat kinds
# Costs that steer each day's choice towards rosters the later days can still fill:
STREAK = 8  # per consecutive working day a seat would make
SPARE = 2  # per other in-demand skill a guard would not use in a seat


@dataclass(frozen=True, slots=True)
class Score:
    """The objective of a whole roster, term by term (unweighted counts)."""

    hard_missing: int
    soft_missing: int
    preference_misses: int
    night_spread: int
    weekend_spread: int
    squad_splits: int
    changed: int
    hard_seats: int
    soft_seats: int

    def value(self, problem: Problem) -> float:
        """Weighted sum, as minimised."""
        r = problem.rules
        return float(
            r.weight_uncovered * self.hard_missing
            + r.weight_reserve * self.soft_missing
            + r.weight_preference * self.preference_misses
            + r.weight_night_fairness * self.night_spread
            + r.weight_weekend_fairness * self.weekend_spread
            + r.weight_squad_split * self.squad_splits
            + r.weight_change * self.changed
        )


class _Seats:
    """Open seats per seat kind, pooled by group (shift, place, skill, gender, soft)."""

    def __init__(self, idx: Index, problem: Problem) -> None:
        self.idx = idx
        self.left: dict[SeatKey, int] = Counter()
        for n in problem.needs:
            shift = idx.shifts.get(n.shift_id)
            if shift is None or n.post_id not in idx.posts or frozen(problem, shift):
                continue
            self.left[(n.post_id, n.shift_id, n.skill, n.gender, n.soft)] += n.count
        self.posts_of: dict[GroupKey, list[int]] = defaultdict(list)
        for post_id, shift_id, skill, gender, soft in sorted(self.left, key=_seat_order):
            place = idx.posts[post_id].place
            self.posts_of[(shift_id, place, skill, gender, soft)].append(post_id)
        self.by_day: dict[tuple[date, str | None], list[GroupKey]] = defaultdict(list)
        for gkey in self.posts_of:
            day = idx.shifts[gkey[0]].start.date()
            self.by_day[(day, gkey[1])].append(gkey)
            self.by_day[(day, None)].append(gkey)

    def take_pin(self, guard: Guard, post_id: int, shift_id: int, skill: str) -> None:
        """Use up the seat a pin occupies (own-gender seats first, hard before soft)."""
        order = [(guard.gender, False), (None, False), (guard.gender, True), (None, True)]
        for gender, soft in order:
            key = (post_id, shift_id, skill, gender, soft)
            if self.left.get(key, 0) > 0:
                self.left[key] -= 1
                return

    def groups(self, day: date, place: str | None = None) -> list[Group]:
        """Return the groups of the day (at one place, or all) with open seats."""
        out = []
        for gkey in self.by_day.get((day, place), []):
            posts = self.posts_of[gkey]
            shift = self.idx.shifts[gkey[0]]
            cap = sum(self.left[(p, gkey[0], gkey[2], gkey[3], gkey[4])] for p in posts)
            if cap > 0:
                out.append(Group(gkey, cap, shift))
        out.sort(key=lambda g: (g.shift.start, g.key[1], g.key[2], str(g.key[3]), g.key[4]))
        return out

    def seat(self, gkey: GroupKey, preferred: int | None) -> SeatKey:
        """Take a seat of the group, at the preferred post when it has one left."""
        shift_id, _place, skill, gender, soft = gkey
        posts = self.posts_of[gkey]
        if preferred is not None and preferred in posts:
            posts = [preferred, *posts]
        for p in posts:
            key = (p, shift_id, skill, gender, soft)
            if self.left[key] > 0:
                self.left[key] -= 1
                return key
        raise ValueError("group has no seat left")


def solve(
    problem: Problem,
    *,
    time_limit: float = 60,
    workers: int = 2,
    seed: int = 0,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> Solution:
    """Roster the problem within ``time_limit`` seconds; the result passes ``check``."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    idx = Index(problem)
    rules = problem.rules

    fixed = _fixed(problem, idx)
    fixed_set = set(fixed)
    roster: list[Assignment] = list(fixed)
    ledgers = idx.ledgers(roster)
    seats = _Seats(idx, problem)
    for a in problem.pins:
        if a.guard_id in idx.guards and not frozen(problem, idx.shifts[a.shift_id]):
            seats.take_pin(idx.guards[a.guard_id], a.post_id, a.shift_id, a.skill)
    previous = {
        (a.guard_id, a.shift_id): a
        for a in problem.previous
        if a.shift_id in idx.shifts and not frozen(problem, idx.shifts[a.shift_id])
    }
    groups_of: dict[tuple[int, int, str], list[GroupKey]] = defaultdict(list)
    for gkey, posts in seats.posts_of.items():
        for post_id in posts:
            groups_of[(post_id, gkey[0], gkey[2])].append(gkey)
    # A guard keeps a seat when placed in a group holding the previous post (same skill).
    prev_group = {
        (a.guard_id, gkey)
        for a in previous.values()
        for gkey in groups_of.get((a.post_id, a.shift_id, a.skill), [])
    }
    homes = _homes(idx, problem)
    by_home: dict[str | None, list[Guard]] = defaultdict(list)
    for g in problem.guards:
        by_home[homes[g.id]].append(g)
    near = {p: set(idx.neighbours(p, rules.neighbour_places)) for p in idx.places}

    def recent(ledger: Ledger, day: date) -> int:
        o = day.toordinal()
        return sum(1 for d in range(o - 6, o) if date.fromordinal(d) in ledger.day_hours)

    everyone = {k for k, v in idx.holders.items() if len(v) >= 0.9 * len(idx.guards)}
    scarce = sorted({n.skill for n in problem.needs if not n.soft} - everyone)

    def cost(guard: Guard, group: Group) -> int:
        shift_id, place, _skill, _gender, soft = group.key
        shift = group.shift
        c = -(rules.weight_reserve if soft else rules.weight_uncovered)
        if shift_id in guard.prefers_off:
            c += rules.weight_preference
        if shift_id in guard.prefers_on:
            c -= rules.weight_preference
        if previous:
            kept = (guard.id, group.key) in prev_group
            c += -rules.weight_change if kept else rules.weight_change
        led = ledgers[guard.id]
        # Fairness is steered day by day: nights and weekends go to those with fewest so far.
        if shift.night:
            c += rules.weight_night_fairness * led.nights
        if shift.weekend:
            c += rules.weight_weekend_fairness * led.weekends
        c += recent(led, shift.start.date())
        if rules.max_consecutive_days:
            # Long runs are steered towards a day off before the limit forces one.
            c += STREAK * (led.run_through(shift.start.date()) - 1)
        if scarce:
            # A guard whose other skills are in demand is kept for seats that need them.
            held = idx.skills[guard.id]
            day = shift.start.date()
            c += SPARE * sum(
                1 for k in scarce if k != group.key[2] and k in held and held[k] >= day
            )
        home = homes[guard.id]
        if home is not None and home != place:
            c += rules.weight_squad_split
        return c

    _keep_previous(idx, previous, seats, ledgers, roster, fixed_set)
    days = sorted({idx.shifts[k[1]].start.date() for k, n in seats.left.items() if n > 0})
    stopped = False
    bound, cover_bound, forced = lower_bound(problem, idx)
    # Running estimate for progress reports: open seats as if they stayed empty, plus the
    # current window's costs (negative for the seats it fills).
    open_cost = [
        sum(
            (rules.weight_reserve if k[4] else rules.weight_uncovered) * n
            for k, n in seats.left.items()
        )
    ]

    def emit(window_objective: float = 0.0) -> None:
        if progress is None:
            return
        estimate = max(bound, open_cost[0] + window_objective)
        progress(
            Progress(
                seconds=time.perf_counter() - t0,
                objective=estimate,
                bound=bound,
                gap=(estimate - bound) / max(1.0, estimate),
                assigned=len(roster),
                uncovered=sum(seats.left.values()),
            )
        )

    def apply(groups: list[Group], picks: list[tuple[int, int]]) -> None:
        def keeps_post(pick: tuple[int, int]) -> bool:
            prev = previous.get((pick[0], groups[pick[1]].shift.id))
            return prev is None or prev.post_id not in seats.posts_of[groups[pick[1]].key]

        # Guards returning to their previous post sit first, so nobody else takes it.
        for gid, gi in sorted(picks, key=lambda p: (keeps_post(p), p)):
            group = groups[gi]
            prev = previous.get((gid, group.shift.id))
            key = seats.seat(group.key, prev.post_id if prev is not None else None)
            roster.append(Assignment(gid, group.shift.id, key[0], group.key[2]))
            open_cost[0] -= rules.weight_reserve if group.key[4] else rules.weight_uncovered
            ledgers[gid].add(group.shift, group.key[2] == "canine")

    for di, day in enumerate(days):
        if stop is not None and stop.is_set():
            stopped = True
        places = [p for p in idx.places if p in by_home]
        windows = len(places) + 1
        now = time.perf_counter()
        day_deadline = now + max(0.0, (deadline - now) * 0.9 / (len(days) - di))
        for wi, place in enumerate([*places, None]):
            groups = seats.groups(day, place)
            if place is not None:
                people = by_home[place]
                cands = [
                    [
                        g
                        for g in people
                        if idx.qualified(g, gr.key[2], gr.shift.start.date(), gr.key[3])
                    ]
                    for gr in groups
                ]
            else:
                share = max(LEFTOVER_CANDIDATES, POOLED_VARIABLES // max(1, len(groups)))
                cands = [
                    _pooled(idx, gr, ledgers, homes, near, day, share, gi)
                    for gi, gr in enumerate(groups)
                ]
            if not groups or not any(cands):
                continue
            budget = (day_deadline - time.perf_counter()) / (windows - wi)
            hint = {
                (gid, gi)
                for gi, gr in enumerate(groups)
                for gid in (g.id for g in cands[gi])
                if (gid, gr.key) in prev_group
            }
            result: WindowResult | None = None
            if not stopped and budget > 0.02:
                result = solve_window(
                    idx,
                    ledgers,
                    groups,
                    cands,
                    cost,
                    hint=hint,
                    time_limit=budget,
                    workers=workers,
                    seed=seed,
                    report=_relative(emit) if progress else None,
                    stop=stop,
                )
            log.debug(
                "window %s %s: %d groups, budget %.2fs, %s",
                day,
                place,
                len(groups),
                budget,
                "greedy"
                if result is None or not result.solved
                else ("optimal" if result.optimal else "feasible"),
            )
            if result is None or not result.solved:
                picks = _greedy(idx, ledgers, groups, cands, cost)
            else:
                picks = result.picks
            apply(groups, picks)
            emit()
            if stop is not None and stop.is_set():
                stopped = True

    roster = _clean(problem, roster, fixed_set)
    violations = tuple(check(problem, roster))
    score = evaluate(problem, idx, roster)
    objective = score.value(problem)
    bound = min(bound, objective)
    gap = abs(objective - bound) / max(1.0, abs(objective))
    fixed_seats = {(f.guard_id, f.shift_id) for f in fixed_set}
    fixed_bad = any((v.guard_id, v.shift_id) in fixed_seats for v in violations)
    if fixed_bad:
        status = "infeasible"  # the pins or the frozen past themselves break a rule
    elif objective <= bound + 1e-9:
        status = "optimal"
    else:
        status = "feasible"
    seconds = time.perf_counter() - t0
    sol = Solution(
        assignments=tuple(sorted(roster, key=lambda a: (a.shift_id, a.post_id, a.guard_id))),
        uncovered=tuple(shortfalls(problem, idx, roster)),
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        seconds=seconds,
        changed=score.changed,
        violations=violations,
        coverage_bound=cover_bound,
        forced_changes=forced,
    )
    if progress is not None:
        progress(
            Progress(
                seconds, objective, bound, gap, len(roster), sum(s.missing for s in sol.uncovered)
            )
        )
    return sol


def _keep_previous(
    idx: Index,
    previous: dict[tuple[int, int], Assignment],
    seats: _Seats,
    ledgers: dict[int, Ledger],
    roster: list[Assignment],
    fixed: set[Assignment],
) -> int:
    """Keep every previous seat that is still valid, oldest first; return how many.

    Changes to a published roster are costly, so a re-solve starts from the previous roster
    minus what no longer holds (absences, expired certificates, removed needs) and then only
    fills the gaps.
    """
    count = 0
    order = sorted(previous.values(), key=lambda a: (idx.shifts[a.shift_id].start, a.guard_id))
    for a in order:
        guard = idx.guards.get(a.guard_id)
        if guard is None or a in fixed or a.post_id not in idx.posts:
            continue
        shift = idx.shifts[a.shift_id]
        day = shift.start.date()
        seat = None
        for gender, soft in (
            (guard.gender, False),
            (None, False),
            (guard.gender, True),
            (None, True),
        ):
            key = (a.post_id, a.shift_id, a.skill, gender, soft)
            if seats.left.get(key, 0) > 0 and idx.qualified(guard, a.skill, day, gender):
                seat = key
                break
        canine = a.skill == "canine"
        if seat is None or idx.fits(guard, ledgers[guard.id], shift, canine) is not None:
            continue
        seats.left[seat] -= 1
        ledgers[guard.id].add(shift, canine)
        roster.append(a)
        count += 1
    return count


def _homes(idx: Index, problem: Problem) -> dict[int, str | None]:
    """Each guard's home place; guards with none are spread over places by demand.

    A whole squad goes to one place. Spreading keeps every window small; the pooled pass still
    lets anyone fill what their place's window left open.
    """
    homes = {g.id: idx.home_place(g) for g in problem.guards}
    if not idx.places:
        return homes
    demand: Counter[str] = Counter()
    for n in problem.needs:
        post = idx.posts.get(n.post_id)
        if post is not None:
            demand[post.place] += n.count
    staffed: Counter[str] = Counter(h for h in homes.values() if h is not None)
    units: dict[str, list[int]] = defaultdict(list)
    for g in problem.guards:
        if homes[g.id] is None:
            units[g.squad if g.squad is not None else f"#{g.id}"].append(g.id)
    total_demand = max(1, sum(demand.values()))
    total_staff = len(problem.guards)
    for _key, members in sorted(units.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        place = max(
            idx.places,
            key=lambda p: (demand[p] / total_demand - staffed[p] / total_staff, p),
        )
        for gid in members:
            homes[gid] = place
        staffed[place] += len(members)
    return homes


def _relative(emit: Callable[[float], None]) -> Callable[[float, float], None]:
    """Adapt the solution callback's (objective, bound) to the progress reporter."""

    def report(objective: float, _bound: float) -> None:
        emit(objective)

    return report


def _fixed(problem: Problem, idx: Index) -> list[Assignment]:
    """Past seats of the previous roster and pinned seats, which every roster keeps."""
    out: dict[Assignment, None] = {}
    for a in problem.previous:
        shift = idx.shifts.get(a.shift_id)
        if shift is not None and frozen(problem, shift):
            out[a] = None
    for p in problem.pins:
        out[Assignment(p.guard_id, p.shift_id, p.post_id, p.skill)] = None
    return list(out)


def _pooled(
    idx: Index,
    group: Group,
    ledgers: dict[int, Ledger],
    homes: dict[int, str | None],
    near: dict[str, set[str]],
    day: date,
    share: int,
    salt: int,
) -> list[Guard]:
    """Guards who could still take a short seat kind, neighbours and nearest first."""
    _shift_id, place, skill, gender, _soft = group.key
    shift = group.shift
    canine = skill == "canine"
    here = idx.place_location.get(place)
    found: list[tuple[int, float, int, Guard]] = []
    # Ties are broken by a per-group scramble so that groups do not all see the same guards.
    spread = 2654435761
    for g in idx.holders.get(skill, []):
        if not idx.qualified(g, skill, day, gender):
            continue
        if idx.fits(g, ledgers[g.id], shift, canine) is not None:
            continue
        home = homes[g.id]
        rank = 0 if home is None or home == place or home in near.get(place, set()) else 1
        loc = idx.place_location.get(home) if home is not None else g.base
        dist = 0.0
        if here is not None and loc is not None:
            dist = km(here, loc)
        found.append((rank, round(dist, 1), (g.id * spread + salt * 40503) % 4294967296, g))
    found.sort(key=lambda t: t[:3])
    limit = max(share, 3 * group.capacity)
    return [t[3] for t in found[:limit]]


def _greedy(
    idx: Index,
    ledgers: dict[int, Ledger],
    groups: list[Group],
    cands: list[list[Guard]],
    cost: Callable[[Guard, Group], int],
) -> list[tuple[int, int]]:
    """Fill groups one by one with the cheapest guard who still fits (used when out of time)."""
    picks: list[tuple[int, int]] = []
    added: list[tuple[int, int]] = []
    order = sorted(range(len(groups)), key=lambda i: (len(cands[i]), i))
    for gi in order:
        group = groups[gi]
        canine = group.key[2] == "canine"
        left = group.capacity
        ranked = sorted(cands[gi], key=lambda g: (cost(g, group), g.id))
        for g in ranked:
            if left == 0:
                break
            if not idx.available(g, group.shift):
                continue
            if idx.fits(g, ledgers[g.id], group.shift, canine) is not None:
                continue
            ledgers[g.id].add(group.shift, canine)
            added.append((g.id, gi))
            picks.append((g.id, gi))
            left -= 1
    # The caller records the picks in the ledgers itself.
    for gid, gi in added:
        ledgers[gid].remove(groups[gi].shift, groups[gi].key[2] == "canine")
    return picks


def _clean(problem: Problem, roster: list[Assignment], fixed: set[Assignment]) -> list[Assignment]:
    """Drop solver seats that break a rule (a safety net; none are expected)."""
    for _ in range(5):
        bad = {
            (v.guard_id, v.shift_id)
            for v in check(problem, roster)
            if v.rule not in ("pin", "frozen")
        }
        drop = [a for a in roster if (a.guard_id, a.shift_id) in bad and a not in fixed]
        if not drop:
            return roster
        log.warning("roster engine dropped %d seats that broke a rule", len(drop))
        gone = set(drop)
        roster = [a for a in roster if a not in gone]
    return roster


def evaluate(problem: Problem, idx: Index, roster: list[Assignment]) -> Score:
    """Score a whole roster with the engine's objective."""
    hard_missing = soft_missing = hard_seats = soft_seats = 0
    for need_missing, soft, count in _seat_fill(problem, idx, roster):
        if soft:
            soft_missing += need_missing
            soft_seats += count
        else:
            hard_missing += need_missing
            hard_seats += count
    working = {(a.guard_id, a.shift_id) for a in roster}
    prefs = 0
    for g in problem.guards:
        prefs += sum(1 for s in g.prefers_off if (g.id, s) in working)
        prefs += sum(1 for s in g.prefers_on if s in idx.shifts and (g.id, s) not in working)
    nights: Counter[int] = Counter()
    weekends: Counter[int] = Counter()
    for gid, sid in working:
        shift = idx.shifts[sid]
        nights[gid] += shift.night
        weekends[gid] += shift.weekend
    ids = [g.id for g in problem.guards]
    night_spread = max((nights[i] for i in ids), default=0) - min(
        (nights[i] for i in ids), default=0
    )
    weekend_spread = max((weekends[i] for i in ids), default=0) - min(
        (weekends[i] for i in ids), default=0
    )
    squads: dict[tuple[str, date], set[str]] = defaultdict(set)
    for a in roster:
        member = idx.guards.get(a.guard_id)
        if member is not None and member.squad is not None and a.post_id in idx.posts:
            squads[(member.squad, idx.shifts[a.shift_id].start.date())].add(
                idx.posts[a.post_id].place
            )
    splits = sum(len(p) - 1 for p in squads.values())
    changed = 0
    if problem.previous:
        changed = len(set(problem.previous) ^ set(roster))
    return Score(
        hard_missing,
        soft_missing,
        prefs,
        night_spread,
        weekend_spread,
        splits,
        changed,
        hard_seats,
        soft_seats,
    )


def _seat_fill(
    problem: Problem, idx: Index, roster: list[Assignment]
) -> list[tuple[int, bool, int]]:
    """(missing, soft, count) per need record."""
    return [(m, n.soft, n.count) for n, m in _need_missing(problem, idx, roster)]


def _need_missing(problem: Problem, idx: Index, roster: list[Assignment]) -> list[tuple[Need, int]]:
    """Empty seats per need record; guards fill own-gender seats first, hard before soft."""
    held: dict[tuple[int, int, str], Counter[str]] = defaultdict(Counter)
    for a in roster:
        g = idx.guards.get(a.guard_id)
        if g is not None:
            held[(a.post_id, a.shift_id, a.skill)][g.gender] += 1
    by_key: dict[tuple[int, int, str], list[Need]] = defaultdict(list)
    for n in problem.needs:
        by_key[(n.post_id, n.shift_id, n.skill)].append(n)
    out: list[tuple[Need, int]] = []
    for key, members in by_key.items():
        pool = Counter(held.get(key, Counter()))
        for n in sorted(members, key=lambda n: (n.gender is None, n.soft)):
            if n.gender is not None:
                take = min(n.count, pool[n.gender])
                pool[n.gender] -= take
            else:
                take = min(n.count, sum(pool.values()))
                rest = take
                for name in sorted(pool):
                    t = min(pool[name], rest)
                    pool[name] -= t
                    rest -= t
            out.append((n, n.count - take))
    return out


def shortfalls(problem: Problem, idx: Index, roster: list[Assignment]) -> list[Shortfall]:
    """Empty seats of a roster with their reasons."""
    ledgers = idx.ledgers(roster)
    on_duty: dict[int, set[int]] = defaultdict(set)
    for a in roster:
        on_duty[a.shift_id].add(a.guard_id)
    missing: Counter[tuple[int, int, str, str | None, bool]] = Counter()
    for n, m in _need_missing(problem, idx, roster):
        if m > 0:
            missing[(n.post_id, n.shift_id, n.skill, n.gender, n.soft)] += m
    out = []
    cache: dict[tuple[int, str, str | None], tuple[str, str]] = {}
    for (post_id, shift_id, skill, gender, soft), m in sorted(
        missing.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2], str(kv[0][3]), kv[0][4])
    ):
        shift = idx.shifts[shift_id]
        ck = (shift_id, skill, gender)
        if ck not in cache:
            cache[ck] = reason_for(idx, shift, skill, gender, m, ledgers, on_duty[shift_id])
        code, detail = cache[ck]
        out.append(Shortfall(post_id, shift_id, skill, gender, m, code, detail, soft))
    return out


def lower_bound(problem: Problem, idx: Index) -> tuple[float, int, int]:
    """Return a valid lower bound on the objective, the most seats fillable, forced changes.

    Per shift, guards may fill any seat they are qualified and available for, each guard one
    seat, with no rest, hours or cross-shift rule. A min-cost flow then gives the least weight
    of empty seats plus changes against the previous roster (a new seat costs a change, a
    previous seat not kept costs one). Frozen shifts count at their actual cost. Fairness,
    wishes and squads count as zero.
    """
    rules = problem.rules
    needs_by_shift: dict[int, list[Need]] = defaultdict(list)
    for n in problem.needs:
        if n.shift_id in idx.shifts:
            needs_by_shift[n.shift_id].append(n)
    prev_by_shift: dict[int, list[Assignment]] = defaultdict(list)
    for a in problem.previous:
        if a.shift_id in idx.shifts:
            prev_by_shift[a.shift_id].append(a)
    total = 0.0
    fillable = 0
    forced = 0
    past_roster = [
        a
        for a in problem.previous
        if a.shift_id in idx.shifts and frozen(problem, idx.shifts[a.shift_id])
    ]
    for n, m in _need_missing(problem, idx, past_roster):
        if n.shift_id in idx.shifts and frozen(problem, idx.shifts[n.shift_id]):
            total += (rules.weight_reserve if n.soft else rules.weight_uncovered) * m
            fillable += n.count - m
    for shift_id in sorted(set(needs_by_shift) | set(prev_by_shift)):
        if frozen(problem, idx.shifts[shift_id]):
            continue
        cost, filled, lost = _shift_flow(
            idx, shift_id, needs_by_shift.get(shift_id, []), prev_by_shift.get(shift_id, [])
        )
        total += cost
        fillable += filled
        forced += lost
    return total, fillable, forced


def _shift_flow(
    idx: Index, shift_id: int, needs: list[Need], previous: list[Assignment]
) -> tuple[float, int, int]:
    """Least cost of empty seats and changes in one shift; seats filled; forced removals."""
    rules = idx.rules
    wc = rules.weight_change if idx.problem.previous else 0
    shift = idx.shifts[shift_id]
    day = shift.start.date()
    demand: Counter[tuple[str, str | None, bool]] = Counter()
    at_post: dict[tuple[int, str], set[tuple[str, str | None, bool]]] = defaultdict(set)
    for n in needs:
        demand[(n.skill, n.gender, n.soft)] += n.count
        at_post[(n.post_id, n.skill)].add((n.skill, n.gender, n.soft))
    roles = sorted(demand, key=lambda k: (k[0], str(k[1]), k[2]))
    where = {r: i for i, r in enumerate(roles)}
    prev_roles: dict[int, frozenset[int]] = {}
    forced = 0
    for a in previous:
        g = idx.guards.get(a.guard_id)
        ok = frozenset(
            where[r]
            for r in at_post.get((a.post_id, a.skill), set())
            if g is not None and idx.available(g, shift) and idx.qualified(g, r[0], day, r[1])
        )
        if ok:
            prev_roles[a.guard_id] = ok
        else:
            forced += 1  # the seat or the guard is gone: a change no roster avoids
    classes: Counter[tuple[tuple[bool, ...], frozenset[int]]] = Counter()
    for g in idx.guards.values():
        if not idx.available(g, shift):
            continue
        sig = tuple(idx.qualified(g, r[0], day, r[1]) for r in roles)
        if any(sig):
            classes[(sig, prev_roles.get(g.id, frozenset()))] += 1
    total_weight = sum(
        (rules.weight_reserve if soft else rules.weight_uncovered) * c
        for (_s, _g, soft), c in demand.items()
    )
    constant = total_weight + wc * (len(prev_roles) + forced)
    if not classes:
        return float(constant), 0, forced
    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1
    class_list = sorted(classes, key=lambda c: (c[0], sorted(c[1])))
    cbase = 2
    rbase = cbase + len(class_list)
    supply = sum(classes.values())
    for ci, (sig, kept) in enumerate(class_list):
        size = classes[(sig, kept)]
        flow.add_arc_with_capacity_and_unit_cost(source, cbase + ci, size, 0)
        for ri, can in enumerate(sig):
            if can:
                # Keeping a previous seat saves its removal; any other seat is an addition.
                unit = -wc if ri in kept else wc
                flow.add_arc_with_capacity_and_unit_cost(cbase + ci, rbase + ri, size, unit)
    role_arcs = []
    for ri, r in enumerate(roles):
        w = rules.weight_reserve if r[2] else rules.weight_uncovered
        role_arcs.append(flow.add_arc_with_capacity_and_unit_cost(rbase + ri, sink, demand[r], -w))
    flow.add_arc_with_capacity_and_unit_cost(source, sink, supply, 0)
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    if flow.solve() != flow.OPTIMAL:
        return 0.0, sum(demand.values()), forced
    filled = sum(flow.flow(a) for a in role_arcs)
    return float(constant + flow.optimal_cost()), int(filled), forced


def _seat_order(key: SeatKey) -> tuple[int, int, str, str, bool]:
    """Sort key of a seat kind (gender None sorts first)."""
    return key[0], key[1], key[2], key[3] or "", key[4]
