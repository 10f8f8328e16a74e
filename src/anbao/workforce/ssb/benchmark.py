"""Run the solver over a folder of benchmark instances and tabulate the results."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from anbao.workforce.ssb.evaluate import evaluate
from anbao.workforce.ssb.reader import (
    Cover,
    Instance,
    Request,
    Shift,
    Staff,
    instance_number,
    read,
)
from anbao.workforce.ssb.solver import solve

#: Best known objective values of Instance1..Instance16 (lower is better).
BEST_KNOWN: dict[int, int] = {
    1: 607,
    2: 828,
    3: 1001,
    4: 1716,
    5: 1143,
    6: 1950,
    7: 1056,
    8: 1300,
    9: 439,
    10: 4631,
    11: 3443,
    12: 4040,
    13: 1348,
    14: 1278,
    15: 3829,
    16: 3225,
}


@dataclass(frozen=True, slots=True)
class Row:
    """One instance's outcome."""

    instance: str
    objective: int | None
    best_known: int | None
    gap_pct: float | None
    bound: int | None
    seconds: float
    status: str
    violations: int
    iterations: int


def target_pct(number: int | None) -> float:
    """Return the allowed gap to the best known value: 2 % on 1-8, 10 % beyond."""
    return 2.0 if number is not None and number <= 8 else 10.0


def load_best_known(spec: str | None) -> dict[int, int]:
    """Read best known values: ``builtin`` (or None), a JSON object, or ``N,VALUE`` lines."""
    if spec is None or spec == "builtin":
        return dict(BEST_KNOWN)
    text = Path(spec).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        return {int(re.sub(r"\D", "", str(k))): int(v) for k, v in data.items()}
    out: dict[int, int] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, value = re.split(r"[,\s:=]+", line, maxsplit=1)
        out[int(re.sub(r"\D", "", key))] = int(value)
    return out


def instance_files(directory: Path, only: Iterable[int] | None = None) -> list[Path]:
    """Return ``Instance*.txt`` files in numeric order, restricted to ``only`` when given."""
    chosen = set(only) if only else None
    files = []
    for p in directory.glob("*.txt"):
        n = instance_number(p.stem)
        if chosen is None or n in chosen:
            files.append(p)
    return sorted(files, key=lambda p: (instance_number(p.stem) or 0, p.name))


def run(
    files: Iterable[Path],
    time_limit: float = 60.0,
    workers: int = 2,
    best_known: dict[int, int] | None = None,
    seed: int = 0,
    on_row: Callable[[Row], None] | None = None,
) -> list[Row]:
    """Solve each file, check the answer with the evaluator, and return one row per file."""
    known = BEST_KNOWN if best_known is None else best_known
    rows = []
    for path in files:
        inst = read(path)
        res = solve(inst, time_limit=time_limit, workers=workers, seed=seed)
        violations = 0
        objective = res.objective
        if res.schedule is not None:
            ev = evaluate(inst, res.schedule)
            violations = len(ev.violations)
            # The evaluator is the judge: report its figure (it should equal the solver's).
            objective = ev.objective
        best = known.get(instance_number(inst.name) or -1)
        gap = None
        if objective is not None and best:
            gap = 100.0 * (objective - best) / best
        row = Row(
            inst.name,
            objective,
            best,
            gap,
            res.bound,
            round(res.seconds, 1),
            res.status if objective == res.objective else "MISMATCH",
            violations,
            res.iterations,
        )
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


HEADER = ("instance", "objective", "best known", "gap %", "bound", "time s", "status", "hard viol.")


def format_row(row: Row) -> tuple[str, ...]:
    """Render one row's cells."""

    def num(v: object) -> str:
        return "-" if v is None else str(v)

    gap = "-" if row.gap_pct is None else f"{row.gap_pct:.1f}"
    return (
        row.instance,
        num(row.objective),
        num(row.best_known),
        gap,
        num(row.bound),
        f"{row.seconds:.1f}",
        row.status,
        str(row.violations),
    )


def table(rows: Iterable[Row]) -> str:
    """Return the rows as an aligned text table (实例 / 目标值 headings in English)."""
    cells = [HEADER, *(format_row(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADER))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def rows_json(rows: Iterable[Row]) -> list[dict[str, object]]:
    """Return the rows as plain dicts for JSON."""
    return [asdict(r) for r in rows]


def missed(rows: Iterable[Row]) -> list[str]:
    """Return the instances whose gap is above their target (or that have no answer)."""
    out = []
    for r in rows:
        if r.best_known is None:
            continue
        if r.gap_pct is None or r.violations or r.gap_pct > target_pct(instance_number(r.instance)):
            out.append(r.instance)
    return out


def synthetic(
    n_staff: int = 150, horizon: int = 364, n_shifts: int = 32, seed: int = 1
) -> Instance:
    """Generate a large instance in the benchmark's style (for scaling checks, no known best).

    Shift lengths, limits and request densities follow the published instances: staff may work
    a subset of the shift types, about 18 days in 28, at most 5 in a row, with runs of at least
    2 and weekends capped at one in two; cover asks for roughly what the staff can give.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    shifts = []
    starts = [rng.choice((6, 7, 8, 12, 14, 20, 22)) for _ in range(n_shifts)]
    ids = [f"S{k}" for k in range(n_shifts)]
    for k in range(n_shifts):
        # Late starts may not be followed by early starts (rest between shifts).
        nxt = tuple(ids[j] for j in range(n_shifts) if starts[k] >= 20 and starts[j] <= 8)
        shifts.append(Shift(ids[k], rng.choice((480, 480, 480, 600, 720)), nxt))
    weeks = horizon / 7
    staff = []
    for e in range(n_staff):
        allowed = set(rng.sample(ids, rng.randint(2, min(6, n_shifts))))
        max_sh = {sid: (horizon if sid in allowed else 0) for sid in ids}
        target = int(horizon * 18 / 28) * 480
        staff.append(
            Staff(
                f"E{e}",
                max_sh,
                max_total_minutes=int(target * 1.1),
                min_total_minutes=int(target * 0.85),
                max_consecutive_shifts=5,
                min_consecutive_shifts=2,
                min_consecutive_days_off=2,
                max_weekends=max(1, int(weeks / 2)),
            )
        )
    days_off = {s.id: frozenset(rng.sample(range(horizon), max(1, horizon // 28))) for s in staff}
    on: list[Request] = []
    off: list[Request] = []
    for s in staff:
        usable = [sid for sid, v in s.max_shifts.items() if v > 0]
        for d in rng.sample(range(horizon), horizon // 14):
            if d not in days_off[s.id]:
                (on if rng.random() < 0.5 else off).append(
                    Request(s.id, d, rng.choice(usable), rng.randint(1, 3))
                )
    per_day = n_staff * 18 / 28
    cover = []
    for d in range(horizon):
        weights = [rng.random() for _ in ids]
        total = sum(weights)
        for k, sid in enumerate(ids):
            req = round(per_day * weights[k] / total * 0.9)
            cover.append(Cover(d, sid, req, 100, 1))
    return Instance(
        name=f"Synthetic{n_staff}x{horizon}x{n_shifts}",
        horizon=horizon,
        shifts=tuple(shifts),
        staff=tuple(staff),
        days_off=days_off,
        on_requests=tuple(on),
        off_requests=tuple(off),
        cover=tuple(cover),
    )
