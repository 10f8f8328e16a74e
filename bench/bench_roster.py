"""Benchmark the event roster engine on a generated event, then a re-solve after absences.

Run: ``.venv/bin/python bench/bench_roster.py [--guards 3000] [--posts 400] [--days 14]``

A generated event (``generate_event``: ~25 places, lanes with xray, search, female search and
leader seats, patrols with dogs, command, reserve and VIP posts; guards in squads of twelve)
is rostered with ``solve(workers=2)``; the roster is checked with ``check``. Then ``--absences``
rostered guards are marked absent from day ``--absence-day`` on, the days before are frozen,
and the roster is solved again against the first one.

Targets (exit 1 on a miss): first roster in ≤ 120 s wall with zero violations and peak memory
≤ 4 GB; re-solve in ≤ 20 s with zero violations.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe
from anbao.workforce.rostering import absences, check, generate_event, solve
from anbao.workforce.rostering.types import Problem, Solution

TARGET_SOLVE_S, TARGET_RESOLVE_S, TARGET_RSS_GB = 120.0, 20.0, 4.0


def seats(problem: Problem, solution: Solution, soft: bool) -> tuple[int, int]:
    total = sum(n.count for n in problem.needs if n.soft == soft)
    missing = sum(s.missing for s in solution.uncovered if s.soft == soft)
    return total - missing, total


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--guards", type=int, default=3000)
    ap.add_argument("--posts", type=int, default=400)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--shifts-per-day", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=100.0)
    ap.add_argument("--resolve-limit", type=float, default=15.0)
    ap.add_argument("--absences", type=int, default=50)
    ap.add_argument("--absence-day", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = ap.parse_args()

    load_before = os.getloadavg()
    t = time.perf_counter()
    problem = generate_event(
        guards=args.guards,
        posts=args.posts,
        days=args.days,
        shifts_per_day=args.shifts_per_day,
        seed=args.seed,
    )
    gen_s = time.perf_counter() - t

    t = time.perf_counter()
    first = solve(problem, time_limit=args.time_limit, workers=2, seed=args.seed)
    solve_s = time.perf_counter() - t
    t = time.perf_counter()
    bad = check(problem, first.assignments)
    check_s = time.perf_counter() - t

    again_problem = absences(problem, first, count=args.absences, day=args.absence_day)
    t = time.perf_counter()
    again = solve(again_problem, time_limit=args.resolve_limit, workers=2, seed=args.seed)
    resolve_s = time.perf_counter() - t
    bad_again = check(again_problem, again.assignments)
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    load_after = os.getloadavg()

    hard = seats(problem, first, soft=False)
    soft = seats(problem, first, soft=True)
    hard2 = seats(again_problem, again, soft=False)
    figures = {
        "guards": len(problem.guards),
        "posts": len(problem.posts),
        "places": len({p.place for p in problem.posts}),
        "shifts": len(problem.shifts),
        "seats": sum(n.count for n in problem.needs),
        "generate_s": round(gen_s, 2),
        "solve_s": round(solve_s, 1),
        "status": first.status,
        "objective": first.objective,
        "bound": first.bound,
        "gap": round(first.gap, 4),
        "hard_filled": hard[0],
        "hard_seats": hard[1],
        "reserve_filled": soft[0],
        "reserve_seats": soft[1],
        "coverage_bound": first.coverage_bound,
        "violations": len(bad),
        "check_s": round(check_s, 2),
        "resolve_s": round(resolve_s, 1),
        "resolve_status": again.status,
        "resolve_objective": again.objective,
        "resolve_bound": again.bound,
        "resolve_gap": round(again.gap, 4),
        "absent": args.absences,
        "forced_changes": again.forced_changes,
        "changed": again.changed,
        "resolve_hard_filled": hard2[0],
        "resolve_violations": len(bad_again),
        "maxrss_gb": round(rss_gb, 2),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "machine": describe(),
    }
    if args.json:
        print(json.dumps(figures))
    rows = [
        (
            "event",
            f"{figures['guards']} guards, {figures['posts']} posts at "
            f"{figures['places']} places, {figures['shifts']} shifts, {figures['seats']} seats",
        ),
        ("generate", f"{gen_s:.2f} s"),
        ("solve (workers=2)", f"{solve_s:.1f} s, {first.status}"),
        ("objective / bound / gap", f"{first.objective:g} / {first.bound:g} / {first.gap:.1%}"),
        ("hard seats filled", f"{hard[0]} / {hard[1]} ({hard[0] / max(1, hard[1]):.2%})"),
        ("reserve seats filled", f"{soft[0]} / {soft[1]}"),
        ("most seats fillable (bound)", f"{first.coverage_bound}"),
        ("violations (check)", f"{len(bad)} ({check_s:.2f} s)"),
        (
            f"re-solve after {args.absences} absences, day {args.absence_day}",
            f"{resolve_s:.1f} s, {again.status}",
        ),
        ("  changed (added + removed)", f"{again.changed}"),
        (
            "  seats lost to the absences",
            f"{again.forced_changes} (minimum changes "
            f"{again.forced_changes}, {2 * again.forced_changes} if each is refilled)",
        ),
        ("  objective / bound / gap", f"{again.objective:g} / {again.bound:g} / {again.gap:.1%}"),
        ("  hard seats filled", f"{hard2[0]} / {hard2[1]}"),
        ("  violations (check)", f"{len(bad_again)}"),
        ("peak memory (ru_maxrss)", f"{rss_gb:.2f} GB"),
        ("load average before / after", f"{load_before[0]:.2f} / {load_after[0]:.2f}"),
        ("machine", describe()),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")

    misses = []
    if solve_s > TARGET_SOLVE_S:
        misses.append(f"solve {solve_s:.1f} s > {TARGET_SOLVE_S} s")
    if bad or first.violations:
        misses.append(f"{len(bad)} violations in the first roster")
    if rss_gb > TARGET_RSS_GB:
        misses.append(f"peak memory {rss_gb:.2f} GB > {TARGET_RSS_GB} GB")
    if resolve_s > TARGET_RESOLVE_S:
        misses.append(f"re-solve {resolve_s:.1f} s > {TARGET_RESOLVE_S} s")
    if bad_again or again.violations:
        misses.append(f"{len(bad_again)} violations after the re-solve")
    for m in misses:
        print(f"MISSED: {m}", file=sys.stderr)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
