"""The roster engine on hand-built problems whose answers are known, and on generated events."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from anbao.workforce.rostering import (
    Assignment,
    Dog,
    Guard,
    Need,
    Pin,
    Post,
    Problem,
    Progress,
    Qualification,
    Rules,
    Shift,
    absences,
    check,
    explain_uncovered,
    generate_event,
    solve,
    suggest_replacements,
)

T0 = datetime(2026, 6, 1, 6, tzinfo=UTC)  # a Monday, 06:00


def shift(sid: int, hours_from_t0: float, length: float = 8, **kw: bool) -> Shift:
    start = T0 + timedelta(hours=hours_from_t0)
    return Shift(sid, start, start + timedelta(hours=length), **kw)


def guard(gid: int, *skills: str, gender: str = "male", **kw: object) -> Guard:
    quals = tuple(Qualification(s) for s in ("licence", *skills))
    return Guard(gid, gender, quals, **kw)  # type: ignore[arg-type]


POST = Post(1, "A-1", "A", (116.40, 39.90))
POST2 = Post(2, "B-1", "B", (116.50, 39.95))


def problem(guards: list[Guard], shifts: list[Shift], needs: list[Need], **kw: object) -> Problem:
    return Problem(
        guards=tuple(guards),
        dogs=tuple(kw.pop("dogs", ())),  # type: ignore[arg-type]
        posts=(POST, POST2),
        shifts=tuple(shifts),
        needs=tuple(needs),
        **kw,  # type: ignore[arg-type]
    )


def reasons(sol_uncovered: tuple[object, ...]) -> set[str]:
    return {s.reason for s in sol_uncovered}  # type: ignore[attr-defined]


# --- solve: hard rules and shortfall reasons -------------------------------------------------


def test_female_seat_with_only_male_guards_is_reported() -> None:
    p = problem(
        [guard(1, "search"), guard(2, "search")],
        [shift(1, 0)],
        [Need(1, 1, "search", 1, gender="female"), Need(1, 1, "search", 1)],
    )
    sol = solve(p, time_limit=5)
    assert sol.violations == ()
    assert len(sol.assignments) == 1
    (short,) = sol.uncovered
    assert (short.gender, short.missing, short.reason) == ("female", 1, "no_female_guard")


def test_expired_certificate_leaves_seat_empty_with_reason() -> None:
    expired = Guard(1, "male", (Qualification("licence"), Qualification("xray", date(2026, 5, 31))))
    p = problem([expired], [shift(1, 0)], [Need(1, 1, "xray", 1)])
    sol = solve(p, time_limit=5)
    assert sol.assignments == ()
    assert sol.uncovered[0].reason == "certificate_expired"
    # The certificate still counts on its last valid day.
    valid = replace(expired, qualifications=(Qualification("xray", date(2026, 6, 1)),))
    assert len(solve(replace(p, guards=(valid,)), time_limit=5).assignments) == 1


def test_rest_rule_needs_a_second_guard() -> None:
    shifts = [shift(1, 8), shift(2, 24)]  # 14-22, then 06-14 the next day: only 8 h apart
    needs = [Need(1, 1, "licence", 1), Need(1, 2, "licence", 1)]
    alone = solve(problem([guard(1)], shifts, needs), time_limit=5)
    assert len(alone.assignments) == 1
    assert alone.uncovered[0].reason == "rest"
    two = solve(problem([guard(1), guard(2)], shifts, needs), time_limit=5)
    assert two.uncovered == ()
    assert {a.guard_id for a in two.assignments} == {1, 2}
    assert check(problem([guard(1), guard(2)], shifts, needs), two.assignments) == []


def test_dog_rest_limits_the_handler() -> None:
    shifts = [shift(1, 8), shift(2, 28)]  # 14-22 then next day 10-18: 12 h apart
    needs = [Need(1, 1, "canine", 1), Need(1, 2, "canine", 1)]
    p = problem([guard(1, "canine")], shifts, needs, dogs=[Dog(1, 1)])
    sol = solve(p, time_limit=5)
    assert len(sol.assignments) == 1
    assert sol.uncovered[0].reason == "dog_rest"
    no_dog = solve(replace(p, dogs=()), time_limit=5)
    assert no_dog.assignments == ()
    assert no_dog.uncovered[0].reason == "no_dog"


def test_weekly_hours_override_per_guard() -> None:
    shifts = [shift(i + 1, 24 * i) for i in range(4)]
    needs = [Need(1, s.id, "licence", 1) for s in shifts]
    p = problem([guard(1, max_hours_week=16)], shifts, needs)
    sol = solve(p, time_limit=5)
    assert len(sol.assignments) == 2
    assert reasons(sol.uncovered) == {"hours_exhausted"}


def test_leave_is_respected() -> None:
    off = (T0 - timedelta(hours=1), T0 + timedelta(hours=30))
    p = problem(
        [guard(1, unavailable=(off,))],
        [shift(1, 0), shift(2, 48)],
        [Need(1, 1, "licence", 1), Need(1, 2, "licence", 1)],
    )
    sol = solve(p, time_limit=5)
    assert [a.shift_id for a in sol.assignments] == [2]
    assert sol.uncovered[0].reason == "unavailable"


def test_pins_are_kept() -> None:
    shifts = [shift(1, 0)]
    needs = [Need(1, 1, "licence", 1), Need(2, 1, "licence", 1)]
    pin = Pin(2, 1, 2, "licence")
    p = problem([guard(1), guard(2)], shifts, needs, pins=(pin,))
    sol = solve(p, time_limit=5)
    assert Assignment(2, 1, 2, "licence") in sol.assignments
    assert Assignment(1, 1, 1, "licence") in sol.assignments
    assert sol.violations == ()


def test_frozen_past_is_kept_exactly() -> None:
    shifts = [shift(1, 0), shift(2, 24)]
    needs = [Need(1, 1, "licence", 1), Need(1, 2, "licence", 1)]
    # Guard 1 asked for shift 1 off, but the past cannot change.
    g1 = guard(1, prefers_off=frozenset({1}))
    previous = (Assignment(1, 1, 1, "licence"), Assignment(2, 2, 1, "licence"))
    p = problem(
        [g1, guard(2)], shifts, needs, previous=previous, freeze_before=T0 + timedelta(hours=12)
    )
    sol = solve(p, time_limit=5)
    assert Assignment(1, 1, 1, "licence") in sol.assignments
    assert [a for a in sol.assignments if a.shift_id == 1] == [previous[0]]
    assert sol.changed == 0
    assert sol.violations == ()


def test_objective_never_below_bound() -> None:
    p = generate_event(guards=60, posts=16, days=2, seed=3)
    sol = solve(p, time_limit=5)
    assert sol.bound <= sol.objective
    assert 0.0 <= sol.gap <= 1.0
    filled = sum(n.count for n in p.needs) - sum(s.missing for s in sol.uncovered)
    assert filled <= sol.coverage_bound


def test_progress_and_stop() -> None:
    p = generate_event(guards=120, posts=16, days=3, seed=4)
    seen: list[Progress] = []
    stop = threading.Event()
    stop.set()
    sol = solve(p, time_limit=10, progress=seen.append, stop=stop)
    assert seen, "progress is reported"
    assert seen[-1].assigned == len(sol.assignments)
    assert check(p, sol.assignments) == []
    assert sol.assignments, "stopping early still returns the greedy roster"


# --- check: every rule on hand-made bad rosters ---------------------------------------------


def rules_of(p: Problem, roster: list[Assignment]) -> set[str]:
    return {v.rule for v in check(p, roster)}


def test_check_clean_roster() -> None:
    p = problem([guard(1), guard(2)], [shift(1, 0)], [Need(1, 1, "licence", 2)])
    assert check(p, [Assignment(1, 1, 1, "licence"), Assignment(2, 1, 1, "licence")]) == []


@pytest.mark.parametrize(
    ("rule", "setup"),
    [
        ("skill", "skill"),
        ("certificate_expired", "expired"),
        ("gender", "gender"),
        ("overlap", "overlap"),
        ("rest", "rest"),
        ("hours_day", "hours_day"),
        ("hours_week", "hours_week"),
        ("consecutive_days", "consecutive"),
        ("availability", "availability"),
        ("dog_rest", "dog_rest"),
        ("dog_hours", "dog_hours"),
        ("dog", "no_dog"),
        ("pin", "pin"),
        ("double_seat", "double_seat"),
        ("frozen", "frozen"),
        ("no_seat", "no_seat"),
    ],
)
def test_check_catches(rule: str, setup: str) -> None:
    p, roster = _bad(setup)
    found = rules_of(p, roster)
    assert rule in found, found


def _bad(kind: str) -> tuple[Problem, list[Assignment]]:
    day = [shift(i + 1, 24 * i) for i in range(7)]
    lic = [Need(1, s.id, "licence", 2) for s in day]
    g = guard(1)
    if kind == "skill":
        return problem([g], day, [Need(1, 1, "xray", 1)]), [Assignment(1, 1, 1, "xray")]
    if kind == "expired":
        old = Guard(1, "male", (Qualification("xray", date(2026, 1, 1)),))
        return problem([old], day, [Need(1, 1, "xray", 1)]), [Assignment(1, 1, 1, "xray")]
    if kind == "gender":
        return (
            problem([g], day, [Need(1, 1, "search", 1, gender="female")]),
            [Assignment(1, 1, 1, "search")],
        )
    if kind == "overlap":
        s2 = shift(9, 4)
        return (
            problem([g], [*day, s2], [*lic, Need(1, 9, "licence", 1)]),
            [Assignment(1, 1, 1, "licence"), Assignment(1, 9, 1, "licence")],
        )
    if kind == "rest":
        s2 = shift(9, 16)  # 22:00, 8 h after shift 1 ends
        return (
            problem([g], [*day, s2], [*lic, Need(1, 9, "licence", 1)]),
            [Assignment(1, 1, 1, "licence"), Assignment(1, 9, 1, "licence")],
        )
    if kind == "hours_day":
        s2 = shift(9, 13, 4)  # 19:00-23:00, rest 5 h < 11: use a loose rest rule
        rules = Rules(min_rest_hours=1, max_hours_day=10)
        return (
            problem([g], [*day, s2], [*lic, Need(1, 9, "licence", 1)], rules=rules),
            [Assignment(1, 1, 1, "licence"), Assignment(1, 9, 1, "licence")],
        )
    if kind == "hours_week":
        return (
            problem([g], day, lic, rules=Rules(max_hours_week=16)),
            [Assignment(1, s.id, 1, "licence") for s in day[:3]],
        )
    if kind == "consecutive":
        return (
            problem([g], day, lic, rules=Rules(max_consecutive_days=2)),
            [Assignment(1, s.id, 1, "licence") for s in day[:3]],
        )
    if kind == "availability":
        away = guard(1, unavailable=((T0, T0 + timedelta(hours=1)),))
        return problem([away], day, lic), [Assignment(1, 1, 1, "licence")]
    handler = guard(1, "canine")
    canine = [Need(1, s.id, "canine", 1) for s in day]
    if kind == "dog_rest":
        late = shift(9, 8)  # 14-22, then day 2's 06-14 is 8 h later; use 12-h gap shift
        nxt = shift(10, 28)  # 10-18 next day: 12 h after 22:00
        return (
            problem(
                [handler],
                [late, nxt],
                [Need(1, 9, "canine", 1), Need(1, 10, "canine", 1)],
                dogs=[Dog(1, 1)],
            ),
            [Assignment(1, 9, 1, "canine"), Assignment(1, 10, 1, "canine")],
        )
    if kind == "dog_hours":
        return (
            problem([handler], day, canine, dogs=[Dog(1, 1, max_hours_day=4)]),
            [Assignment(1, 1, 1, "canine")],
        )
    if kind == "no_dog":
        return problem([handler], day, canine), [Assignment(1, 1, 1, "canine")]
    if kind == "pin":
        return problem([g], day, lic, pins=(Pin(1, 1, 1, "licence"),)), []
    if kind == "double_seat":
        return (
            problem([g], day, [*lic, Need(2, 1, "licence", 1)]),
            [Assignment(1, 1, 1, "licence"), Assignment(1, 1, 2, "licence")],
        )
    if kind == "frozen":
        prev = (Assignment(1, 1, 1, "licence"),)
        return (
            problem([g, guard(2)], day, lic, previous=prev, freeze_before=T0 + timedelta(days=1)),
            [Assignment(2, 1, 1, "licence")],
        )
    if kind == "no_seat":
        return problem([g], day, []), [Assignment(1, 1, 1, "licence")]
    raise AssertionError(kind)


# --- explanations and replacements ------------------------------------------------------------


def test_explain_uncovered_without_roster() -> None:
    p = problem([guard(1)], [shift(1, 0)], [Need(1, 1, "xray", 2)])
    short = explain_uncovered(p, 1, 1, "xray", None)
    assert (short.reason, short.missing) == ("no_qualified_guard", 2)
    away = guard(1, "xray", unavailable=((T0, T0 + timedelta(days=1)),))
    short = explain_uncovered(replace(p, guards=(away,)), 1, 1, "xray", None)
    assert short.reason == "unavailable"


def test_suggest_ranks_a_near_rested_qualified_guard_first() -> None:
    s1, s0 = shift(1, 24), shift(2, 10)  # s0 ends 00:00, 6 h before s1 starts
    near = guard(2, "xray", base=(116.401, 39.901))
    far = guard(3, "xray", base=(116.60, 40.10))
    tired = guard(4, "xray", base=(116.401, 39.901))  # works s0: no rest before s1
    unskilled = guard(5, base=(116.40, 39.90))
    needs = [Need(1, 1, "xray", 1), Need(2, 2, "licence", 1)]
    p = problem([guard(1, "xray"), near, far, tired, unskilled], [s1, s0], needs)
    roster = [Assignment(1, 1, 1, "xray"), Assignment(4, 2, 2, "licence")]
    assert check(p, roster) == []
    ranked = suggest_replacements(p, roster, 1, 1)
    ids = [c.guard_id for c in ranked]
    assert ids[0] == 2
    assert ids == [2, 3]
    assert ranked[0].distance_km is not None
    assert ranked[0].distance_km < 1
    assert ranked[0].score > ranked[1].score
    for c in ranked:
        swapped = [a for a in roster if a.guard_id != 1] + [Assignment(c.guard_id, 1, 1, "xray")]
        assert check(p, swapped) == []


# --- generated events -------------------------------------------------------------------------


def test_generated_event_solves_clean(caplog: pytest.LogCaptureFixture) -> None:
    p = generate_event(guards=200, posts=30, days=3, seed=1)
    assert len({post.place for post in p.posts}) == 2
    assert any(n.gender == "female" for n in p.needs)
    assert any(n.soft for n in p.needs)
    sol = solve(p, time_limit=10)
    assert sol.violations == ()
    assert check(p, sol.assignments) == []
    hard = sum(n.count for n in p.needs if not n.soft)
    missing = sum(s.missing for s in sol.uncovered if not s.soft)
    assert missing <= 0.02 * hard
    assert sol.seconds < 10
    assert not [r for r in caplog.records if "dropped" in r.getMessage()], "safety net used"


def test_resolve_after_absences_changes_few() -> None:
    p = generate_event(guards=150, posts=16, days=5, seed=2)
    first = solve(p, time_limit=10)
    assert first.violations == ()
    again_problem = absences(p, first, count=5, day=2)
    again = solve(again_problem, time_limit=10)
    assert again.violations == ()
    assert check(again_problem, again.assignments) == []
    assert again.forced_changes > 0
    # Each lost seat is removed and refilled; a few knock-ons at most.
    assert again.forced_changes <= again.changed <= 2 * again.forced_changes + 6
    cut = again_problem.freeze_before
    assert cut is not None
    absent = {g.id for g, old in zip(again_problem.guards, p.guards, strict=True) if g != old}
    shifts = {s.id: s for s in p.shifts}
    assert not [
        a for a in again.assignments if a.guard_id in absent and shifts[a.shift_id].start >= cut
    ]


def test_window_over_two_days_keeps_the_consecutive_limit() -> None:
    from anbao.workforce.rostering.index import Index
    from anbao.workforce.rostering.model import Group, solve_window

    shifts = [shift(i + 1, 24 * i) for i in range(7)]
    p = problem(
        [guard(1)],
        shifts,
        [Need(1, s.id, "licence", 1) for s in shifts],
        rules=Rules(max_consecutive_days=5),
    )
    idx = Index(p)
    groups = [Group((s.id, "A", "licence", None, False), 1, s) for s in shifts[4:6]]
    people = [[p.guards[0]], [p.guards[0]]]
    fresh = solve_window(idx, idx.ledgers([]), groups, people, lambda g, gr: -1000, workers=1)
    assert len(fresh.picks) == 2
    worked = idx.ledgers([Assignment(1, s.id, 1, "licence") for s in shifts[:4]])
    tired = solve_window(idx, worked, groups, people, lambda g, gr: -1000, workers=1)
    assert len(tired.picks) == 1
    roster = [Assignment(1, s.id, 1, "licence") for s in shifts[:4]]
    roster += [Assignment(1, groups[gi].shift.id, 1, "licence") for _, gi in tired.picks]
    assert check(p, roster) == []


def test_progress_reports_while_solving() -> None:
    p = generate_event(guards=120, posts=16, days=2, seed=5)
    seen: list[Progress] = []
    sol = solve(p, time_limit=10, progress=seen.append)
    assert len(seen) >= 2
    assert seen[-1].objective == sol.objective
    assert seen[-1].bound == sol.bound
    assert all(b.seconds >= a.seconds for a, b in itertools.pairwise(seen))


def test_conflicting_pins_are_kept_and_reported() -> None:
    shifts = [shift(1, 0), shift(2, 10)]  # 06-14 and 16-24: 2 h apart
    needs = [Need(1, 1, "licence", 1), Need(1, 2, "licence", 1)]
    pins = (Pin(1, 1, 1, "licence"), Pin(1, 2, 1, "licence"))
    sol = solve(problem([guard(1)], shifts, needs, pins=pins), time_limit=5)
    assert sol.status == "infeasible"
    assert {v.rule for v in sol.violations} == {"rest", "hours_day"}
    assert len(sol.assignments) == 2


def test_no_replacement_for_a_pinned_seat() -> None:
    p = problem(
        [guard(1), guard(2)],
        [shift(1, 0)],
        [Need(1, 1, "licence", 1)],
        pins=(Pin(1, 1, 1, "licence"),),
    )
    roster = [Assignment(1, 1, 1, "licence")]
    assert suggest_replacements(p, roster, 1, 1) == []
    free = replace(p, pins=())
    assert [c.guard_id for c in suggest_replacements(free, roster, 1, 1)] == [2]


def test_explain_with_roster_names_the_busy_guards() -> None:
    p = problem([guard(1)], [shift(1, 0)], [Need(1, 1, "licence", 1), Need(2, 1, "licence", 1)])
    short = explain_uncovered(p, 2, 1, "licence", None, [Assignment(1, 1, 1, "licence")])
    assert (short.reason, short.missing) == ("not_enough_people", 1)
    assert "already hold a seat" in short.detail
