"""Posts derived from the site, shifts from templates, seats by phase, open lanes and overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from anbao.core.errors import DomainError
from anbao.screening import lanes
from anbao.sites.models import Lane
from anbao.workforce import demand
from anbao.workforce.models import Post, Shift, ShiftTemplate


def test_posts_cover_every_lane_checkpoint_segment_command_and_reserve(workforce) -> None:  # type: ignore[no-untyped-def]
    event = workforce
    lanes_n = Lane.objects.filter(checkpoint__event=event).count()
    assert Post.objects.filter(event=event, lane__isnull=False).count() == lanes_n
    assert (
        Post.objects.filter(event=event, kind="patrol").count() == event.perimeter_segments.count()
    )
    assert Post.objects.filter(event=event, code="command").exists()
    assert Post.objects.filter(event=event, kind="reserve").exists()
    # Idempotent: deriving again adds nothing.
    before = Post.objects.count()
    demand.derive_posts(event)
    assert Post.objects.count() == before


def test_shifts_are_local_and_carry_their_phase(workforce) -> None:  # type: ignore[no-untyped-def]
    day, night = Shift.objects.filter(event=workforce).order_by("start")
    assert day.start == datetime(2026, 11, 9, 0, 0, tzinfo=UTC)  # 08:00 in Wuzhen
    assert night.end == datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
    assert day.phase == "event"
    assert day.hours == 12


def test_build_up_days_need_patrols_but_no_lanes(workforce) -> None:  # type: ignore[no-untyped-def]
    event = workforce
    t = ShiftTemplate.objects.get(event=event, code="3x8")
    shifts = demand.generate_shifts(event, t, date(2026, 10, 27), date(2026, 10, 27))
    seats = demand.seats(event, shifts)
    kinds = {Post.objects.get(pk=s.post_id).kind for s in seats}
    assert "patrol" in kinds
    assert not any(Post.objects.get(pk=s.post_id).lane_id for s in seats)


def test_a_closed_lane_needs_no_one_and_an_override_replaces_a_count(workforce) -> None:  # type: ignore[no-untyped-def]
    event = workforce
    shifts = list(Shift.objects.filter(event=event))
    post = Post.objects.get(event=event, code="wicc-n-l1")
    seats = [s for s in demand.seats(event, shifts) if s.post_id == post.pk]
    assert {(s.skill, s.gender) for s in seats} == {
        ("xray", ""),
        ("search", ""),
        ("search", "female"),
    }
    lanes.set_lane_open(post.lane, is_open=False, note="quiet")
    assert not [s for s in demand.seats(event, shifts) if s.post_id == post.pk]
    lanes.set_lane_open(post.lane, is_open=True)
    demand.add_override(
        post,
        skill="search",
        count=3,
        start=shifts[0].start,
        end=shifts[0].end,
        reason="VIP arrival",
    )
    day = [
        s
        for s in demand.seats(event, [shifts[0]])
        if s.post_id == post.pk and s.skill == "search" and not s.gender
    ]
    assert day[0].count == 3
    assert day[0].source == "override"


def test_bad_patterns_and_overrides_are_refused(workforce) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError):
        demand.validate_pattern([{"code": "D", "start": "25:00", "hours": 8}])
    with pytest.raises(DomainError):
        demand.validate_pattern([{"code": "D", "start": "08:00", "hours": 30}])
    with pytest.raises(DomainError):
        demand.validate_pattern(
            [
                {"code": "D", "start": "08:00", "hours": 8},
                {"code": "D", "start": "16:00", "hours": 8},
            ]
        )
    post = Post.objects.get(event=workforce, code="command")
    s = Shift.objects.filter(event=workforce).first()
    assert s is not None
    with pytest.raises(DomainError) as err:
        demand.add_override(post, skill="juggling", count=1, start=s.start, end=s.end)
    assert err.value.problems[0].field == "skill"
    with pytest.raises(DomainError):
        demand.add_override(post, skill="leader", count=1, start=s.end, end=s.start)
