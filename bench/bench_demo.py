"""How long `anbao demo --no-serve` takes on a fresh ANBAO_HOME (target: <= 30 s on 2 cores).

The floor it is compared with is `anbao migrate` alone on a fresh home: the part no demo can skip.
Run: ./dev bench   (or .venv/bin/python bench/bench_demo.py [--runs N])
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

TARGET_S = 30.0


def timed(args: list[str], home: Path) -> float:
    env = {**os.environ, "ANBAO_HOME": str(home)}
    env.pop("ANBAO_DATABASE_URL", None)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "anbao.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    demo, floor = [], []
    for _ in range(opts.runs):
        with tempfile.TemporaryDirectory() as tmp:
            demo.append(timed(["demo", "--no-serve"], Path(tmp) / "home"))
        with tempfile.TemporaryDirectory() as tmp:
            floor.append(timed(["migrate", "--verbosity", "0"], Path(tmp) / "home"))
    med, worst, fl = statistics.median(demo), max(demo), statistics.median(floor)
    print(f"machine: {describe()}")
    print(f"anbao demo --no-serve, fresh home, {opts.runs} runs:")
    print(f"  median {med:.1f} s, max {worst:.1f} s")
    print(f"floor (anbao migrate alone): median {fl:.1f} s; demo/floor ratio {med / fl:.2f}")
    print(f"target <= {TARGET_S:.0f} s: {'met' if worst <= TARGET_S else 'MISSED'}")
    sys.exit(0 if worst <= TARGET_S else 1)


if __name__ == "__main__":
    main()
