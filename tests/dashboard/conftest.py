"""Fixtures for the command centre: a moving clock on an event night and a day of rows."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from anbao.alarms import services as alarm_services
from anbao.core import clock
from anbao.screening.models import Passage, ScreeningRecord, Seizure
from anbao.sites.models import Checkpoint, Event, Lane
from tests.conftest import MovingClock

# 23:30 on 8 November in Wuzhen: the perimeter is armed and the day has had its traffic.
NIGHT = datetime(2026, 11, 8, 15, 30, tzinfo=UTC)
REASONS = ["zone_denied", "revoked", "unknown_credential"]


@pytest.fixture
def night(db) -> Iterator[MovingClock]:  # type: ignore[no-untyped-def]
    fixed = MovingClock(NIGHT)
    previous = clock.install(fixed)
    alarm_services.forget_cached()
    yield fixed
    clock.install(previous)
    alarm_services.forget_cached()


@pytest.fixture
def event(db) -> Event:  # type: ignore[no-untyped-def]
    return Event.objects.get(code="wic2026")


def seed_rows(event: Event, at: datetime, *, n: int = 400, seed: int = 7) -> dict[str, Any]:
    """Bulk-create passages, screenings and seizures spread over the 30 hours before ``at``.

    Some rows lie after ``at`` (replay must leave them out). Returns the rows' plain values so
    that tests count them independently of the code under test.
    """
    rng = random.Random(seed)
    lanes = list(Lane.objects.filter(checkpoint__event=event).select_related("checkpoint"))
    passages, records, seizures = [], [], []
    for i in range(n):
        ln = rng.choice(lanes)
        t = at - timedelta(minutes=rng.randint(-120, 30 * 60))
        status = rng.choices(["allow", "attention", "deny"], [8, 1, 2])[0]
        passages.append(
            Passage(
                checkpoint=ln.checkpoint,
                lane=ln,
                direction=rng.choice(["entry", "entry", "exit"]),
                status=status,
                reason=rng.choice(REASONS) if status == "deny" else "ok",
                server_time=t,
                nonce=f"seed-{seed}-{i}",
                annulled=rng.random() < 0.03,
            )
        )
        if i % 3 == 0:
            records.append(
                ScreeningRecord(
                    checkpoint=ln.checkpoint,
                    lane=ln,
                    subject=rng.choice(["person", "bag", "vehicle"]),
                    public=rng.random() < 0.5,
                    method="xray",
                    outcome="clear",
                    at=t,
                )
            )
        if i % 17 == 0:
            cls = rng.choice(["prohibited", "restricted"])
            seizures.append(
                Seizure(
                    checkpoint=ln.checkpoint,
                    lane=ln,
                    item_code="knife" if cls == "prohibited" else "lighter",
                    item_zh="刀具" if cls == "prohibited" else "打火机",
                    item_en="Knife" if cls == "prohibited" else "Lighter",
                    item_class=cls,
                    disposition="confiscated" if cls == "prohibited" else "deposited",
                    at=t,
                )
            )
    Passage.objects.bulk_create(passages)
    ScreeningRecord.objects.bulk_create(records)
    Seizure.objects.bulk_create(seizures)
    venue_of = dict(Checkpoint.objects.filter(event=event).values_list("id", "venue__code"))
    return {
        "passages": [
            (venue_of[p.checkpoint_id], p.server_time, p.direction, p.status, p.reason, p.annulled)
            for p in passages
        ],
        "records": [(venue_of[r.checkpoint_id], r.at, r.subject, r.public) for r in records],
        "seizures": [(venue_of[s.checkpoint_id], s.at, s.item_class) for s in seizures],
    }


@pytest.fixture
def seeded(night, event) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return seed_rows(event, night.now())


from tests.ui.test_browser import site  # noqa: E402, F401  (transactional tests reload the site)


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    """Each test's rows are rolled back: the stream's running figures must not outlive them."""
    from anbao.dashboard import broadcaster

    broadcaster.shutdown()
    yield
    # Stop the refresher: other tests' events must not wake a thread reading their database.
    broadcaster.shutdown()
