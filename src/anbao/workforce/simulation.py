"""The demo's workforce: a rostered guard force on every post, and guards checking in.

``setup_demo`` imports the generated guard roll, derives the posts from the site, forms
squads, generates the rehearsal and event shifts, solves and publishes the roster, and adds
reserve units, dogs, equipment, training and commendations. ``DutySimulation`` then checks
guards in and out around their shifts through the same service a leader's device uses; a
few are late and a very few never come, so the missed check-in alerts have work to do.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db.models import Count

from anbao.core import clock
from anbao.sites.models import Checkpoint, Event, Lane, LaneKind, PhaseKind
from anbao.workforce import demand, duty, rosters, staffing, training
from anbao.workforce.models import (
    Assignment,
    AttendanceResult,
    CheckMethod,
    Dog,
    DutyRecord,
    Guard,
    InventoryKind,
    Post,
    ReserveKind,
    ReserveUnit,
    ShiftTemplate,
    Skill,
)

log = logging.getLogger(__name__)

#: The most seconds the demo gives the optimiser; it stops sooner once every day is rostered.
DEMO_SOLVE_SECONDS = 15
SQUAD_SIZE = 12
RESERVE_SQUADS = 3


def _unit(
    event: Event, code: str, name: str, name_en: str, kind: str, cp: Checkpoint, size: int
) -> None:
    ReserveUnit.objects.get_or_create(
        event=event,
        code=code,
        defaults={
            "name": name,
            "name_en": name_en,
            "kind": kind,
            "size": size,
            "lon": cp.lon + 0.0006,
            "lat": cp.lat + 0.0004,
            "state_changed_at": clock.now(),
        },
    )


def setup_demo(
    event: Event, guards_file: Path, *, solve_seconds: int = DEMO_SOLVE_SECONDS
) -> dict[str, Any]:
    """Build the demo's workforce once (idempotent: a second run changes nothing)."""
    if Post.objects.filter(event=event).exists():
        return {"skipped": True}
    staffing.import_staff(guards_file.read_bytes(), guards_file.name, event=event)
    demand.ensure_templates(event)
    posts = demand.derive_posts(event)
    _squads(event, posts)
    _dogs()
    phases = {p.kind: p for p in event.phases.all()}
    first = (
        phases[PhaseKind.REHEARSAL].start_date
        if PhaseKind.REHEARSAL in phases
        else event.start_date
    )
    last = phases[PhaseKind.EVENT].end_date if PhaseKind.EVENT in phases else event.end_date
    template = ShiftTemplate.objects.get(event=event, code="2x12")
    shifts = demand.generate_shifts(event, template, first, last)
    cps = list(Checkpoint.objects.filter(event=event).order_by("code"))
    for n, (kind, zh, en, size) in enumerate(
        [
            (ReserveKind.FOOT, "机动一分队", "Reserve team 1", 6),
            (ReserveKind.FOOT, "机动二分队", "Reserve team 2", 6),
            (ReserveKind.VEHICLE, "机动车组", "Vehicle team", 4),
            (ReserveKind.CANINE, "警犬组", "Canine team", 2),
            (ReserveKind.MEDICAL, "急救组", "First-aid team", 3),
            (ReserveKind.FOOT, "机动三分队", "Reserve team 3", 6),
        ]
    ):
        _unit(event, f"r{n + 1}", zh, en, kind, cps[(n * 5) % len(cps)], size)
    _equipment(event)
    _training(event)
    job = rosters.start_solve_job(event, time_limit=solve_seconds, inline=True)
    rosters.publish(event, user=None)
    _commendations(event)
    return {
        "guards": Guard.objects.count(),
        "posts": len(posts),
        "shifts": len(shifts),
        "job": job.as_dict(),
    }


def _squads(event: Event, posts: list[Post]) -> None:
    guards = list(Guard.objects.filter(active=True).order_by("employee_no"))
    squads = staffing.make_squads(event, guards, size=SQUAD_SIZE)
    # Places get squads in proportion to their seats, so a squad mostly works one place.
    seats = dict(
        Post.objects.filter(event=event)
        .values("place_code")
        .annotate(n=Count("needs"))
        .values_list("place_code", "n")
    )
    places = sorted((p for p in seats if p not in ("reserve",)), key=lambda p: -seats[p])
    for n, squad in enumerate(squads):
        if n >= len(squads) - RESERVE_SQUADS:
            squad.reserve, squad.place_code = True, "reserve"
        else:
            squad.place_code = places[n % len(places)]
        squad.save(update_fields=["reserve", "place_code"])


def _dogs() -> None:
    names = ["黑豹", "闪电", "虎子", "雷霆", "旺财", "追风", "阿福", "铁蛋"]
    for n, guard in enumerate(
        Guard.objects.filter(qualifications__skill=Skill.CANINE).order_by("employee_no")
    ):
        if not Dog.objects.filter(handler=guard).exists():
            staffing.add_dog(
                name=names[n % len(names)] + (str(n // len(names) + 1) if n >= len(names) else ""),
                chip_no=f"CHIP{n + 1:05d}",
                handler=guard,
                detection="explosives" if n % 3 else "drugs",
            )


def _equipment(event: Event) -> None:
    n = 0
    for lane in (
        Lane.objects.filter(checkpoint__event=event)
        .select_related("checkpoint")
        .order_by("checkpoint__code", "code")
    ):
        kinds = {
            LaneKind.WTMD_XRAY: [InventoryKind.XRAY, InventoryKind.WTMD, InventoryKind.HANDHELD],
            LaneKind.VIP: [InventoryKind.XRAY, InventoryKind.WTMD],
            LaneKind.MANUAL: [InventoryKind.HANDHELD, InventoryKind.HANDHELD],
            LaneKind.STAFF: [InventoryKind.WTMD],
            LaneKind.VEHICLE: [InventoryKind.UVSS, InventoryKind.BARRIER],
        }.get(LaneKind(lane.kind), [])
        for kind in kinds:
            n += 1
            item = training.add_item(asset_no=f"EQ-{kind.upper()}-{n:04d}", kind=kind)
            training.assign_item(item, lane)
    for r in range(40):
        training.add_item(asset_no=f"EQ-RADIO-{r + 1:04d}", kind=InventoryKind.RADIO)
    faulty = training.EquipmentItem.objects.filter(
        kind=InventoryKind.XRAY, lane__isnull=False
    ).order_by("asset_no")
    for item, note in zip(
        faulty[3:5], ["传送带卡滞 Conveyor belt jams", "图像偏色 Image colour drift"], strict=False
    ):
        training.report_status(item, status="fault", note=note)


def _training(event: Event) -> None:
    courses = {c.code: c for c in training.ensure_courses()}
    start = clock.now() - timedelta(days=2)
    session = training.schedule_session(
        courses["english-screeners"],
        start=start,
        end=start + timedelta(hours=3),
        place="乌镇互联网国际会展中心",
        trainer="Li Na",
    )
    for n, guard in enumerate(Guard.objects.order_by("employee_no")[:12]):
        result = AttendanceResult.PASSED if n % 4 else AttendanceResult.FAILED
        training.record_attendance(session, guard, result=result, score=82 if n % 4 else 41)


def _commendations(event: Event) -> None:
    deeds = [
        (
            "拾到外宾遗失的钱包并及时归还 Found and returned a foreign delegate's lost wallet",
            "wicc-n",
        ),
        ("协助突发不适的参会人员就医 Helped a delegate taken ill to the medical post", "wicc-s"),
        ("雨中为排队人员发放雨衣 Handed out raincoats to the queue in the rain", "xizha-e"),
    ]
    guards = list(Guard.objects.order_by("employee_no")[20:23])
    for guard, (what, where) in zip(guards, deeds, strict=False):
        training.commend(
            event, guard, what=what, when=clock.now() - timedelta(hours=3), where=where
        )


# --- duty simulation -------------------------------------------------------------------------


def _offset_minutes(assignment_id: int) -> int | None:
    """Return when a guard turns up relative to the shift start; None: never (a no-show)."""
    h = int(hashlib.sha256(str(assignment_id).encode()).hexdigest()[:8], 16)
    roll = h % 1000
    if roll < 15:
        return None
    if roll < 45:
        return 20 + h % 15  # late: the alert fires, then the guard arrives
    return -25 + h % 28


@dataclass
class DutySimulation:
    """Guards checking in and out around their shifts (through the duty service)."""

    name: str = "duty"
    last_run: datetime | None = None
    every: timedelta = timedelta(minutes=1)
    events: list[Event] = field(default_factory=list)

    def tick(self, now: datetime) -> int:
        """Check guards in and out and raise alerts for the ones missing; return actions."""
        if self.last_run is not None and now - self.last_run < self.every:
            return 0
        self.last_run = now
        if not self.events:
            self.events = list(Event.objects.filter(posts__isnull=False).distinct())
        done = 0
        for event in self.events:
            done += self._check_outs(event, now) + self._check_ins(event, now)
            done += len(duty.raise_missed_alerts(event, at=now))
        return done

    def _check_ins(self, event: Event, now: datetime) -> int:
        rows = (
            Assignment.objects.filter(
                event=event, shift__start__lte=now + timedelta(minutes=30), shift__end__gt=now
            )
            .exclude(post__kind="reserve")
            .exclude(duty_records__isnull=False)
            .select_related("guard", "shift")
        )
        n = 0
        busy = set(
            DutyRecord.objects.filter(event=event, check_out_at__isnull=True).values_list(
                "guard_id", flat=True
            )
        )
        for a in rows:
            offset = _offset_minutes(a.pk)
            if offset is None or a.guard_id in busy:
                continue
            due = a.shift.start + timedelta(minutes=offset)
            if due > now:
                continue
            try:
                duty.check(
                    a.guard,
                    method=CheckMethod.LEADER_DEVICE if a.pk % 3 else CheckMethod.OWN_PHONE,
                    at=due,
                )
                n += 1
            except Exception:  # a guard the roster moved meanwhile; the next tick sees the new seat
                log.debug("demo check-in skipped for assignment %s", a.pk, exc_info=True)
        return n

    def _check_outs(self, event: Event, now: datetime) -> int:
        rows = DutyRecord.objects.filter(
            event=event, check_out_at__isnull=True, shift__end__lte=now
        ).select_related("guard", "shift")
        n = 0
        for r in rows:
            duty.check(
                r.guard, method=r.check_in_method, at=r.shift.end + timedelta(minutes=r.pk % 9)
            )
            n += 1
        return n


def duty_simulation() -> list[DutySimulation]:
    """Return the demo's duty simulation (registered with the simulator)."""
    return [DutySimulation()]
