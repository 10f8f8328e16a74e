"""Benchmark the roster solver on the Shift Scheduling Benchmark (Curtois and Qu), 1-16.

Run: ``.venv/bin/python bench/bench_ssb.py [--dir DIR] [--time-limit 60] [--workers 2]
[--only 1,2,5] [--json OUT] [--synthetic]``

Each instance is solved once within the time limit; the answer is re-scored by the independent
evaluator (hard-rule violations must be zero). Prints a table: objective, best known, gap to best
known, CP-SAT's proven lower bound, time and status. ``--synthetic`` adds a generated
150 staff x 364 days x 32 shift types instance (no best known; it must come back feasible).

Exits 1 when a target is missed: gap <= 2 % on instances 1-8 and <= 10 % on 9-16, and zero hard
violations everywhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe
from anbao.workforce.ssb import benchmark
from anbao.workforce.ssb.evaluate import evaluate
from anbao.workforce.ssb.solver import solve

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "rostering" / "shift-scheduling-benchmark"


def main() -> int:
    """Run the instances and report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("ANBAO_SSB_DIR", DEFAULT_DIR)))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="instance numbers, comma-separated")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--synthetic", action="store_true", help="add a 150x364x32 generated one")
    args = ap.parse_args()
    if not args.dir.is_dir():
        print(f"no instance folder at {args.dir} (set --dir or ANBAO_SSB_DIR)")
        return 2
    only = [int(x) for x in args.only.split(",") if x.strip()] or None
    load = os.getloadavg()
    print(f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {describe()}")
    print(f"# load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"# {args.time_limit:g} s per instance, {args.workers} workers", flush=True)
    rows = benchmark.run(
        benchmark.instance_files(args.dir, only),
        time_limit=args.time_limit,
        workers=args.workers,
        on_row=lambda r: print("  " + "  ".join(benchmark.format_row(r)), flush=True),
    )
    print()
    print(benchmark.table(rows))
    failed = benchmark.missed(rows)
    synth_ok = True
    if args.synthetic:
        inst = benchmark.synthetic()
        res = solve(inst, time_limit=args.time_limit, workers=args.workers)
        ev = evaluate(inst, res.schedule) if res.schedule is not None else None
        synth_ok = ev is not None and ev.feasible and res.seconds <= args.time_limit * 1.1
        print(
            f"\n{inst.name}: objective {res.objective}, {res.seconds:.1f} s, "
            f"{res.iterations} neighbourhoods, hard violations "
            f"{'-' if ev is None else len(ev.violations)}"
        )
    load = os.getloadavg()
    print(f"# load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(benchmark.rows_json(rows), indent=2), encoding="utf-8")
    if failed:
        print(f"targets missed: {', '.join(failed)}")
    if not synth_ok:
        print("synthetic instance: no feasible answer within the limit")
    return 1 if failed or not synth_ok else 0


if __name__ == "__main__":
    sys.exit(main())
