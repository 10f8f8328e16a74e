"""Alarm statistics: nuisance rate per zone per day, probability of detection from walk tests."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from anbao.alarms.models import Alarm, Disposition, SourceType, WalkTest
from anbao.sites.models import AlarmSection, Event

# A zone is accepted when at least 49 of its last 50 walk-test passes were detected (Pd ≥ 0.98).
ACCEPT_PASSES, ACCEPT_DETECTED = 50, 49
_PERIMETER = [
    SourceType.INTRUSION,
    SourceType.FENCE_CUT,
    SourceType.FENCE_SHORT,
    SourceType.FENCE_VOLTAGE,
    SourceType.FENCE_TAMPER,
    SourceType.LINE_CROSSING,
    SourceType.VIDEO_INTRUSION,
]


@dataclass(frozen=True)
class NuisanceRow:
    """One section's alarms on one day, by disposition."""

    segment: str
    section: str
    day: date
    alarms: int
    real: int
    nuisance: int
    false: int
    open: int

    @property
    def nuisance_rate(self) -> float:
        """Nuisance and false alarms as a share of the closed ones (0 when none closed)."""
        closed = self.real + self.nuisance + self.false
        return (self.nuisance + self.false) / closed if closed else 0.0


def nuisance_by_section(event: Event, day: date) -> list[NuisanceRow]:
    """Return each perimeter section's alarms on ``day`` (local), with the nuisance rate."""
    tz = ZoneInfo(event.time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    rows = (
        Alarm.objects.filter(
            event=event,
            test=False,
            source_type__in=_PERIMETER,
            raised_at__gte=start,
            raised_at__lt=start + timedelta(days=1),
            section__isnull=False,
        )
        .values("segment__code", "section__code")
        .annotate(
            n=Count("id"),
            real=Count("id", filter=Q(disposition=Disposition.REAL)),
            nuisance=Count("id", filter=Q(disposition=Disposition.NUISANCE)),
            false=Count("id", filter=Q(disposition=Disposition.FALSE)),
            open=Count("id", filter=Q(disposition="")),
        )
        .order_by("segment__code", "section__code")
    )
    return [
        NuisanceRow(
            segment=r["segment__code"],
            section=r["section__code"],
            day=day,
            alarms=r["n"],
            real=r["real"],
            nuisance=r["nuisance"],
            false=r["false"],
            open=r["open"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class DetectionRow:
    """A section's probability of detection from its latest walk-test passes."""

    segment: str
    section: str
    passes: int
    detected: int
    accepted: bool

    @property
    def probability(self) -> float | None:
        """Detected over passes (None without passes)."""
        return self.detected / self.passes if self.passes else None


def detection_by_section(event: Event) -> list[DetectionRow]:
    """Return every section's Pd over its last 50 passes and whether it is accepted (≥ 49/50)."""
    latest: dict[int, list[bool]] = defaultdict(list)
    for section_id, detected in (
        WalkTest.objects.filter(section__segment__event=event)
        .order_by("section_id", "-at", "-id")
        .values_list("section_id", "detected")
    ):
        if len(latest[section_id]) < ACCEPT_PASSES:
            latest[section_id].append(detected)
    out = []
    for section in AlarmSection.objects.filter(segment__event=event).select_related("segment"):
        passes = latest.get(section.pk, [])
        n, d = len(passes), sum(passes)
        out.append(
            DetectionRow(
                segment=section.segment.code,
                section=section.code,
                passes=n,
                detected=d,
                accepted=n >= ACCEPT_PASSES and d >= ACCEPT_DETECTED,
            )
        )
    return out
