"""Why seats stay empty: reasons a roster manager can act on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from .index import Index, Ledger
from .types import Assignment, Guard, Problem, Shift, Shortfall

_FITS_REASON = {
    "rest": "rest",
    "hours_day": "hours_exhausted",
    "hours_exhausted": "hours_exhausted",
    "consecutive_days": "consecutive_days",
    "dog_rest": "dog_rest",
    "dog_hours": "dog_rest",
    "overlap": "not_enough_people",
    "busy": "not_enough_people",
}


def reason_for(
    idx: Index,
    shift: Shift,
    skill: str,
    gender: str | None,
    missing: int,
    ledgers: dict[int, Ledger] | None,
    on_duty: set[int] | None,
) -> tuple[str, str]:
    """Reason code and one sentence for ``missing`` empty seats of a kind in a shift."""
    day = shift.start.date()
    when = f"shift {shift.id} ({shift.start:%Y-%m-%d %H:%M})"
    holders = [g for g in idx.guards.values() if skill in idx.skills[g.id]]
    if not holders:
        return "no_qualified_guard", f"No guard holds the {skill} skill."
    if skill == "canine":
        holders = [g for g in holders if g.id in idx.dogs]
        if not holders:
            return "no_dog", "No canine-qualified guard has an active dog."
    if gender is not None:
        holders = [g for g in holders if g.gender == gender]
        if not holders:
            return f"no_{gender}_guard", f"No {gender} guard holds the {skill} skill."
    valid = [g for g in holders if idx.skills[g.id][skill] >= day]
    if not valid:
        return (
            "certificate_expired",
            f"Every {skill} certificate held by a suitable guard expired before {day.isoformat()}.",
        )
    free = [g for g in valid if idx.available(g, shift)]
    if not free:
        return (
            "unavailable",
            f"All {len(valid)} guards qualified for {skill} are on leave or absent in {when}.",
        )
    if ledgers is None or on_duty is None:
        if len(free) < missing:
            return (
                "not_enough_people",
                f"Only {len(free)} qualified guards are available for {missing} seats in {when}.",
            )
        return (
            "not_enough_people",
            f"The {len(free)} qualified guards available in {when} are needed elsewhere.",
        )
    idle = [g for g in free if g.id not in on_duty]
    if not idle:
        return (
            "not_enough_people",
            f"All {len(free)} qualified guards available in {when} already hold a seat in it.",
        )
    causes = Counter(_blocker(idx, g, ledgers[g.id], shift, skill) for g in idle)
    if causes.get(None, 0):
        return (
            "not_enough_people",
            f"{causes[None]} qualified guards could still work {when} but are needed to keep "
            "other seats covered within the limits.",
        )
    top, n = max(((k, v) for k, v in causes.items() if k is not None), key=lambda kv: kv[1])
    code = _FITS_REASON.get(top, "not_enough_people")
    if top == "busy":
        return (
            code,
            f"{n} of the {len(idle)} qualified guards free in {when} work another shift that day.",
        )
    words = {
        "rest": "would not get the minimum rest between shifts",
        "hours_exhausted": "have no hours left that day or week",
        "consecutive_days": "would exceed the maximum consecutive working days",
        "dog_rest": "have a dog that must rest",
        "not_enough_people": "already work an overlapping shift",
    }[code]
    return code, f"{n} of the {len(idle)} qualified guards free in {when} {words}."


def _blocker(idx: Index, guard: Guard, ledger: Ledger, shift: Shift, skill: str) -> str | None:
    why = idx.fits(guard, ledger, shift, skill == "canine")
    if why in ("rest", "overlap", "hours_day") and shift.start.date() in ledger.day_hours:
        return "busy"  # already works another shift that day
    return why


def explain_uncovered(
    problem: Problem,
    post_id: int,
    shift_id: int,
    skill: str,
    gender: str | None,
    assignments: Iterable[Assignment] | None = None,
) -> Shortfall:
    """Explain why seats (post, shift, skill, gender) stay empty, with or without a roster."""
    idx = Index(problem)
    shift = idx.shifts[shift_id]
    needs = [
        n
        for n in problem.needs
        if n.post_id == post_id and n.shift_id == shift_id and n.skill == skill
    ]
    wanted = sum(n.count for n in needs if n.gender == gender)
    soft = bool(needs) and all(n.soft for n in needs if n.gender == gender)
    ledgers: dict[int, Ledger] | None = None
    on_duty: set[int] | None = None
    held = 0
    if assignments is not None:
        roster = list(assignments)
        ledgers = idx.ledgers(roster)
        on_duty = {a.guard_id for a in roster if a.shift_id == shift_id}
        here = [
            idx.guards[a.guard_id]
            for a in roster
            if (a.post_id, a.shift_id, a.skill) == (post_id, shift_id, skill)
            and a.guard_id in idx.guards
        ]
        restricted = Counter[str]()
        for n in needs:
            if n.gender is not None:
                restricted[n.gender] += n.count
        present = Counter(g.gender for g in here)
        in_own = {k: min(present[k], restricted[k]) for k in present}
        held = len(here) - sum(in_own.values()) if gender is None else in_own.get(gender, 0)
    missing = max(0, wanted - held)
    code, detail = reason_for(idx, shift, skill, gender, max(1, missing), ledgers, on_duty)
    return Shortfall(post_id, shift_id, skill, gender, missing, code, detail, soft)
