"""The Shift Scheduling Benchmark: reader, evaluator, CP-SAT solver and the ``roster`` command."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from anbao.workforce.ssb import benchmark
from anbao.workforce.ssb.evaluate import evaluate
from anbao.workforce.ssb.reader import Instance, SsbFormatError, dumps, parse, read
from anbao.workforce.ssb.solver import objective, solve

DATA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "rostering"
    / "shift-scheduling-benchmark"
)
needs_data = pytest.mark.skipif(
    not (DATA / "Instance1.txt").is_file(),
    reason="benchmark instances not present in ../shared/data/rostering/shift-scheduling-benchmark",
)


def _text(
    *,
    horizon: int = 7,
    shifts: str = "D,480,\nN,600,D",
    staff: str = "A,D=7|N=7,4800,0,7,1,1,9",
    days_off: str = "",
    on: str = "",
    off: str = "",
    cover: str = "",
) -> str:
    return (
        f"# tiny\nSECTION_HORIZON\n{horizon}\n\nSECTION_SHIFTS\n{shifts}\n\n"
        f"SECTION_STAFF\n{staff}\n\nSECTION_DAYS_OFF\n{days_off}\n\n"
        f"SECTION_SHIFT_ON_REQUESTS\n{on}\n\nSECTION_SHIFT_OFF_REQUESTS\n{off}\n\n"
        f"SECTION_COVER\n{cover}\n"
    )


# -- reader ------------------------------------------------------------------------------------


@needs_data
def test_reads_instance1_as_written() -> None:
    inst = read(DATA / "Instance1.txt")
    text = (DATA / "Instance1.txt").read_text(encoding="utf-8")
    assert inst.name == "Instance1"
    assert inst.horizon == 14
    assert [s.id for s in inst.shifts] == ["D"]
    assert len(inst.staff) == 8
    assert inst.staff[0].max_shifts == {"D": 14}
    assert inst.staff[0].min_total_minutes == 3360
    assert inst.days_off["A"] == frozenset({0})
    assert len(inst.cover) == 14
    assert inst.cover[1].requirement == 7
    on_lines = text.split("SECTION_SHIFT_ON_REQUESTS")[1].split("SECTION_SHIFT_OFF")[0]
    assert len(inst.on_requests) == sum(
        1 for ln in on_lines.splitlines() if ln.strip() and not ln.startswith("#")
    )


@needs_data
@pytest.mark.parametrize("n", range(1, 17))
def test_every_instance_reads_and_round_trips(n: int) -> None:
    inst = read(DATA / f"Instance{n}.txt")
    again = parse(dumps(inst), name=inst.name)
    assert again == inst
    assert all(c.shift in {s.id for s in inst.shifts} for c in inst.cover)


@needs_data
def test_forbidden_successors_of_instance10() -> None:
    inst = read(DATA / "Instance10.txt")
    assert inst.shift("N").forbidden_next == ("E", "d1", "d2", "L")
    assert inst.shift("N").minutes == 600
    assert inst.days_off["A"] == frozenset({3, 7})


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        ({"shifts": "D,480,\nSECTION_BOGUS"}, 7, "unknown section"),
        ({"staff": "A,D=7|N=7,4800,0,7,1,1"}, 10, "expected 8 fields"),
        ({"staff": "A,D=7|N=7,48x0,0,7,1,1,9"}, 10, "MaxTotalMinutes"),
        ({"staff": "A,D=7|X=7,4800,0,7,1,1,9"}, 10, "unknown shift 'X'"),
        ({"days_off": "B,2"}, 13, "employee: unknown id 'B'"),
        ({"days_off": "A,7"}, 13, "outside the horizon"),
        ({"on": "A,2,Q,1"}, 16, "shift: unknown id 'Q'"),
        ({"cover": "0,D,1,100"}, 22, "expected 5 fields"),
        ({"shifts": "D,480,\nN,600,Z"}, 7, "forbidden successor"),
    ],
)
def test_bad_input_names_line_and_field(change: dict[str, str], line: int, words: str) -> None:
    with pytest.raises(SsbFormatError) as info:
        parse(_text(**change))  # type: ignore[arg-type]
    assert info.value.line_no == line
    assert words in str(info.value)


def test_bad_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "Instance99.txt"
    path.write_text(_text(days_off="A,x"), encoding="utf-8")
    with pytest.raises(SsbFormatError, match=r"Instance99\.txt, line 13: day"):
        read(path)


# -- evaluator ---------------------------------------------------------------------------------


def _tiny(**kw: Any) -> Instance:
    return parse(_text(**kw))


def test_objective_by_hand() -> None:
    inst = _tiny(
        staff="A,D=7|N=7,4800,0,7,1,1,9\nB,D=7|N=7,4800,0,7,1,1,9",
        on="A,0,D,2\nB,1,N,3",
        off="A,1,D,5",
        cover="0,D,2,100,1\n1,D,0,100,7\n1,N,1,50,1",
    )
    # Day 0: A works D, B off -> on-request of A granted, D cover 1 of 2 -> 100.
    # Day 1: A works D (off-request broken: 5; excess D: 7), B works D (on-request for N not
    # granted: 3; excess D: 7), no N -> 50.
    sched = [["D", "D", None, None, None, None, None], [None, "D", None, None, None, None, None]]
    ev = evaluate(inst, sched)
    assert ev.violations == []
    assert (ev.on_requests, ev.off_requests, ev.under, ev.over) == (3, 5, 150, 14)
    assert ev.objective == 3 + 5 + 150 + 14
    assert objective(inst, sched) == ev.objective


@pytest.mark.parametrize(
    ("staff", "days_off", "row", "words"),
    [
        (
            "A,D=7|N=7,9999,0,7,1,1,9",
            "",
            ["N", "D", None, None, None, None, None],
            "may not follow",
        ),
        ("A,D=1|N=7,9999,0,7,1,1,9", "", ["D", None, "D", None, None, None, None], "max 1"),
        ("A,D=7|N=7,960,0,7,1,1,9", "", ["D", "D", "D", None, None, None, None], "max 960"),
        ("A,D=7|N=7,9999,1000,7,1,1,9", "", ["D", None] + [None] * 5, "min 1000"),
        ("A,D=7|N=7,9999,0,2,1,1,9", "", ["D", "D", "D", None, None, None, None], "max 2"),
        ("A,D=7|N=7,9999,0,7,2,1,9", "", [None, "D", None, None, "D", "D", None], "min 2"),
        ("A,D=7|N=7,9999,0,7,1,2,9", "", ["D", None, "D", "D", None, None, None], "days off"),
        ("A,D=7|N=7,9999,0,7,1,1,0", "", [None, None, None, None, None, None, "D"], "weekends"),
        ("A,D=7|N=7,9999,0,7,1,1,9", "A,3", [None, None, None, "D", None, None, None], "fixed"),
    ],
)
def test_each_hard_rule_is_caught(
    staff: str, days_off: str, row: list[str | None], words: str
) -> None:
    ev = evaluate(_tiny(staff=staff, days_off=days_off), [row])
    assert len(ev.violations) == 1, ev.violations
    assert words in ev.violations[0]


def test_minimum_runs_do_not_apply_at_the_horizon_ends() -> None:
    inst = _tiny(staff="A,D=7|N=7,9999,0,7,3,3,9")
    # One-day runs of work at both ends, and a 3-day run of rest in the middle, are allowed.
    assert evaluate(inst, [["D", None, None, None, "D", "D", "D"]]).feasible
    assert evaluate(inst, [[None, "D", "D", "D", None, None, "D"]]).feasible is False
    # A weekend is one Saturday-Sunday pair: working both counts once.
    two = _tiny(staff="A,D=7|N=7,9999,0,7,1,1,1", horizon=14)
    row: list[str | None] = [None] * 14
    row[5] = row[6] = "D"
    assert evaluate(two, [row]).feasible
    row[12] = "D"
    assert not evaluate(two, [row]).feasible


# -- solver ------------------------------------------------------------------------------------


def _brute_force(inst: Instance) -> int | None:
    options: list[str | None] = [None, *(s.id for s in inst.shifts)]
    best = None
    cells = len(inst.staff) * inst.horizon
    for combo in itertools.product(options, repeat=cells):
        rows = [
            list(combo[i * inst.horizon : (i + 1) * inst.horizon]) for i in range(len(inst.staff))
        ]
        ev = evaluate(inst, rows)
        if ev.feasible and (best is None or ev.objective < best):
            best = ev.objective
    return best


TINY_A = {
    "horizon": 7,
    "staff": "A,D=4|N=2,3000,1900,3,2,2,1",
    "on": "A,1,N,4\nA,5,D,9",
    "off": "A,3,D,2",
    "cover": "\n".join(f"{d},D,1,10,3\n{d},N,{d % 2},20,2" for d in range(7)),
}
TINY_B = {
    "horizon": 4,
    "staff": "A,D=4|N=4,1500,960,2,2,1,9\nB,D=4|N=1,2000,480,4,1,2,9",
    "days_off": "B,3",
    "on": "A,0,N,3\nB,2,N,5",
    "off": "B,1,D,1",
    "cover": "\n".join(f"{d},D,{1 + d % 2},15,4\n{d},N,1,25,1" for d in range(4)),
}


@pytest.mark.parametrize("spec", [TINY_A, TINY_B], ids=["one-week", "two-people"])
def test_solver_matches_brute_force(spec: dict[str, object]) -> None:
    inst = parse(_text(**spec))  # type: ignore[arg-type]
    res = solve(inst, time_limit=5, workers=2, seed=1)
    assert res.status == "OPTIMAL"
    assert res.schedule is not None
    ev = evaluate(inst, res.schedule)
    assert ev.violations == []
    assert ev.objective == res.objective == res.bound == _brute_force(inst)


def test_solver_and_brute_force_agree_on_infeasibility() -> None:
    # No weekends, at most 3 days in a row and rests of 2: at most 3 shifts, under 1900 min.
    inst = parse(_text(**{**TINY_A, "staff": "A,D=4|N=2,3000,1900,3,2,2,0"}))  # type: ignore[arg-type]
    assert _brute_force(inst) is None
    res = solve(inst, time_limit=5, workers=2, seed=1)
    assert res.status == "INFEASIBLE"
    assert res.schedule is None


def test_neighbourhood_search_on_a_tiny_instance_stays_exact() -> None:
    inst = parse(_text(**TINY_B))  # type: ignore[arg-type]
    res = solve(inst, time_limit=1.5, workers=2, seed=3, strategy="lns")
    assert res.schedule is not None
    ev = evaluate(inst, res.schedule)
    assert ev.violations == []
    optimum = _brute_force(inst)
    assert optimum is not None
    assert res.objective is not None
    assert ev.objective == res.objective >= optimum


@needs_data
def test_instance1_short_run_is_feasible_and_scored_right() -> None:
    inst = read(DATA / "Instance1.txt")
    res = solve(inst, time_limit=3, workers=2, seed=0)
    assert res.schedule is not None
    assert res.objective is not None
    ev = evaluate(inst, res.schedule)
    assert ev.violations == []
    assert ev.objective == res.objective
    assert res.bound is not None
    assert res.bound <= res.objective


@needs_data
def test_instance12_neighbourhood_search_is_feasible_and_scored_right() -> None:
    inst = read(DATA / "Instance12.txt")
    seen: list[int] = []
    res = solve(
        inst,
        time_limit=4,
        workers=2,
        seed=0,
        strategy="lns",
        progress=lambda t, o, k: seen.append(o),
    )
    assert res.schedule is not None
    assert res.objective is not None
    ev = evaluate(inst, res.schedule)
    assert ev.violations == []
    assert ev.objective == res.objective
    assert seen
    assert min(seen) == res.objective
    assert res.seconds < 4 * 1.5


def test_synthetic_instance_round_trips_and_solves_feasibly() -> None:
    inst = benchmark.synthetic(n_staff=15, horizon=28, n_shifts=5, seed=4)
    assert parse(dumps(inst), name=inst.name) == inst
    res = solve(inst, time_limit=3, workers=2, seed=0, strategy="lns")
    assert res.schedule is not None
    ev = evaluate(inst, res.schedule)
    assert ev.violations == []
    assert ev.objective == res.objective


# -- benchmark table and command ---------------------------------------------------------------


def test_best_known_file_and_targets(tmp_path: Path) -> None:
    path = tmp_path / "best.txt"
    path.write_text("# best\nInstance1, 600\n9 440\n", encoding="utf-8")
    assert benchmark.load_best_known(str(path)) == {1: 600, 9: 440}
    assert benchmark.load_best_known("builtin")[13] == 1348
    row = benchmark.Row("Instance9", 480, 440, 9.1, 10, 1.0, "FEASIBLE", 0, 0)
    assert benchmark.missed([row]) == []
    assert benchmark.missed([benchmark.Row("Instance1", 615, 600, 2.5, 1, 1.0, "F", 0, 0)]) == [
        "Instance1"
    ]
    assert "Instance9" in benchmark.table([row])


@needs_data
def test_roster_benchmark_command(tmp_path: Path) -> None:
    from django.core.management import call_command

    folder = tmp_path / "ssb"
    folder.mkdir()
    shutil.copy(DATA / "Instance1.txt", folder / "Instance1.txt")
    out_json = tmp_path / "rows.json"
    out = io.StringIO()
    call_command(
        "roster", "benchmark", str(folder), "--time-limit", "3", "--json", str(out_json), stdout=out
    )
    text = out.getvalue()
    assert "Instance1" in text
    assert "best known" in text
    rows = json.loads(out_json.read_text(encoding="utf-8"))
    assert len(rows) == 1
    assert rows[0]["violations"] == 0
    assert rows[0]["best_known"] == 607
    assert rows[0]["objective"] >= rows[0]["bound"]


def test_roster_benchmark_command_refuses_a_missing_folder(tmp_path: Path) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a folder"):
        call_command("roster", "benchmark", str(tmp_path / "nope"), stdout=io.StringIO())


@needs_data
def test_instance5_hybrid_is_feasible_and_scored_right() -> None:
    inst = read(DATA / "Instance5.txt")
    res = solve(inst, time_limit=4, workers=2, seed=0, strategy="hybrid")
    assert res.schedule is not None
    assert res.objective is not None
    ev = evaluate(inst, res.schedule)
    assert ev.violations == []
    assert ev.objective == res.objective
    assert res.bound is not None
    assert res.bound <= res.objective


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        solve(parse(_text()), time_limit=1, strategy="magic")


@needs_data
def test_cost_split_used_to_aim_neighbourhoods_adds_up_to_the_objective() -> None:
    from anbao.workforce.ssb.solver import _costs

    inst = read(DATA / "Instance1.txt")
    res = solve(inst, time_limit=2, workers=1, seed=0)
    assert res.schedule is not None
    day, emp = _costs(inst, res.schedule)
    ev = evaluate(inst, res.schedule)
    assert len(day) == inst.horizon
    assert len(emp) == len(inst.staff)
    assert sum(day) == ev.objective
    assert sum(emp) == ev.on_requests + ev.off_requests


@pytest.mark.parametrize("spec", [TINY_A, TINY_B], ids=["one-week", "two-people"])
def test_column_generation_bound_dive_and_master_are_exact(spec: dict[str, object]) -> None:
    from anbao.workforce.ssb.columns import ColumnGeneration
    from anbao.workforce.ssb.solver import objective

    inst = parse(_text(**spec))  # type: ignore[arg-type]
    optimum = _brute_force(inst)
    assert optimum is not None
    cg = ColumnGeneration(inst)
    far = time.monotonic() + 30
    first = cg.seed(far)
    assert first is not None
    assert evaluate(inst, first).violations == []
    assert cg.generate(far, threads=2)
    assert cg.bound is not None
    assert cg.bound <= optimum
    fixed = cg.dive(far)
    assert sorted(fixed) == list(range(len(inst.staff)))
    dived = [fixed[e] for e in range(len(inst.staff))]
    assert evaluate(inst, dived).violations == []
    cg.add_schedule(dived)
    rows, obj = cg.integer(far, 2, 0, dived)
    assert rows is not None
    ev = evaluate(inst, rows)
    assert ev.violations == []
    assert ev.objective == obj == objective(inst, rows) >= optimum


@needs_data
def test_instance5_column_generation_bound_is_strong_and_sound() -> None:
    from anbao.workforce.ssb.columns import ColumnGeneration

    inst = read(DATA / "Instance5.txt")
    cg = ColumnGeneration(inst)
    first = cg.seed(time.monotonic() + 10)
    assert first is not None
    assert evaluate(inst, first).violations == []
    cg.generate(time.monotonic() + 20, threads=2)
    # The cell model's own relaxation proves next to nothing here (bounds of 1-4); the
    # column relaxation comes close to the best known value, which it may not exceed.
    assert cg.bound is not None
    assert 1000 <= cg.bound <= benchmark.BEST_KNOWN[5]


# -- pricing by dynamic programming ------------------------------------------------------------


def _dp_and_cp_agree(inst: Instance, seed: int, people: int) -> None:
    import random

    import numpy as np

    from anbao.workforce.ssb.columns import SCALE, ColumnGeneration, _Pricer
    from anbao.workforce.ssb.evaluate import employee_violations

    rng = random.Random(seed)
    cg = ColumnGeneration(inst)
    n_shifts = len(inst.shifts)
    # Random cover duals, from nothing to well above the request weights, on every cell.
    pi = np.array([[rng.uniform(0, 40) for _ in range(n_shifts)] for _ in range(inst.horizon)])
    cost = cg.req_arr - pi
    chosen = rng.sample(range(len(inst.staff)), min(people, len(inst.staff)))
    answers = cg.dp.price(cost, chosen)
    ids = [s.id for s in inst.shifts]
    for e in chosen:
        ans = answers[e]
        for pat in ans.patterns:
            row = [None if k < 0 else ids[k] for k in pat]
            assert employee_violations(inst, e, row) == []
        coef = {(d, k): float(cost[e, d, k]) for d in range(inst.horizon) for k in range(n_shifts)}
        pats, _ = _Pricer(inst, e).price(coef, 20.0, 0)
        assert pats
        optimum = cg.dp.path_cost(cost[e], pats[-1])
        # CP-SAT's costs are rounded to 1/SCALE a cell; the programme's are exact.
        tol = 0.5 * inst.horizon / SCALE + 1e-4
        assert ans.low <= optimum + tol
        assert ans.patterns
        assert ans.best >= optimum - tol
        if ans.exact:
            assert abs(ans.best - optimum) <= tol


@needs_data
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_dynamic_programme_prices_like_cp_sat(n: int) -> None:
    inst = read(DATA / f"Instance{n}.txt")
    for seed in range(3):
        _dp_and_cp_agree(inst, seed, people=6)


@pytest.mark.parametrize("spec", [TINY_A, TINY_B], ids=["one-week", "two-people"])
def test_dynamic_programme_on_tiny_instances(spec: dict[str, object]) -> None:
    inst = parse(_text(**spec))  # type: ignore[arg-type]
    for seed in range(5):
        _dp_and_cp_agree(inst, seed, people=2)


@needs_data
def test_column_generation_is_chosen_by_size() -> None:
    from anbao.workforce.ssb.solver import columns_fit

    assert columns_fit(read(DATA / "Instance8.txt"), 60)
    assert columns_fit(read(DATA / "Instance14.txt"), 60)
    # Too much pricing work for a minute: the neighbourhood search gets the whole limit.
    assert not columns_fit(read(DATA / "Instance13.txt"), 60)


def test_dive_steps_count_down_to_the_people_kept() -> None:
    from anbao.workforce.ssb.columns import _steps

    assert _steps(10, 10) == 0
    assert _steps(3, 0) == 3  # one person a step once an eighth is under one
    # 60 -> 53 -> 47 -> 42 -> 37 -> 33 -> 29 -> 26 -> 23 -> 21 -> 19 -> 17 -> 15
    assert _steps(60, 15) == 12


def test_dive_with_spare_leaves_a_few_people_for_the_cell_model() -> None:
    from anbao.workforce.ssb.columns import DIVE_LEAVE, ColumnGeneration
    from anbao.workforce.ssb.evaluate import employee_violations
    from anbao.workforce.ssb.solver import _complete

    inst = benchmark.synthetic(n_staff=20, horizon=28, n_shifts=3, seed=1)
    n = len(inst.staff)
    cg = ColumnGeneration(inst)
    far = time.monotonic() + 60
    first = cg.seed(far)
    assert first is not None
    cg.generate(far, threads=2)
    spare = 2 * max(cg.size)
    fixed = cg.dive(far, threads=2, spare=spare)
    free = [e for e in range(n) if e not in fixed]
    # It stops as soon as those left fit the spare, and no later than that.
    assert 0 < len(free) <= DIVE_LEAVE * n
    assert sum(cg.size[e] for e in free) <= spare
    assert sorted(cg.rounded) == free
    for e, row in cg.rounded.items():
        assert employee_violations(inst, e, row) == []
    base = [cg.rounded.get(e, first[e]) for e in range(n)]
    done = _complete(inst, base, fixed, time.monotonic() + 10, 2, 0)
    assert done is not None
    assert all(done[e] == row for e, row in fixed.items())
    ev = evaluate(inst, done)
    assert ev.violations == []
    assert ev.objective <= objective(inst, base)
