"""Who could take a guard's seat: candidates ranked by fit, each checked against every rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from .check import check
from .index import Index, gap_hours, week_of
from .types import Assignment, Candidate, Problem


def suggest_replacements(
    problem: Problem,
    assignments: Iterable[Assignment],
    guard_id: int,
    shift_id: int,
    *,
    limit: int = 10,
) -> list[Candidate]:
    """Rank guards who could take ``guard_id``'s seat in ``shift_id`` without breaking a rule."""
    idx = Index(problem)
    roster = list(assignments)
    seat = next((a for a in roster if a.guard_id == guard_id and a.shift_id == shift_id), None)
    shift = idx.shifts.get(shift_id)
    if seat is None or shift is None:
        return []
    if problem.freeze_before is not None and shift.start < problem.freeze_before:
        return []  # the past is not edited
    if any(p.guard_id == guard_id and p.shift_id == shift_id for p in problem.pins):
        return []  # a pinned seat stays with its guard
    post = idx.posts[seat.post_id]
    rest = [a for a in roster if a is not seat]
    ledgers = idx.ledgers(rest)
    mine: dict[int, list[Assignment]] = defaultdict(list)
    for a in rest:
        mine[a.guard_id].append(a)
    same_seat = [
        a for a in rest if (a.post_id, a.shift_id, a.skill) == (seat.post_id, shift_id, seat.skill)
    ]
    # The swapped roster differs from the original only in this guard's seat; rules on other
    # guards cannot newly break, so checking the candidate's shifts and the seat is enough.
    loose = replace(problem, pins=(), previous=(), freeze_before=None)
    leaving = idx.guards.get(guard_id)
    day = shift.start.date()
    canine = seat.skill == "canine"
    out: list[Candidate] = []
    for g in idx.guards.values():
        if g.id == guard_id or not idx.qualified(g, seat.skill, day, None):
            continue
        ledger = ledgers[g.id]
        if idx.fits(g, ledger, shift, canine) is not None:
            continue
        new = Assignment(g.id, shift_id, seat.post_id, seat.skill)
        if check(loose, [*mine[g.id], *same_seat, new]):
            continue
        hours_week = ledger.week_hours.get(week_of(day), 0.0)
        limit_week = idx.week_limit(g)
        dist = idx.distance(g, post)
        exp = idx.skills[g.id][seat.skill]
        rest_h = min((gap_hours(shift, s) for s, _ in ledger.shifts), default=None)
        score = 100.0
        reasons = [
            f"holds {seat.skill}" + ("" if exp.year == 9999 else f" (valid to {exp.isoformat()})"),
        ]
        if rest_h is None:
            reasons.append("no other shift nearby")
            score += 10
        else:
            reasons.append(f"{rest_h:.0f} h rest to the nearest shift")
            score += min(rest_h, 48.0) / 48.0 * 10
        reasons.append(f"{hours_week:g} of {limit_week:g} h worked this week")
        score -= 20.0 * hours_week / max(limit_week, 1.0)
        if dist is not None:
            reasons.append(f"{dist:.1f} km from base")
            score -= 2.0 * dist
        if idx.home_place(g) == post.place:
            reasons.append("belongs to this place")
            score += 10
        if leaving is not None and leaving.squad is not None and g.squad == leaving.squad:
            reasons.append("same squad")
            score += 5
        if shift_id in g.prefers_off:
            reasons.append("asked for this shift off")
            score -= 15
        if shift_id in g.prefers_on:
            reasons.append("asked to work this shift")
            score += 5
        out.append(Candidate(g.id, round(score, 2), tuple(reasons), dist, hours_week))
    out.sort(key=lambda c: (-c.score, c.guard_id))
    return out[:limit]
