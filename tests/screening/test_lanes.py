"""Lanes: counts per minute, the queue estimate, lane state, equipment, the API and statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.test import Client

from anbao.accounts import services as accounts
from anbao.accounts.roles import Role
from anbao.core import clock
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.screening import lanes, records, stats
from anbao.screening.models import (
    ArrivalCount,
    GateState,
    LaneState,
    OfflineConflict,
    Passage,
    QueueReport,
    ScreeningRecord,
)
from anbao.sites.models import Checkpoint, Device, Lane

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # 10:00 in Wuzhen, on an event day
BASE = "/api/screening"
_nonce = count()


# --- helpers (also used by the page tests) ------------------------------------------------


@pytest.fixture
def fixed() -> Iterator[clock.FixedClock]:
    """Stand the clock still at T0."""
    fc = clock.FixedClock(T0)
    previous = clock.install(fc)
    yield fc
    clock.install(previous)


def lane_of(cp: str = "wicc-n", code: str = "l1") -> Lane:
    """Return a demo lane."""
    return Lane.objects.select_related("checkpoint").get(checkpoint__code=cp, code=code)


def passage(
    lane: Lane,
    at: datetime,
    *,
    status: str = "allow",
    reason: str = "ok",
    direction: str = "entry",
    annulled: bool = False,
    cid: str = "",
) -> Passage:
    """Store a passage as a scan would have."""
    return Passage.objects.create(
        checkpoint=lane.checkpoint,
        lane=lane,
        direction=direction,
        status=status,
        reason=reason,
        server_time=at,
        nonce=f"t{next(_nonce)}",
        annulled=annulled,
        cid=cid,
    )


def screening(lane: Lane, at: datetime, subject: str = "person", *, public: bool = True) -> Any:
    """Store a screening record at a lane."""
    method = {"person": "walk_through", "bag": "xray", "vehicle": "under_vehicle"}[subject]
    return ScreeningRecord.objects.create(
        checkpoint=lane.checkpoint,
        lane=lane,
        subject=subject,
        method=method,
        outcome="clear",
        public=public,
        at=at,
    )


def at(minutes: float) -> datetime:
    """Return T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def conflict(lane: Lane, when: datetime) -> OfflineConflict:
    """Store a double entry found on sync."""
    first = passage(lane, when, cid="ab" * 8)
    second = passage(lane, when + timedelta(seconds=40), cid="ab" * 8)
    return OfflineConflict.objects.create(
        kind="double_entry",
        cid="ab" * 8,
        checkpoint=lane.checkpoint,
        first_passage=first,
        second_passage=second,
        detected_at=when + timedelta(minutes=1),
    )


def device_client(device_id: str) -> Client:
    """Return a client holding a device's token."""
    code = accounts.start_enrolment(device_id=device_id)
    token = accounts.redeem_enrolment(device_id=device_id, code=code)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def code_of(response: Any) -> str:
    """Return the error code of an API answer."""
    return str(response.json()["error"]["code"])


# --- counts per minute --------------------------------------------------------------------


def test_minute_counts_on_known_data(fixed) -> None:  # type: ignore[no-untyped-def]
    l1, l2 = lane_of(code="l1"), lane_of(code="l2")
    passage(l1, at(5 + 10 / 60))
    passage(l1, at(5 + 50 / 60))
    passage(l1, at(5 + 20 / 60), status="deny", reason="revoked")  # refused: not counted
    passage(l1, at(5 + 30 / 60), annulled=True)  # annulled: not counted
    passage(l1, at(6), direction="exit")
    screening(l1, at(6.5))  # a member of the public
    screening(l1, at(6.6), public=False)  # belongs to a badge scan, already counted
    screening(l1, at(7.1), "bag")
    screening(l1, at(7.9), "bag")
    screening(l1, at(8.2), "vehicle")
    passage(l2, at(5.5))
    out = lanes.minute_counts([l1, l2], since=at(5), until=at(9))
    rows = [(r.minute, r.people, r.bags, r.vehicles) for r in out[l1.pk]]
    assert rows == [
        (at(5), 2, 0, 0),
        (at(6), 2, 0, 0),
        (at(7), 0, 2, 0),
        (at(8), 0, 0, 1),
    ]
    assert [r.people for r in out[l2.pk]] == [1, 0, 0, 0]


# --- the queue estimate -------------------------------------------------------------------


def test_queue_from_counter_since_opening(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    lanes.set_lane_open(lane, True)  # opened at T0: the queue starts empty
    lanes.record_arrivals(lane, [(at(1), 10), (at(2), 8)])
    for m in (1.5, 2.2, 2.7):
        passage(lane, at(m))
    passage(lane, at(2.8), direction="exit")  # leaving: not out of the queue
    screening(lane, at(2.9))
    fixed.current = at(3)
    q = lanes.queue_estimate(lane)
    assert (q.length, q.source, q.arrivals, q.served) == (14, "counter", 18, 4)
    assert q.rate_per_min == pytest.approx(0.8)
    assert q.wait_s == pytest.approx(14 / 0.8 * 60)


def test_a_manual_report_resets_the_base_and_is_the_fallback(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    lanes.set_lane_open(lane, True)
    lanes.record_arrivals(lane, [(at(1), 10)])
    fixed.current = at(3)
    lanes.report_queue(lane, 20)
    q = lanes.queue_estimate(lane)
    assert (q.length, q.source, q.base_length) == (20, "manual", 20)
    lanes.record_arrivals(lane, [(at(3), 5)])
    passage(lane, at(3.5))
    fixed.current = at(4)
    q = lanes.queue_estimate(lane)
    assert (q.length, q.source) == (24, "counter")
    # The counter falls silent: the estimate rests on the report again.
    fixed.current = at(20)
    q = lanes.queue_estimate(lane)
    assert (q.length, q.source) == (24, "manual")
    assert q.wait_s is None  # people wait and nobody was served lately


def test_queue_is_clipped_at_zero_and_none_without_data(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    lanes.set_lane_open(lane, True)
    for m in (1, 2, 3):
        passage(lane, at(m))
    fixed.current = at(4)
    q = lanes.queue_estimate(lane)
    assert (q.length, q.source, q.wait_s) == (0, "none", 0.0)


def test_reports_from_before_the_opening_are_ignored(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    QueueReport.objects.create(lane=lane, length=50, at=at(-10))
    lanes.set_lane_open(lane, False)
    fixed.current = at(1)
    lanes.set_lane_open(lane, True)
    fixed.current = at(2)
    q = lanes.queue_estimate(lane)
    assert (q.length, q.base_at, q.source) == (0, at(1), "none")


def test_a_closed_lane_has_no_queue(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    lanes.record_arrivals(lane, [(at(0), 30)])
    lanes.set_lane_open(lane, False)
    q = lanes.queue_estimate(lane)
    assert (q.is_open, q.length, q.source, q.wait_s) == (False, 0, "none", None)
    with pytest.raises(DomainError) as exc:
        lanes.report_queue(lane, 5)
    assert (exc.value.code, exc.value.status) == ("screening.lane_closed", 409)


def test_open_close_is_audited_once_per_change(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    assert lanes.lane_state(lane).is_open  # never set: open
    lanes.set_lane_open(lane, False, note="staff break")
    lanes.set_lane_open(lane, False)
    state = LaneState.objects.get(lane=lane)
    assert (state.is_open, state.note, state.changed_at) == (False, "staff break", T0)
    assert AuditEntry.objects.filter(action="screening.lane_closed").count() == 1


def test_arrivals_for_a_minute_again_keep_the_latest(fixed) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    lanes.record_arrivals(lane, [(at(-2) + timedelta(seconds=25), 4)])
    lanes.record_arrivals(lane, [(at(-2), 6)])
    assert list(ArrivalCount.objects.filter(lane=lane).values_list("minute", "count")) == [
        (at(-2), 6)
    ]


@pytest.mark.parametrize(
    ("counts", "code"),
    [
        ([(T0, -1)], "screening.bad_count"),
        ([(T0 + timedelta(hours=1), 1)], "screening.bad_minute"),
        ([(T0 - timedelta(days=2), 1)], "screening.bad_minute"),
        ([], "screening.no_counts"),
    ],
)
def test_bad_arrivals_are_refused(fixed, counts, code) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as exc:
        lanes.record_arrivals(lane_of(), counts)
    assert exc.value.code == code
    assert exc.value.status == 422


def test_equipment_set_and_list(fixed, make_user) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    user = make_user(Role.CHECKPOINT_OPERATOR)
    lanes.set_equipment(lane, kind="xray", label="X1", status="ok", user=user)
    lanes.set_equipment(lane, kind="xray", label="X1", status="fault", note="belt stuck", user=user)
    rows = lanes.list_equipment(lane=lane)
    assert [(e.kind, e.label, e.status, e.note) for e in rows] == [
        ("xray", "X1", "fault", "belt stuck")
    ]
    assert AuditEntry.objects.filter(action="screening.equipment_set").count() == 2
    with pytest.raises(DomainError) as exc:
        lanes.set_equipment(lane, kind="laser", label="X", status="ok")
    assert exc.value.code == "screening.unknown_equipment_kind"


def test_resolve_conflict(fixed, make_user) -> None:  # type: ignore[no-untyped-def]
    lane = lane_of()
    row = conflict(lane, at(-5))
    lead = make_user(Role.CHECKPOINT_LEADER)
    assert [c.pk for c in lanes.unresolved_conflicts(lane.checkpoint)] == [row.pk]
    lanes.resolve_conflict(row.pk, "second passage was a colleague", user=lead)
    assert lanes.unresolved_conflicts(lane.checkpoint) == []
    with pytest.raises(DomainError) as exc:
        lanes.resolve_conflict(row.pk, "again", user=lead)
    assert exc.value.code == "screening.already_resolved"
    assert AuditEntry.objects.filter(action="screening.conflict_resolved").count() == 1


# --- the API ------------------------------------------------------------------------------


def _post(client: Client, path: str, body: Any) -> Any:
    return client.post(f"{BASE}{path}", body, content_type="application/json")


def test_operator_cannot_open_or_close_lanes(client_for) -> None:  # type: ignore[no-untyped-def]
    r = _post(client_for(Role.CHECKPOINT_OPERATOR), "/lanes/wicc-n/l1/state", {"open": False})
    assert r.status_code == 403
    assert code_of(r) == "auth.forbidden"
    assert not LaneState.objects.exists()


def test_leader_closes_a_lane_over_the_api(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    r = _post(client_for(Role.CHECKPOINT_LEADER), "/lanes/wicc-n/l1/state", {"open": False})
    assert r.status_code == 200, r.content
    assert r.json()["is_open"] is False
    assert AuditEntry.objects.filter(action="screening.lane_closed").exists()


def test_leader_out_of_scope_is_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    lead = make_user(Role.CHECKPOINT_LEADER, checkpoint_codes=["wicc-s"])
    c = Client()
    c.force_login(lead)
    r = _post(c, "/lanes/wicc-n/l1/state", {"open": False})
    assert (r.status_code, code_of(r)) == (403, "screening.out_of_scope")
    assert _post(c, "/lanes/wicc-s/l1/state", {"open": False}).status_code == 200


@pytest.mark.parametrize("role", [Role.POLICE_LIAISON, Role.PLANNER, Role.COMMANDER])
def test_viewers_cannot_post(client_for, role) -> None:  # type: ignore[no-untyped-def]
    c = client_for(role)
    assert _post(c, "/lanes/wicc-n/l1/queue", {"length": 3}).status_code == 403
    assert _post(c, "/lanes/wicc-n/l1/state", {"open": True}).status_code == 403
    r = c.put(
        f"{BASE}/lanes/wicc-n/l1/equipment",
        {"kind": "xray", "label": "X1", "status": "fault"},
        content_type="application/json",
    )
    assert r.status_code == 403
    assert c.get(f"{BASE}/checkpoints/wicc-n/summary").status_code == 200


def test_operator_reports_queue_and_equipment(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    c = client_for(Role.CHECKPOINT_OPERATOR)
    r = _post(c, "/lanes/wicc-n/l1/queue", {"length": 12})
    assert r.status_code == 201, r.content
    assert (r.json()["length"], r.json()["source"]) == (12, "manual")
    r = c.put(
        f"{BASE}/lanes/wicc-n/l1/equipment",
        {"kind": "wtmd", "label": "门1", "status": "maintenance", "note": "calibration"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "maintenance"
    listed = c.get(f"{BASE}/lanes/wicc-n/l1/equipment").json()
    assert [(e["kind"], e["label"]) for e in listed] == [("wtmd", "门1")]


def test_arrivals_from_the_lanes_own_device(fixed) -> None:  # type: ignore[no-untyped-def]
    own = device_client("GS-wicc-n-l1")
    body = {"counts": [{"minute": at(-1).isoformat(), "count": 7}]}
    r = _post(own, "/lanes/wicc-n/l1/arrivals", body)
    assert r.status_code == 200, r.content
    assert (r.json()["minutes"], r.json()["total"]) == (1, 7)
    assert r.json()["queue"]["source"] == "counter"
    row = ArrivalCount.objects.get()
    assert row.device is not None
    assert row.device.external_id == "GS-wicc-n-l1"


def test_a_resent_device_message_is_not_applied_again(fixed) -> None:  # type: ignore[no-untyped-def]
    own = device_client("GS-wicc-n-l1")
    first = {"counts": [{"minute": at(-1).isoformat(), "count": 7}], "message_id": "m-1"}
    newer = {"counts": [{"minute": at(-1).isoformat(), "count": 9}], "message_id": "m-2"}
    assert _post(own, "/lanes/wicc-n/l1/arrivals", first).status_code == 200
    assert _post(own, "/lanes/wicc-n/l1/arrivals", newer).status_code == 200
    replay = _post(own, "/lanes/wicc-n/l1/arrivals", first)
    assert replay.status_code == 200
    assert replay.json()["total"] == 7
    assert ArrivalCount.objects.get().count == 9


def test_a_device_of_another_lane_is_refused(fixed) -> None:  # type: ignore[no-untyped-def]
    other = device_client("GS-wicc-n-l2")
    body = {"counts": [{"minute": at(-1).isoformat(), "count": 7}]}
    r = _post(other, "/lanes/wicc-n/l1/arrivals", body)
    assert (r.status_code, code_of(r)) == (403, "auth.device_mismatch")
    assert not ArrivalCount.objects.exists()


def test_a_user_cannot_use_the_device_route_but_has_the_manual_one(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    c = client_for(Role.CHECKPOINT_OPERATOR)
    body = {"counts": [{"minute": at(-1).isoformat(), "count": 3}]}
    assert _post(c, "/lanes/wicc-n/l1/arrivals", body).status_code == 401
    r = _post(c, "/lanes/wicc-n/l1/arrivals/manual", body)
    assert r.status_code == 200, r.content
    assert ArrivalCount.objects.get().operator is not None


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("post", "/lanes/wicc-n/nope/queue", {"length": 1}, 404, "screening.unknown_lane"),
        ("post", "/lanes/nope/l1/queue", {"length": 1}, 404, "sites.unknown_checkpoint"),
        ("post", "/lanes/wicc-n/l1/queue", {"length": -1}, 422, "request.invalid"),
        ("post", "/lanes/wicc-n/l1/queue", {"length": 10**6}, 422, "request.invalid"),
        (
            "post",
            "/lanes/wicc-n/l1/arrivals/manual",
            {"counts": [{"minute": "2026-11-09T01:59:00Z", "count": -4}]},
            422,
            "request.invalid",
        ),
        (
            "post",
            "/lanes/wicc-n/l1/arrivals/manual",
            {"counts": [{"minute": "2026-11-09T05:00:00Z", "count": 4}]},
            422,
            "screening.bad_minute",
        ),
        ("post", "/lanes/wicc-n/l1/arrivals/manual", {"counts": []}, 422, "request.invalid"),
        ("post", "/lanes/wicc-n/l1/state", {"open": "perhaps"}, 422, "request.invalid"),
        (
            "put",
            "/lanes/wicc-n/l1/equipment",
            {"kind": "xray", "label": "X1", "status": "broken"},
            422,
            "request.invalid",
        ),
        ("get", "/statistics?day=2026-13-01", None, 422, "screening.bad_day"),
        ("get", "/statistics?day=09/11/2026", None, 422, "screening.bad_day"),
        ("get", "/statistics?checkpoint=nope", None, 404, "sites.unknown_checkpoint"),
        ("get", "/checkpoints/nope/summary", None, 404, "sites.unknown_checkpoint"),
    ],
)
def test_bad_input_gets_a_coded_error(client_for, fixed, method, path, body, status, code) -> None:  # type: ignore[no-untyped-def]
    c = client_for(Role.CHECKPOINT_LEADER)
    if method == "get":
        r = c.get(f"{BASE}{path}")
    else:
        r = getattr(c, method)(f"{BASE}{path}", body, content_type="application/json")
    assert r.status_code == status, r.content
    assert code_of(r) == code
    if status == 422:
        problems = r.json()["error"].get("problems") or []
        assert problems
        assert all(p["field"] for p in problems)


def test_negative_count_names_the_field(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    body = {"counts": [{"minute": at(-1).isoformat(), "count": -4}]}
    r = _post(client_for(Role.CHECKPOINT_OPERATOR), "/lanes/wicc-n/l1/arrivals/manual", body)
    assert r.status_code == 422
    assert any("count" in p["field"] for p in r.json()["error"]["problems"])


def test_summary_over_the_api(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    l1 = lane_of()
    lanes.set_lane_open(lane_of(code="l2"), False)
    passage(l1, at(-3))
    passage(l1, at(-2), status="deny", reason="revoked")
    lanes.set_equipment(l1, kind="xray", label="X1", status="fault")
    conflict(l1, at(-30))
    device = Device.objects.get(external_id="GS-wicc-n-l1")
    GateState.objects.create(device=device, mode="offline", pending=4, clock_skew_s=-75.0)
    r = client_for(Role.POLICE_LIAISON).get(f"{BASE}/checkpoints/wicc-n/summary")
    assert r.status_code == 200, r.content
    body = r.json()
    by_code = {ln["code"]: ln for ln in body["lanes"]}
    assert by_code["l1"]["is_open"] is True
    assert by_code["l2"]["is_open"] is False
    assert by_code["l2"]["queue"]["source"] == "none"
    assert len(by_code["l1"]["throughput"]) == 15
    assert by_code["l1"]["people_15m"] == 1
    assert by_code["l1"]["faults"] == [
        {"kind": "xray", "label": "X1", "status": "fault", "note": ""}
    ]
    assert [(d["reason"], d["text_en"], d["text_zh"]) for d in body["denials"]] == [
        ("revoked", "Credential revoked", "证件已注销")
    ]
    assert len(body["conflicts"]) == 1
    assert body["gates"][0]["skew_alert"] is True
    assert body["gates"][0]["pending"] == 4


# --- statistics ---------------------------------------------------------------------------


def test_statistics_per_checkpoint_and_day(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    l1 = lane_of()
    cp = l1.checkpoint
    passage(l1, at(1))
    passage(l1, at(2))
    passage(l1, at(3), status="deny", reason="revoked")
    passage(l1, at(4), status="deny", reason="revoked")
    passage(l1, at(5), status="deny", reason="zone_denied")
    passage(l1, at(6), status="deny", reason="zone_denied", annulled=True)
    screening(l1, at(1))
    screening(l1, at(2), public=False)  # a holder's handheld check: counted by the passage
    screening(l1, at(2), "bag")
    screening(l1, at(3), "bag")
    screening(lane_of("wicc-s"), at(3), "vehicle")
    records.record_seizure(checkpoint=cp, lane=l1, item_code="lighter", quantity=2)
    records.record_seizure(checkpoint=cp, lane=l1, item_code="lighter")
    records.record_seizure(checkpoint=cp, lane=l1, item_code="folding_knife")
    passage(l1, at(-24 * 60))  # the day before: not counted
    r = client_for(Role.PLANNER).get(f"{BASE}/statistics?day=2026-11-09&checkpoint=wicc-n")
    assert r.status_code == 200, r.content
    (row,) = r.json()
    # People screened: the two entries allowed and the one member of the public.
    assert (row["people"], row["bags"], row["vehicles"]) == (3, 2, 0)
    assert (row["passages_allowed"], row["passages_denied"]) == (2, 3)
    assert [(d["reason"], d["count"]) for d in row["denials"]] == [
        ("revoked", 2),
        ("zone_denied", 1),
    ]
    assert row["denials"][1]["text_zh"] == "无权进入该区域"
    assert row["seizures"] == 3
    assert row["seizures_by_class"] == {"prohibited": 1, "restricted": 2}
    items = {i["code"]: (i["count"], i["quantity"]) for i in row["seizures_by_item"]}
    assert items == {"lighter": (2, 3), "folding_knife": (1, 1)}
    groups = {g["code"]: g["count"] for g in row["seizures_by_group"]}
    assert groups == {"lighters": 2, "knives": 1}
    everyone = stats.statistics(cp.event, T0.date())
    assert len(everyone) == Checkpoint.objects.filter(event=cp.event).count()
    south = next(x for x in everyone if x["checkpoint"] == "wicc-s")
    assert south["vehicles"] == 1


def test_parse_day() -> None:
    assert stats.parse_day("2026-11-09").isoformat() == "2026-11-09"
    for bad in ("2026-1-9", "tomorrow", "2026-02-30"):
        with pytest.raises(DomainError) as exc:
            stats.parse_day(bad)
        assert exc.value.code == "screening.bad_day"
