"""Screening statistics per checkpoint and local day, and the seizure queries the desk needs."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet, Sum

from anbao.core import clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.screening import records
from anbao.screening import taxonomy as tx
from anbao.screening.models import (
    Disposition,
    Passage,
    ScreeningRecord,
    ScreeningSubject,
    Seizure,
    SeizureStatus,
)
from anbao.screening.reasons import texts
from anbao.sites.models import Checkpoint, Event

__all__ = [
    "day_window",
    "local_today",
    "parse_day",
    "seizure_log",
    "statistics",
    "unclaimed_deposits",
]


def _invalid(name: str, code: str, message: str) -> DomainError:
    return DomainError(code, message, 422, problems=[FieldProblem(name, message, code)])


def parse_day(text: str | None, *, time_zone: str = "Asia/Shanghai") -> date:
    """Parse ``YYYY-MM-DD`` (today in ``time_zone`` when empty) or raise ``screening.bad_day``."""
    if not text:
        return local_today(time_zone)
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise _invalid("day", "screening.bad_day", "day must be a date as YYYY-MM-DD.") from exc


def local_today(time_zone: str = "Asia/Shanghai") -> date:
    """Return today's date in the event's time zone."""
    return clock.now().astimezone(ZoneInfo(time_zone)).date()


def day_window(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """Return the aware start and end of a local day."""
    start = datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone))
    return start, start + timedelta(days=1)


def _item_rows(rows: list[dict[str, Any]], taxonomy: tx.Taxonomy) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        item = taxonomy.item(r["item_code"])
        out.append(
            {
                "code": r["item_code"],
                "zh": r["item_zh"],
                "en": r["item_en"],
                "item_class": r["item_class"],
                "mark": "禁" if r["item_class"] == "prohibited" else "限",
                "group": item.group if item else "",
                "count": r["n"],
                "quantity": int(r["q"] or 0),
            }
        )
    return sorted(out, key=lambda x: (-x["count"], x["code"]))


def _group_rows(items: list[dict[str, Any]], taxonomy: tx.Taxonomy) -> list[dict[str, Any]]:
    groups = {g.code: g for g in taxonomy.groups}
    totals: Counter[str] = Counter()
    quantity: Counter[str] = Counter()
    for i in items:
        totals[i["group"]] += i["count"]
        quantity[i["group"]] += i["quantity"]
    out = []
    for code, n in totals.items():
        g = groups.get(code)
        out.append(
            {
                "code": code,
                "zh": g.zh if g else code,
                "en": g.en if g else code,
                "item_class": g.item_class if g else "",
                "count": n,
                "quantity": quantity[code],
            }
        )
    return sorted(out, key=lambda x: (-x["count"], x["code"]))


def statistics(
    event: Event,
    day: date,
    *,
    checkpoint: Checkpoint | None = None,
    taxonomy: tx.Taxonomy | None = None,
) -> list[dict[str, Any]]:
    """Return one row per checkpoint for a local day: screenings, passages, denials, seizures."""
    taxonomy = taxonomy or tx.default()
    start, end = day_window(day, event.time_zone)
    cps = Checkpoint.objects.filter(event=event).order_by("code")
    if checkpoint is not None:
        cps = cps.filter(pk=checkpoint.pk)
    checkpoints = list(cps)
    ids = [c.pk for c in checkpoints]
    subjects: dict[int, Counter[str]] = {i: Counter() for i in ids}
    for r in (
        ScreeningRecord.objects.filter(checkpoint_id__in=ids, at__gte=start, at__lt=end)
        .values("checkpoint_id", "subject", "public")
        .annotate(n=Count("id"))
        .order_by()
    ):
        # A credential holder's person screening hangs off their passage, counted below.
        if r["subject"] != ScreeningSubject.PERSON or r["public"]:
            subjects[r["checkpoint_id"]][r["subject"]] += r["n"]
    # Everyone let in went through the lane's detector: people screened are the entries
    # allowed (with or without attention) plus the public screened without a credential.
    for r in (
        Passage.objects.filter(
            checkpoint_id__in=ids,
            annulled=False,
            direction="entry",
            status__in=["allow", "attention"],
            server_time__gte=start,
            server_time__lt=end,
        )
        .values("checkpoint_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        subjects[r["checkpoint_id"]][ScreeningSubject.PERSON] += r["n"]
    statuses: dict[int, Counter[str]] = {i: Counter() for i in ids}
    reasons: dict[int, Counter[str]] = {i: Counter() for i in ids}
    for r in (
        Passage.objects.filter(
            checkpoint_id__in=ids, annulled=False, server_time__gte=start, server_time__lt=end
        )
        .values("checkpoint_id", "status", "reason")
        .annotate(n=Count("id"))
        .order_by()
    ):
        statuses[r["checkpoint_id"]][r["status"]] += r["n"]
        if r["status"] == "deny":
            reasons[r["checkpoint_id"]][r["reason"]] += r["n"]
    seized: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for r in (
        Seizure.objects.filter(checkpoint_id__in=ids, at__gte=start, at__lt=end)
        .values("checkpoint_id", "item_code", "item_zh", "item_en", "item_class")
        .annotate(n=Count("id"), q=Sum("quantity"))
        .order_by()
    ):
        seized[r["checkpoint_id"]].append(r)
    out = []
    for cp in checkpoints:
        items = _item_rows(seized[cp.pk], taxonomy)
        by_class = dict.fromkeys(tx.CLASSES, 0)
        for i in items:
            by_class[i["item_class"]] = by_class.get(i["item_class"], 0) + i["count"]
        out.append(
            {
                "checkpoint": cp.code,
                "name": cp.name,
                "name_en": cp.name_en,
                "day": day,
                "people": subjects[cp.pk][ScreeningSubject.PERSON],
                "bags": subjects[cp.pk][ScreeningSubject.BAG],
                "vehicles": subjects[cp.pk][ScreeningSubject.VEHICLE],
                "passages_allowed": statuses[cp.pk]["allow"],
                "passages_denied": statuses[cp.pk]["deny"],
                "denials": [
                    {"reason": k, "count": n, "text_zh": texts(k)[0], "text_en": texts(k)[1]}
                    for k, n in sorted(reasons[cp.pk].items(), key=lambda kv: (-kv[1], kv[0]))
                ],
                "seizures": sum(i["count"] for i in items),
                "seizures_by_class": by_class,
                "seizures_by_group": _group_rows(items, taxonomy),
                "seizures_by_item": items,
            }
        )
    return out


def seizure_log(
    *,
    checkpoint: Checkpoint | None = None,
    day: date | None = None,
    item_class: str | None = None,
    disposition: str | None = None,
    time_zone: str = "Asia/Shanghai",
) -> QuerySet[Seizure]:
    """Return seizures filtered by checkpoint, local day, class and disposition, newest first."""
    qs = records.list_seizures(
        checkpoint=checkpoint, day=day, item_class=item_class or None, time_zone=time_zone
    )
    if disposition:
        if disposition not in Disposition.values:
            raise _invalid(
                "disposition",
                "screening.unknown_disposition",
                f"Unknown disposition {disposition!r}.",
            )
        qs = qs.filter(disposition=disposition)
    return qs


def unclaimed_deposits(*, checkpoint: Checkpoint | None = None) -> QuerySet[Seizure]:
    """Return deposited items still held (not yet claimed), oldest first."""
    qs = Seizure.objects.select_related("checkpoint", "lane").filter(
        disposition=Disposition.DEPOSITED, status=SeizureStatus.HELD
    )
    if checkpoint is not None:
        qs = qs.filter(checkpoint=checkpoint)
    return qs.order_by("at", "id")
