"""Check a schedule against an instance, independently of the solver's model.

The rules are re-stated here from the benchmark's description, day by day, so that a bug in
the CP-SAT model shows up as a disagreement rather than being repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from anbao.workforce.ssb.reader import Instance

#: ``schedule[i][d]`` is the shift id employee ``instance.staff[i]`` works on day ``d``, or None.
Schedule = Sequence[Sequence[str | None]]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The objective of a schedule, its parts, and every hard rule it breaks."""

    objective: int
    on_requests: int
    off_requests: int
    under: int
    over: int
    violations: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """True when no hard rule is broken."""
        return not self.violations


def _runs(flags: Sequence[bool], value: bool) -> list[tuple[int, int]]:
    """Return (start, length) of each maximal run of ``value`` in ``flags``."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for d, f in enumerate([*flags, not value]):
        if f == value and start is None:
            start = d
        elif f != value and start is not None:
            out.append((start, d - start))
            start = None
    return out


def employee_violations(inst: Instance, e: int, row: Sequence[str | None]) -> list[str]:
    """Return the hard rules that employee ``e`` breaks working ``row``."""
    bad: list[str] = []
    h = inst.horizon
    shifts = {s.id: s for s in inst.shifts}
    emp = inst.staff[e]
    if len(row) != h:
        bad.append(f"{emp.id}: {len(row)} days instead of {h}")
        return bad
    for d, sid in enumerate(row):
        if sid is not None and sid not in shifts:
            bad.append(f"{emp.id} day {d}: unknown shift {sid!r}")
    if any(sid is not None and sid not in shifts for sid in row):
        return bad
    for d in inst.days_off.get(emp.id, frozenset()):
        if row[d] is not None:
            bad.append(f"{emp.id} day {d}: works {row[d]} on a fixed day off")
    for d in range(h - 1):
        a, b = row[d], row[d + 1]
        if a is not None and b is not None and b in shifts[a].forbidden_next:
            bad.append(f"{emp.id} day {d}: {b} may not follow {a}")
    for sid in shifts:
        n = sum(1 for x in row if x == sid)
        limit = emp.max_shifts.get(sid, h)
        if n > limit:
            bad.append(f"{emp.id}: {n} {sid} shifts, max {limit}")
    minutes = sum(shifts[x].minutes for x in row if x is not None)
    if minutes > emp.max_total_minutes:
        bad.append(f"{emp.id}: {minutes} minutes, max {emp.max_total_minutes}")
    if minutes < emp.min_total_minutes:
        bad.append(f"{emp.id}: {minutes} minutes, min {emp.min_total_minutes}")
    working = [x is not None for x in row]
    for start, length in _runs(working, True):
        if length > emp.max_consecutive_shifts:
            bad.append(
                f"{emp.id} day {start}: {length} shifts in a row, max {emp.max_consecutive_shifts}"
            )
        inside = start > 0 and start + length < h
        if inside and length < emp.min_consecutive_shifts:
            bad.append(
                f"{emp.id} day {start}: {length} shifts in a row, min {emp.min_consecutive_shifts}"
            )
    for start, length in _runs(working, False):
        inside = start > 0 and start + length < h
        if inside and length < emp.min_consecutive_days_off:
            bad.append(
                f"{emp.id} day {start}: {length} days off in a row, "
                f"min {emp.min_consecutive_days_off}"
            )
    weekends = sum(
        1 for sat in range(5, h, 7) if working[sat] or (sat + 1 < h and working[sat + 1])
    )
    if weekends > emp.max_weekends:
        bad.append(f"{emp.id}: {weekends} weekends worked, max {emp.max_weekends}")
    return bad


def evaluate(inst: Instance, schedule: Schedule) -> Evaluation:
    """Return the objective and the hard-rule violations of ``schedule``.

    Minimum run lengths (working days and days off) apply only to runs with a day of the other
    kind on both sides inside the horizon: a run touching day 0 or the last day may be shorter.
    """
    bad: list[str] = []
    if len(schedule) != len(inst.staff):
        bad.append(f"schedule has {len(schedule)} rows for {len(inst.staff)} employees")
        return Evaluation(0, 0, 0, 0, 0, bad)
    for e, row in enumerate(schedule):
        bad += employee_violations(inst, e, row)
    index = {e.id: i for i, e in enumerate(inst.staff)}

    def works(eid: str, day: int, sid: str) -> bool:
        row = schedule[index[eid]]
        return day < len(row) and row[day] == sid

    on = sum(r.weight for r in inst.on_requests if not works(r.employee, r.day, r.shift))
    off = sum(r.weight for r in inst.off_requests if works(r.employee, r.day, r.shift))
    under = over = 0
    for c in inst.cover:
        n = sum(1 for row in schedule if c.day < len(row) and row[c.day] == c.shift)
        under += c.under_weight * max(0, c.requirement - n)
        over += c.over_weight * max(0, n - c.requirement)
    return Evaluation(on + off + under + over, on, off, under, over, bad)
