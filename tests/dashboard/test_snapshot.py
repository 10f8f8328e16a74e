"""The big screen's snapshot: figures counted independently, replay, venue scope, roles."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from anbao.accounts.roles import Role
from anbao.alarms import services as alarm_services
from anbao.dashboard import snapshot as snap
from anbao.dashboard.tally import FigureTally
from anbao.sites.models import AlarmSection, Checkpoint, PerimeterSegment, Venue


def expected(rows: dict[str, Any], start: datetime | None, end: datetime, venue: str | None):  # type: ignore[no-untyped-def]
    """Count the seeded rows by hand, as the screen should."""

    def keep(v: str, t: datetime) -> bool:
        return (venue is None or v == venue) and t <= end and (start is None or t >= start)

    people = bags = vehicles = 0
    reasons: Counter[str] = Counter()
    for v, t, direction, status, reason, annulled in rows["passages"]:
        if not keep(v, t) or annulled:
            continue
        if direction == "entry" and status in ("allow", "attention"):
            people += 1
        if status == "deny":
            reasons[reason] += 1
    for v, t, subject, public in rows["records"]:
        if not keep(v, t):
            continue
        if subject == "bag":
            bags += 1
        elif subject == "vehicle":
            vehicles += 1
        elif public:
            people += 1
    seized = Counter(c for v, t, c in rows["seizures"] if keep(v, t))
    return {
        "people": people,
        "bags": bags,
        "vehicles": vehicles,
        "seizures": {"prohibited": seized["prohibited"], "restricted": seized["restricted"]},
        "denials": sum(reasons.values()),
        "reasons": dict(reasons),
    }


def _check(fig: dict[str, Any], want: dict[str, Any]) -> None:
    for key in ("people", "bags", "vehicles", "seizures", "denials"):
        assert fig[key] == want[key], key
    assert {r["reason"]: r["count"] for r in fig["denials_by_reason"]} == want["reasons"]


def _day_start(at: datetime) -> datetime:
    return at.astimezone(ZoneInfo("Asia/Shanghai")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def test_figures_match_the_rows_counted_by_hand(night, event, seeded) -> None:  # type: ignore[no-untyped-def]
    now = night.now()
    fig = snap.figures(event, now)
    want_today = expected(seeded, _day_start(now), now, None)
    _check(fig["today"], want_today)
    _check(fig["to_date"], expected(seeded, None, now, None))
    assert fig["today"]["people"] > 0
    assert fig["to_date"]["people"] > fig["today"]["people"]  # yesterday's rows count too


def test_the_live_tally_agrees_with_the_snapshot_and_adds_new_rows(night, event, seeded) -> None:  # type: ignore[no-untyped-def]
    from tests.dashboard.conftest import seed_rows

    now = night.now()
    tally = FigureTally(event)
    tally.advance(now, _day_start(now))
    assert tally.figures() == snap.figures(event, now)
    extra = seed_rows(event, now - timedelta(minutes=1), n=60, seed=99)
    tally.advance(now, _day_start(now))
    merged = {k: seeded[k] + extra[k] for k in seeded}
    _check(tally.figures()["today"], expected(merged, _day_start(now), now, None))
    venue = Venue.objects.filter(event=event).order_by("code").first()
    assert venue is not None
    _check(tally.figures(venue.code)["to_date"], expected(merged, None, now, venue.code))


def test_replay_at_an_earlier_time_leaves_out_later_rows(night, event, seeded) -> None:  # type: ignore[no-untyped-def]
    now = night.now()
    earlier = now - timedelta(hours=3)
    fig = snap.figures(event, earlier)
    _check(fig["today"], expected(seeded, _day_start(earlier), earlier, None))
    later_people = expected(seeded, earlier + timedelta(microseconds=1), now, None)["people"]
    assert later_people > 0  # there is something for the replay to leave out
    assert fig["to_date"]["people"] == snap.figures(event, now)["to_date"]["people"] - later_people


def _raise(event, at, section="s2"):  # type: ignore[no-untyped-def]
    segment = PerimeterSegment.objects.get(event=event, code="canal-n")
    sec = AlarmSection.objects.get(segment=segment, code=section)
    return alarm_services.trigger(
        event=event,
        source_type="intrusion",
        source_key=f"section:canal-n/{section}",
        at=at,
        segment=segment,
        section=sec,
        lon=120.4990,
        lat=30.7540,
        details={"confirmed": True},
    ).alarm


def test_replay_shows_the_alarms_open_at_that_time(night, event, make_user) -> None:  # type: ignore[no-untyped-def]
    now = night.now()
    early = _raise(event, now - timedelta(hours=2), "s2")
    late = _raise(event, now - timedelta(minutes=10), "s3")
    assert early is not None
    assert late is not None
    user = make_user(Role.COMMANDER)
    early.refresh_from_db()
    alarm_services.acknowledge(alarm_id=early.pk, user=user, force=True, note="patrol sent")
    alarm_services.clear(
        event=event, source_type="intrusion", source_key="section:canal-n/s2", at=now
    )
    alarm_services.close(alarm_id=early.pk, user=user, disposition="nuisance")
    live_ids = {a["id"] for a in snap.alarm_rows(event, now, live=True)}
    assert late.pk in live_ids
    assert early.pk not in live_ids
    before = snap.alarm_rows(event, now - timedelta(hours=1), live=False)
    assert [a["id"] for a in before] == [early.pk]  # closed later, open then; late not raised yet
    assert before[0]["workflow"] != "closed"


def test_snapshot_api_shape_and_venue_scope(night, event, seeded, client_for) -> None:  # type: ignore[no-untyped-def]
    body = client_for(Role.COMMANDER).get("/api/dashboard/snapshot").json()
    for key in ("at", "live", "figures", "checkpoints", "alarms", "drones", "reserves", "forces"):
        assert key in body
    assert body["live"] is True
    assert body["read_only"] is False
    assert {c["code"] for c in body["checkpoints"]} == set(
        Checkpoint.objects.filter(event=event).values_list("code", flat=True)
    )
    venue = Venue.objects.filter(event=event, checkpoints__isnull=False).order_by("code").first()
    assert venue is not None
    scoped = client_for(Role.POLICE_LIAISON).get(f"/api/dashboard/snapshot?venue={venue.code}")
    data = scoped.json()
    assert data["read_only"] is True
    assert data["checkpoints"]
    assert {c["venue"] for c in data["checkpoints"]} == {venue.code}
    _check(data["figures"]["to_date"], expected(seeded, None, night.now(), venue.code))


def test_snapshot_refuses_bad_input(night, event, client_for) -> None:  # type: ignore[no-untyped-def]
    c = client_for(Role.COMMANDER)
    assert c.get("/api/dashboard/snapshot?venue=nowhere").json()["error"]["code"] == (
        "dashboard.unknown_venue"
    )
    assert c.get("/api/dashboard/snapshot?at=yesterday").json()["error"]["code"] == (
        "dashboard.bad_time"
    )
    future = (night.now() + timedelta(hours=1)).isoformat()
    r = c.get("/api/dashboard/snapshot", {"at": future})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "dashboard.future"
    old = (night.now() - timedelta(days=2)).isoformat()
    assert c.get("/api/dashboard/snapshot", {"at": old}).json()["error"]["code"] == (
        "dashboard.too_old"
    )
    naive = night.now().replace(tzinfo=None).isoformat()
    assert c.get("/api/dashboard/snapshot", {"at": naive}).status_code == 422


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.COMMANDER, 200),
        (Role.POLICE_LIAISON, 200),
        (Role.CHECKPOINT_LEADER, 200),
        (Role.PLANNER, 403),
        (Role.ACCREDITATION_OFFICER, 403),
    ],
)
def test_snapshot_roles(night, event, client_for, role, status) -> None:  # type: ignore[no-untyped-def]
    assert client_for(role).get("/api/dashboard/snapshot").status_code == status


def test_venue_scoped_user_sees_only_their_venue(night, event, make_user) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    venues = list(Venue.objects.filter(event=event, checkpoints__isnull=False).distinct())
    assert len(venues) >= 2
    user = make_user(Role.CHECKPOINT_LEADER, username="venue-boss")
    user.venues.add(venues[0])
    c = Client()
    c.force_login(user)
    body = c.get("/api/dashboard/snapshot").json()
    assert body["venue"] == venues[0].code
    assert {x["venue"] for x in body["checkpoints"]} == {venues[0].code}
    other = c.get(f"/api/dashboard/snapshot?venue={venues[1].code}")
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "dashboard.venue_out_of_scope"


def test_batched_queue_estimates_agree_with_the_lane_rule(night, event, seeded) -> None:  # type: ignore[no-untyped-def]
    from anbao.dashboard.queues import queue_estimates
    from anbao.screening import lanes as lane_rules
    from anbao.screening.models import ArrivalCount, QueueReport
    from anbao.sites.models import Lane

    now = night.now()
    lanes = list(Lane.objects.filter(checkpoint__event=event).order_by("pk"))
    # Give the estimate something to work with: reports, arrivals, a closed lane.
    QueueReport.objects.create(lane=lanes[0], length=40, at=now - timedelta(minutes=20))
    QueueReport.objects.create(lane=lanes[1], length=5, at=now - timedelta(minutes=50))
    for m in range(1, 30):
        ArrivalCount.objects.create(
            lane=lanes[0],
            minute=(now - timedelta(minutes=m)).replace(second=0, microsecond=0),
            count=7,
            received_at=now,
        )
    lane_rules.set_lane_open(lanes[2], False)
    batch = queue_estimates(lanes, now)
    for ln in lanes:
        one = lane_rules.queue_estimate(ln, now=now)
        got = batch[ln.pk]
        assert (got["is_open"], got["length"], got["source"]) == (
            one.is_open,
            one.length,
            one.source,
        ), ln
        assert got["rate_per_min"] == one.rate_per_min
    assert batch[lanes[0].pk]["length"] > 0
    assert batch[lanes[2].pk]["is_open"] is False


def test_open_incidents_with_timers_reach_the_snapshot_and_replay(night, event, client_for) -> None:  # type: ignore[no-untyped-def]
    from anbao.incidents import services as incidents
    from anbao.incidents.sop import ensure_types

    ensure_types(event)
    inc = incidents.open_incident(event=event, type_code="other", title="Lost child at gate")
    body = client_for(Role.POLICE_LIAISON).get("/api/dashboard/snapshot").json()
    rows = [r for r in body["incidents"] if r["id"] == inc.pk]
    assert len(rows) == 1
    assert rows[0]["title"] == "Lost child at gate"
    assert "ack" in rows[0]["timers"]
    earlier = snap.incident_rows(event, night.now() - timedelta(minutes=5))
    assert inc.pk not in {r["id"] for r in earlier}  # not opened yet at that moment
