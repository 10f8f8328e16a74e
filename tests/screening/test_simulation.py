"""Simulated checkpoint traffic: the pure model's rates, and the demo simulator's real records."""

from __future__ import annotations

import random
from datetime import time, timedelta

import pytest

from anbao.core import clock
from anbao.screening import decisions, traffic
from anbao.screening.models import ArrivalCount, LaneState, Passage, ScreeningRecord, Seizure
from anbao.screening.simulation import WARM_UP, CheckpointTraffic
from anbao.sites.models import Lane
from tests.screening.test_scan import EVENT_TIME, FixedClock, issued


def test_profile_interpolates_and_refuses_bad_points() -> None:
    p = traffic.ArrivalProfile("t", ((time(6, 0), 0.0), (time(8, 0), 10.0)))
    assert p.rate(time(7, 0)) == pytest.approx(5.0)
    assert p.rate(time(5, 0)) == 0.0
    assert p.rate(time(9, 0)) == 10.0
    assert p.scaled(2).rate(time(7, 0)) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="increasing"):
        traffic.ArrivalProfile("bad", ((time(8, 0), 1.0), (time(6, 0), 1.0)))
    with pytest.raises(ValueError, match="negative"):
        traffic.ArrivalProfile("bad", ((time(8, 0), -1.0),))
    assert traffic.MORNING_RUSH.rate(time(8, 0)) > 8.0  # the rush outruns a lane's service


def test_mix_matches_the_reference_rates() -> None:
    rng = random.Random(7)
    mix = traffic.Mix(items=[("lighter", 1.0), ("controlled_knife", 1 / 6)])
    draws = [mix.draw(rng) for _ in range(200_000)]
    seized = sum(d.item is not None for d in draws) / len(draws)
    bags = sum(d.bag for d in draws) / len(draws)
    bad = sum(d.bad is not None for d in draws) / len(draws)
    assert seized == pytest.approx(0.0072, rel=0.1)
    assert bags == pytest.approx(0.05, rel=0.05)
    assert bad == pytest.approx(0.007, rel=0.15)
    lighters = sum(d.item == "lighter" for d in draws)
    knives = sum(d.item == "controlled_knife" for d in draws)
    assert lighters > 4 * knives  # Zipf by rank: the commonest item dominates
    with pytest.raises(ValueError, match="unknown bad"):
        traffic.Mix(bad_rates={"forged": 0.1})
    with pytest.raises(ValueError, match="between 0 and 1"):
        traffic.Mix(seizure_rate=1.5)


def test_poisson_mean() -> None:
    rng = random.Random(1)
    for mean in (0.3, 4.0, 50.0):
        draws = [traffic.poisson(mean, rng) for _ in range(20_000)]
        assert sum(draws) / len(draws) == pytest.approx(mean, rel=0.05)
    assert traffic.poisson(0, rng) == 0


@pytest.fixture
def rush(db):  # type: ignore[no-untyped-def]
    fixed = FixedClock(EVENT_TIME - timedelta(hours=2))  # 08:00 in Wuzhen: the rush
    previous = clock.install(fixed)
    decisions.clear_cache()
    yield fixed
    clock.install(previous)
    decisions.clear_cache()


def test_the_simulator_serves_queues_through_the_real_services(rush) -> None:  # type: ignore[no-untyped-def]
    for code in ("VIP", "D", "E", "S"):
        for _ in range(6):
            issued(code)
    closed = Lane.objects.get(checkpoint__code="wicc-n", code="l2")
    LaneState.objects.create(lane=closed, is_open=False)
    sim = CheckpointTraffic(mix=traffic.Mix(seizure_rate=0.2, bag_rate=0.3, items=[("lighter", 1)]))
    started = rush.current
    sim.tick(rush.current)  # loads the population and replays the minutes before
    for _ in range(6):
        rush.current += timedelta(minutes=1)
        sim.tick(rush.current)
    assert sim.served > 50
    assert Passage.objects.filter(status="allow").exists()
    assert not Passage.objects.filter(lane=closed).exists()
    assert ScreeningRecord.objects.filter(subject="bag").exists()
    assert ScreeningRecord.objects.filter(public=True, checkpoint__venue__code="xizha").exists()
    assert ScreeningRecord.objects.filter(subject="vehicle", method="credential_plate").exists()
    assert Seizure.objects.filter(item_code="lighter").count() == sim.seizures > 0
    assert ArrivalCount.objects.filter(count__gt=0).exists()
    assert not ArrivalCount.objects.filter(lane=closed).exists()
    # Queues build at the rush: more arrive than a detector lane serves.
    queued = [s.queue for s in sim.lanes if s.lane.kind == "wtmd_xray" and s.lane != closed]
    assert max(queued) > 0
    # Warm-up history is stamped in the half hour replayed, not all at the start time.
    times = sorted(Passage.objects.values_list("server_time", flat=True))
    assert started - WARM_UP <= times[0] < started <= times[-1] <= rush.current
