"""Replay of the present-only state (minute frames) and the periodic jobs that keep it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from anbao.accounts.roles import Role
from anbao.core import housekeeping
from anbao.dashboard import frames
from anbao.dashboard import snapshot as snap
from anbao.dashboard.models import ScreenFrame
from anbao.incidents import services as incidents
from anbao.incidents.models import Incident
from anbao.incidents.sop import ensure_types
from anbao.workforce.models import ReserveUnit


@pytest.fixture
def unit(event) -> ReserveUnit:  # type: ignore[no-untyped-def]
    return ReserveUnit.objects.create(
        event=event, code="R-9", name="R-9", name_en="R-9", kind="foot", lon=120.487, lat=30.744
    )


def test_one_frame_a_minute_however_often_it_is_asked(night, event, unit) -> None:  # type: ignore[no-untyped-def]
    assert frames.record(event, night.now()) is True
    assert frames.record(event, night.now() + timedelta(seconds=40)) is False  # same minute
    assert ScreenFrame.objects.filter(event=event).count() == 1
    frame = ScreenFrame.objects.get(event=event)
    assert frame.at == night.now().replace(second=0, microsecond=0)
    assert [r["code"] for r in frame.data["reserves"]] == ["R-9"]
    assert set(frame.data) == {"closed_lanes", "zones", "reserves", "incidents"}


def test_replay_shows_reserves_and_incidents_as_they_were(night, event, unit, make_user) -> None:  # type: ignore[no-untyped-def]
    from anbao.workforce import reserves

    ensure_types(event)
    user = make_user(Role.COMMANDER)
    then = night.now()
    incident = incidents.open_incident(event=event, type_code="medical", title="fainted", user=user)
    frames.record(event, then)
    # Later: the unit is dispatched and the incident resolved and closed.
    night.current = then + timedelta(minutes=20)
    reserves.dispatch(unit, task="to the hall", user=user)
    Incident.objects.filter(pk=incident.pk).update(state="closed", disposition="false_alarm")

    live = snap.snapshot(event)
    assert {r["code"]: r["state"] for r in live["reserves"]}["R-9"] != "available"
    assert incident.pk not in {i["id"] for i in live["incidents"]}
    assert live["frame_at"] is None

    past = snap.snapshot(event, at=then + timedelta(seconds=30))
    assert past["frame_at"] == then.replace(second=0, microsecond=0).isoformat()
    assert {r["code"]: r["state"] for r in past["reserves"]}["R-9"] == "available"
    assert past["forces"]["reserves_available"] == 1
    assert [i["id"] for i in past["incidents"]] == [incident.pk]
    assert past["zones"] is not None


def test_replay_shows_the_lanes_closed_at_that_time(night, event) -> None:  # type: ignore[no-untyped-def]
    from anbao.screening.models import LaneState
    from anbao.sites.models import Lane

    lane = Lane.objects.filter(checkpoint__event=event).order_by("pk").first()
    assert lane is not None
    cp = lane.checkpoint.code
    state = LaneState.objects.create(lane=lane, is_open=False, changed_at=night.now())
    then = night.now()
    frames.record(event, then)
    night.current = then + timedelta(minutes=30)
    state.is_open = True
    state.save()

    def lanes_open(snapshot: dict[str, Any]) -> int:
        return next(c["lanes_open"] for c in snapshot["checkpoints"] if c["code"] == cp)

    total = Lane.objects.filter(checkpoint=lane.checkpoint).count()
    assert lanes_open(snap.snapshot(event)) == total
    assert lanes_open(snap.snapshot(event, at=then + timedelta(seconds=20))) == total - 1


def test_replay_with_no_recent_frame_says_it_does_not_know(night, event, unit) -> None:  # type: ignore[no-untyped-def]
    frames.record(event, night.now())
    stale = snap.snapshot(event, at=night.now() + frames.MAX_AGE + timedelta(minutes=1))
    assert stale["frame_at"] is None
    assert stale["reserves"] is None
    assert stale["zones"] is None


def test_the_snapshot_api_replays_from_frames(night, event, unit, client_for) -> None:  # type: ignore[no-untyped-def]
    frames.record(event, night.now() - timedelta(minutes=5))
    at = (night.now() - timedelta(minutes=4, seconds=30)).isoformat()
    body = client_for(Role.POLICE_LIAISON).get("/api/dashboard/snapshot", {"at": at}).json()
    assert body["live"] is False
    assert [r["code"] for r in body["reserves"]] == ["R-9"]


def test_old_frames_are_pruned_on_the_hour(night, event) -> None:  # type: ignore[no-untyped-def]
    old = night.now() - frames.KEEP - timedelta(hours=2)
    frames.record(event, old)
    on_the_hour = night.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    frames.record(event, on_the_hour)
    assert list(ScreenFrame.objects.values_list("at", flat=True)) == [on_the_hour]


# --- the periodic jobs -----------------------------------------------------------------------


def test_every_server_runs_the_timers_and_the_frames() -> None:
    assert {"alarms.timers", "incidents.timers", "dashboard.frames"} <= set(housekeeping.jobs())


def test_a_job_runs_when_due_and_a_failing_one_does_not_stop_the_others(db) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def ok(now: Any) -> None:
        calls.append("ok")

    def broken(now: Any) -> None:
        raise RuntimeError("boom")

    keeper = housekeeping.Housekeeper(
        [housekeeping.Job("broken", 10, broken), housekeeping.Job("ok", 10, ok)]
    )
    assert keeper.run_due(monotonic=100.0) == ["ok"]
    assert keeper.run_due(monotonic=105.0) == []  # not due again yet
    assert keeper.run_due(monotonic=111.0) == ["ok"]
    assert calls == ["ok", "ok"]
    assert keeper.jobs[0].failures == 2


def test_a_job_must_have_a_positive_period() -> None:
    with pytest.raises(ValueError, match="every_s"):
        housekeeping.register("never", 0, lambda now: None)


def test_the_incident_timer_job_escalates_an_overdue_incident(night, event, make_user) -> None:  # type: ignore[no-untyped-def]
    from anbao.incidents.timers import tick_current

    ensure_types(event)
    incident = incidents.open_incident(event=event, type_code="medical", title="fainted")
    night.current = incident.ack_due_at + timedelta(seconds=1)
    assert tick_current(night.now())["escalated"] == 1
    assert tick_current(night.now())["escalated"] == 0  # each timer escalates once
    incident.refresh_from_db()
    assert incident.escalation_level == 1
