"""The demo's living checkpoints: queues at every open lane, served through the real services.

Each tick draws arrivals per lane from an arrival profile, queues them, and serves as many as
the lane can (about eight a minute through a detector and X-ray). Each person served is a scan
through :func:`decisions.scan` with the lane scanner's identity; bags go through X-ray; 0.72 %
carry an item that is seized. At the scenic area most visitors are the public, screened without
a credential. Arrivals are reported per minute, so the queue estimate has counter data.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from anbao.accreditation.models import IssuedCredential
from anbao.screening import decisions, lanes, occupancy, records, traffic
from anbao.screening import taxonomy as tx
from anbao.screening.models import LaneState, Passage, Presence, ScreeningRecord
from anbao.sites.models import Device, DeviceKind, Lane, LaneKind

log = logging.getLogger(__name__)

#: People a lane serves per minute, by kind.
SERVICE_PER_MINUTE: dict[str, float] = {
    LaneKind.WTMD_XRAY: 8.0,
    LaneKind.MANUAL: 4.0,
    LaneKind.VIP: 6.0,
    LaneKind.STAFF: 10.0,
    LaneKind.VEHICLE: 1.5,
}
#: Share of the profile's arrivals that reach a lane of each kind.
ARRIVAL_SHARE: dict[str, float] = {
    LaneKind.WTMD_XRAY: 1.0,
    LaneKind.MANUAL: 0.5,
    LaneKind.VIP: 0.25,
    LaneKind.STAFF: 0.6,
    LaneKind.VEHICLE: 0.12,
}
#: Venues open to the public, where most people screened carry no credential.
PUBLIC_VENUES = {"xizha": 0.7}
WTMD_ALARM_RATE = 0.03
EXIT_SHARE = 0.2
MAX_SERVED_PER_TICK = 150
MAX_GAP = timedelta(minutes=5)
CHECKOUT_EVERY = timedelta(minutes=15)
#: Lanes (checkpoint, lane) that real gate clients serve in the demo; the simulator leaves them.
DRIVEN_BY_GATES: set[tuple[str, str]] = set()
#: History the demo starts with: the simulator replays this much before the start time.
WARM_UP = timedelta(minutes=10)


@dataclass
class _Lane:
    lane: Lane
    device: Device | None
    ctx: decisions.LaneContext
    public_share: float
    queue: float = 0.0
    minute: datetime | None = None
    arrived: int = 0


@dataclass
class CheckpointTraffic:
    """Arrivals, queues and service at every open lane of the event."""

    name: str = "screening.traffic"
    profile: traffic.ArrivalProfile = traffic.MORNING_RUSH
    mix: traffic.Mix | None = None
    seed: int = 2026
    last: datetime | None = None
    lanes: list[_Lane] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    eligible: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    others: dict[int, list[str]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    inside: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    last_checkout: datetime | None = None
    served: int = 0
    seizures: int = 0
    police_cases: int = 0

    def _load(self) -> None:
        self.rng.seed(self.seed)
        taxonomy = tx.default()
        if self.mix is None:
            weights = traffic.item_weights(
                [(i.code, i.common, i.item_class) for i in taxonomy.items()]
            )
            self.mix = traffic.Mix(items=weights)
        scanners = {
            d.lane_id: d
            for d in Device.objects.filter(kind=DeviceKind.GATE_SCANNER, lane__isnull=False)
        }
        badges = list(
            IssuedCredential.objects.filter(purpose="badge", revoked_at__isnull=True)
            .exclude(accreditation__isnull=True)
            .values_list("qr_text", "accreditation_id", "claims")
        )
        self.revoked = list(
            IssuedCredential.objects.filter(purpose="badge", revoked_at__isnull=False).values_list(
                "qr_text", flat=True
            )[:200]
        )
        for row in Lane.objects.select_related(
            "checkpoint__venue", "checkpoint__to_zone", "checkpoint__event"
        ).order_by("checkpoint__code", "code"):
            ctx = decisions.context_for(row)
            cp = row.checkpoint
            self.lanes.append(
                _Lane(
                    lane=row,
                    device=scanners.get(row.pk),
                    ctx=ctx,
                    public_share=PUBLIC_VENUES.get(cp.venue.code, 0.0),
                )
            )
            if cp.pk in self.eligible:
                continue
            zone, venue = cp.to_zone.number, cp.venue.code
            ok = [
                (qr, acc)
                for qr, acc, c in badges
                if zone in c.get("zones", ()) and venue in c.get("venues", ())
            ]
            self.eligible[cp.pk] = ok
            self.others[cp.pk] = [
                qr
                for qr, _a, c in badges
                if zone not in c.get("zones", ()) or venue not in c.get("venues", ())
            ][:300]
        for acc, zone_id in Presence.objects.values_list("accreditation_id", "zone_id"):
            self.inside[zone_id].add(acc)

    def tick(self, now: datetime) -> int:
        """Advance the queues to ``now``, serving people through the real services."""
        if self.last is None:
            self._load()
            return self._warm_up(now)
        gap = min(now - self.last, MAX_GAP)
        self.last = now
        if gap <= timedelta(0):
            return 0
        minutes = gap.total_seconds() / 60
        if self.last_checkout is None or now - self.last_checkout >= CHECKOUT_EVERY:
            occupancy.auto_checkout(now)  # what a timer runs in production
            self.last_checkout = now
        closed_ids = set(LaneState.objects.filter(is_open=False).values_list("lane_id", flat=True))
        budget = MAX_SERVED_PER_TICK
        sent = 0
        for state in self.lanes:
            if state.lane.pk in closed_ids:
                continue  # closed: nobody queues, nobody is served
            if (state.ctx.checkpoint_code, state.ctx.lane_code) in DRIVEN_BY_GATES:
                continue
            tz = ZoneInfo(state.lane.checkpoint.event.time_zone)
            kind = str(state.lane.kind)
            rate = self.profile.rate(now.astimezone(tz).time()) * ARRIVAL_SHARE.get(kind, 0.5)
            arrivals = traffic.poisson(rate * minutes, self.rng)
            state.queue += arrivals
            sent += self._count_arrivals(state, now, arrivals)
            capacity = SERVICE_PER_MINUTE.get(kind, 6.0) * minutes
            serve = min(int(state.queue), traffic.poisson(capacity, self.rng), budget)
            for _ in range(serve):
                sent += self._serve(state, now, kind)
            state.queue -= serve
            budget -= serve
        return sent

    def _warm_up(self, now: datetime) -> int:
        """Replay the last minutes before ``now`` once, so the lanes open with history."""
        if Passage.objects.exists():
            self.last = now
            return 0
        from anbao.core import clock

        sent = 0
        self.last = now - WARM_UP
        previous = clock.install(clock.FixedClock(self.last))
        try:
            while self.last < now:
                step = min(self.last + timedelta(minutes=1), now)
                clock.install(clock.FixedClock(step))
                sent += self.tick(step)
        finally:
            clock.install(previous)
        return sent

    def _count_arrivals(self, state: _Lane, now: datetime, arrivals: int) -> int:
        minute = now.replace(second=0, microsecond=0)
        sent = 0
        if state.minute is not None and minute != state.minute and state.arrived:
            lanes.record_arrivals(state.lane, [(state.minute, state.arrived)], device=state.device)
            state.arrived = 0
            sent = 1
        state.minute = minute
        state.arrived += arrivals
        return sent

    def _serve(self, state: _Lane, now: datetime, kind: str) -> int:
        if self.mix is None:
            return 0
        arrival = self.mix.draw(self.rng)
        cp = state.lane.checkpoint
        if kind == LaneKind.VEHICLE:
            self._vehicle(state)
            return 1
        if self.rng.random() < state.public_share:
            self._screen(state, arrival, passage_id=None, public=True)
            return 1
        qr, acc, direction = self._credential(cp.pk, cp.to_zone_id, arrival.bad)
        if qr is None:
            return 0
        result = decisions.scan(
            lane=state.ctx,
            direction=direction,
            nonce=uuid.uuid4().hex,
            source=f"device:{state.device.external_id}" if state.device else "simulation",
            qr_text=qr,
            device=state.device,
        )
        self.served += 1
        if result.status != "deny" and acc is not None:
            zone = cp.to_zone_id
            if direction == "entry":
                self.inside[zone].add(acc)
            else:
                self.inside[zone].discard(acc)
        if result.status != "deny" and direction == "entry":
            self._screen(state, arrival, passage_id=result.passage_id, public=False)
        return 1

    def _credential(
        self, checkpoint_id: int, zone_id: int, bad: str | None
    ) -> tuple[str | None, int | None, str]:
        pool = self.eligible.get(checkpoint_id) or []
        if bad == "revoked" and self.revoked:
            return self.rng.choice(self.revoked), None, "entry"
        if bad == "wrong_zone" and self.others.get(checkpoint_id):
            return self.rng.choice(self.others[checkpoint_id]), None, "entry"
        if not pool:
            return None, None, "entry"
        qr, acc = self.rng.choice(pool)
        if bad == "tampered":
            pos = self.rng.randrange(10, len(qr) - 10)
            swap = "A" if qr[pos] != "A" else "B"
            return qr[:pos] + swap + qr[pos + 1 :], None, "entry"
        inside = self.inside[zone_id]
        if acc in inside:
            return qr, acc, "exit"
        if inside and self.rng.random() < EXIT_SHARE:
            acc = self.rng.choice(tuple(inside))
            for q, a in pool:
                if a == acc:
                    return q, a, "exit"
        return qr, acc, "entry"

    def _screen(
        self, state: _Lane, arrival: traffic.Arrival, *, passage_id: int | None, public: bool
    ) -> None:
        cp, lane = state.lane.checkpoint, state.lane
        found_in_bag = arrival.item is not None and arrival.bag
        person_alarm = arrival.item is not None and not arrival.bag
        if public or person_alarm or self.rng.random() < WTMD_ALARM_RATE:
            outcome = (
                "item_found" if person_alarm else ("alarm_resolved" if not public else "clear")
            )
            rec = records.record_screening(
                checkpoint=cp,
                lane=lane,
                subject="person",
                method="walk_through" if public and not person_alarm else "handheld",
                outcome=outcome,
                public=public,
                passage_id=passage_id,
            )
            if person_alarm:
                self._seize(state, rec, arrival.item)
        if arrival.bag:
            rec = records.record_screening(
                checkpoint=cp,
                lane=lane,
                subject="bag",
                method="xray",
                outcome="item_found" if found_in_bag else "clear",
                public=public,
                passage_id=passage_id,
            )
            if found_in_bag:
                self._seize(state, rec, arrival.item)

    def _seize(self, state: _Lane, rec: ScreeningRecord, item: str | None) -> None:
        if item is None:
            return
        taxonomy = tx.default()
        found = taxonomy.item(item)
        disposition = found.disposition if found is not None else None
        police_case = ""
        if disposition == "police":
            self.police_cases += 1
            police_case = f"SIM-{self.seed}-{self.police_cases:05d}"
        records.record_seizure(
            checkpoint=state.lane.checkpoint,
            lane=state.lane,
            screening=rec,
            item_code=item,
            police_case=police_case,
        )
        self.seizures += 1

    def _vehicle(self, state: _Lane) -> None:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        plate = "浙F" + "".join(self.rng.choice(letters) for _ in range(5))
        cp, lane = state.lane.checkpoint, state.lane
        records.record_screening(
            checkpoint=cp,
            lane=lane,
            subject="vehicle",
            method="credential_plate",
            outcome="clear",
            plate=plate,
        )
        records.record_screening(
            checkpoint=cp, lane=lane, subject="vehicle", method="under_vehicle", outcome="clear"
        )


def traffic_simulation() -> list[CheckpointTraffic]:
    """Return the simulated devices of the screening domain."""
    return [CheckpointTraffic()]
