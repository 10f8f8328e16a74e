"""Running figures for the live stream: one base count, then only the rows added since.

Recounting 300,000 passages for every burst of scans would cost far more than the fan-out
itself, so the stream keeps per-checkpoint counters and adds the rows above an id watermark.
An annulment, a new local day or ten minutes since the base count trigger a full recount,
which also repairs anything a concurrent writer's late commit might have slipped past.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Q

from anbao.screening.models import Passage, ScreeningRecord, ScreeningSubject, Seizure
from anbao.screening.reasons import texts
from anbao.sites.models import Checkpoint, Event

__all__ = ["FigureTally"]

RECOUNT_EVERY = timedelta(minutes=10)


def _count_into(
    today: dict[int, Counter[str]],
    to_date: dict[int, Counter[str]],
    ids: list[int],
    day_start: datetime,
    end: datetime,
    above: tuple[int, int, int] | None,
    upto: tuple[int, int, int],
) -> None:
    """Add the rows up to ``end`` (and in the id range) to both tables in one pass each."""
    p_ids = Q(pk__lte=upto[0])
    r_ids = Q(pk__lte=upto[1])
    s_ids = Q(pk__lte=upto[2])
    if above is not None:
        p_ids &= Q(pk__gt=above[0])
        r_ids &= Q(pk__gt=above[1])
        s_ids &= Q(pk__gt=above[2])

    def add(cp: int, key: str, n: int, t: int) -> None:
        if n:
            to_date.setdefault(cp, Counter())[key] += n
        if t:
            today.setdefault(cp, Counter())[key] += t

    for r in (
        Passage.objects.filter(p_ids, server_time__lte=end, checkpoint_id__in=ids, annulled=False)
        .values("checkpoint_id", "status", "reason", "direction")
        .annotate(n=Count("id"), t=Count("id", filter=Q(server_time__gte=day_start)))
        .order_by()
    ):
        if r["direction"] == "entry" and r["status"] in ("allow", "attention"):
            add(r["checkpoint_id"], "people", r["n"], r["t"])
        if r["status"] == "deny":
            add(r["checkpoint_id"], "deny:" + r["reason"], r["n"], r["t"])
    for r in (
        ScreeningRecord.objects.filter(r_ids, at__lte=end, checkpoint_id__in=ids)
        .values("checkpoint_id", "subject", "public")
        .annotate(n=Count("id"), t=Count("id", filter=Q(at__gte=day_start)))
        .order_by()
    ):
        if r["subject"] == ScreeningSubject.BAG:
            add(r["checkpoint_id"], "bags", r["n"], r["t"])
        elif r["subject"] == ScreeningSubject.VEHICLE:
            add(r["checkpoint_id"], "vehicles", r["n"], r["t"])
        elif r["subject"] == ScreeningSubject.PERSON and r["public"]:
            add(r["checkpoint_id"], "people", r["n"], r["t"])
    for r in (
        Seizure.objects.filter(s_ids, at__lte=end, checkpoint_id__in=ids)
        .values("checkpoint_id", "item_class")
        .annotate(n=Count("id"), t=Count("id", filter=Q(at__gte=day_start)))
        .order_by()
    ):
        add(r["checkpoint_id"], "seize:" + r["item_class"], r["n"], r["t"])


def _as_figures(counters: list[Counter[str]]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    for c in counters:
        total.update(c)
    reasons = {k[5:]: n for k, n in total.items() if k.startswith("deny:") and n}
    return {
        "people": total["people"],
        "bags": total["bags"],
        "vehicles": total["vehicles"],
        "seizures": {
            "prohibited": total["seize:prohibited"],
            "restricted": total["seize:restricted"],
        },
        "denials": sum(reasons.values()),
        "denials_by_reason": [
            {"reason": k, "count": n, "text_zh": texts(k)[0], "text_en": texts(k)[1]}
            for k, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _watermark() -> tuple[int, int, int]:
    return (
        Passage.objects.aggregate(m=Max("id"))["m"] or 0,
        ScreeningRecord.objects.aggregate(m=Max("id"))["m"] or 0,
        Seizure.objects.aggregate(m=Max("id"))["m"] or 0,
    )


class FigureTally:
    """Per-checkpoint counters for today and the event to date, advanced by id watermark."""

    def __init__(self, event: Event) -> None:
        """Bind to ``event``; counts are loaded on the first ``advance``."""
        self.event = event
        self.venue_of: dict[int, str] = {}
        self.today: dict[int, Counter[str]] = {}
        self.to_date: dict[int, Counter[str]] = {}
        self.mark: tuple[int, int, int] | None = None
        self.day_start: datetime | None = None
        self.counted_at: datetime | None = None

    def invalidate(self) -> None:
        """Force a full recount on the next ``advance`` (after an annulment)."""
        self.mark = None

    def advance(self, now: datetime, day_start: datetime) -> None:
        """Bring the counters up to ``now``: a full count or only the rows added since."""
        upto = _watermark()
        full = (
            self.mark is None
            # Rows went away (deleted, or a restore): counting on would count ghosts.
            or any(u < m for u, m in zip(upto, self.mark, strict=True))
            or self.day_start != day_start
            or self.counted_at is None
            or now - self.counted_at > RECOUNT_EVERY
        )
        if full:
            cps = Checkpoint.objects.filter(event=self.event).select_related("venue")
            self.venue_of = {c.pk: c.venue.code for c in cps}
            ids = list(self.venue_of)
            self.today, self.to_date = {}, {}
            _count_into(self.today, self.to_date, ids, day_start, now, None, upto)
            self.day_start, self.counted_at = day_start, now
        elif upto != self.mark:
            ids = list(self.venue_of)
            _count_into(self.today, self.to_date, ids, day_start, now, self.mark, upto)
        self.mark = upto

    def figures(self, venue: str | None = None) -> dict[str, Any]:
        """Return ``{today, to_date}`` in the snapshot's shape, for the event or one venue."""

        def pick(table: dict[int, Counter[str]]) -> list[Counter[str]]:
            return [c for cp, c in table.items() if venue is None or self.venue_of.get(cp) == venue]

        return {"today": _as_figures(pick(self.today)), "to_date": _as_figures(pick(self.to_date))}

    def venues(self) -> list[str]:
        """Return the venue codes that have checkpoints."""
        return sorted(set(self.venue_of.values()))
