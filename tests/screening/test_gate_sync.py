"""Offline gate sync through the API: stored once, rejections, conflicts, gate state, roles."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from anbao.accounts import services as accounts
from anbao.accreditation import keystore
from anbao.core.models import AuditEntry
from anbao.screening.models import (
    GateState,
    OfflineConflict,
    Passage,
    Presence,
    ScreeningRecord,
    Seizure,
)
from anbao.sites.models import Checkpoint
from tests.screening.test_scan import EVENT_TIME, acc_of, device_client, issued

SYNC = "/api/screening/gate/sync"
SCAN = "/api/screening/scan"
CONFLICTS = "/api/screening/gate/conflicts"
STATES = "/api/screening/gate/states"

_n = itertools.count()


@pytest.fixture
def gate(at_event) -> Client:  # type: ignore[no-untyped-def]
    keystore.ensure_keys()
    return device_client("GS-wicc-n-l1")


def passage(seq: int, qr: str = "", *, cid: str = "", **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": seq,
        "kind": "passage",
        "nonce": f"off-{next(_n)}",
        "at": (EVENT_TIME - timedelta(minutes=30)).isoformat(),
        "direction": "entry",
        "qr_text": qr,
        "cid": cid,
        "status": "allow",
        "reason": "ok",
        "rule": "",
        "bundle_serial": 4,
    }
    out.update(kw)
    return out


def screening(seq: int, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": seq,
        "kind": "screening",
        "nonce": f"off-{next(_n)}",
        "at": (EVENT_TIME - timedelta(minutes=29)).isoformat(),
        "subject": "bag",
        "method": "xray",
        "outcome": "item_found",
        "seizures": [{"item": "lighter", "quantity": 1, "disposition": "deposited"}],
    }
    out.update(kw)
    return out


def upload(client: Client, entries: list[Any], *, device: str = "GS-wicc-n-l1", **kw: Any) -> Any:
    body: dict[str, Any] = {
        "device": device,
        "device_time": EVENT_TIME.isoformat(),
        "mode": "offline",
        "bundle_serial": 4,
        "pending": 0,
        "entries": entries,
    }
    body.update(kw)
    return client.post(SYNC, body, content_type="application/json")


def synced(client: Client, entries: list[Any], **kw: Any) -> dict[str, Any]:
    response = upload(client, entries, **kw)
    assert response.status_code == 200, response.content
    return response.json()


def by_seq(out: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {r["seq"]: r for r in out["results"]}


def online_scan(client: Client, qr: str, *, lane: str = "l1", **kw: Any) -> dict[str, Any]:
    body = {
        "qr_text": qr,
        "checkpoint": "wicc-n",
        "lane": lane,
        "device": f"GS-wicc-n-{lane}",
        "direction": "entry",
        "device_time": EVENT_TIME.isoformat(),
        "nonce": f"on-{next(_n)}",
    }
    body.update(kw)
    response = client.post(SCAN, body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_passages_are_stored_once_as_the_gate_decided(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    stranger = "HC1:not a credential"
    entries = [
        passage(1, cred.qr_text),
        passage(2, stranger, status="deny", reason="malformed"),
    ]
    out = synced(gate, entries)
    results = by_seq(out)
    assert (results[1]["result"], results[2]["result"]) == ("stored", "stored")
    assert out["conflicts"] == 0
    first = Passage.objects.get(pk=results[1]["passage_id"])
    assert first.offline is True
    assert first.cid == cred.cid  # taken from the QR when the gate leaves it out
    assert first.accreditation_id == cred.accreditation_id
    assert (first.status, first.reason, first.direction) == ("allow", "ok", "entry")
    assert first.device_time == EVENT_TIME - timedelta(minutes=30)
    assert first.server_time == EVENT_TIME
    assert first.device is not None
    assert first.device.external_id == "GS-wicc-n-l1"
    assert first.lane.code == "l1"
    denied = Passage.objects.get(pk=results[2]["passage_id"])
    assert (denied.status, denied.cid, denied.accreditation_id) == ("deny", "", None)
    presence = Presence.objects.get(accreditation=acc_of(cred))
    assert presence.passage_id == first.pk
    again = synced(gate, entries)
    assert [r["result"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert [r["passage_id"] for r in again["results"]] == [first.pk, denied.pk]
    assert Passage.objects.count() == 2
    assert Presence.objects.count() == 1


def test_an_online_scan_uploaded_again_is_a_duplicate(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    online = online_scan(gate, cred.qr_text, nonce="same-nonce")
    out = synced(gate, [passage(1, cred.qr_text, nonce="same-nonce")])
    assert by_seq(out)[1] == {"seq": 1, "result": "duplicate", "passage_id": online["passage_id"]}
    assert Passage.objects.count() == 1


def test_bad_entries_are_rejected_without_stopping_the_rest(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    entries = [
        passage(1, cred.qr_text),
        passage(2, cred.qr_text, direction="sideways"),
        passage(3, cred.qr_text, nonce=""),
        passage(4, cred.qr_text, nonce="x" * 101),
        screening(5, seizures=[{"item": "no-such-thing", "quantity": 1}]),
        passage(6, cred.qr_text, at="yesterday"),
        passage(7, cred.qr_text, at="2026-11-09T09:00:00"),  # no offset
        passage(8, cred.qr_text, status="maybe"),
        passage(9, cred.qr_text, cid="ab" * 16),  # not the QR's credential
        screening(10, method="canine"),
        {"kind": "passage"},
        "not an object",
        passage(13, cred.qr_text, direction="exit"),
    ]
    out = synced(gate, entries)
    results = out["results"]
    assert len(results) == len(entries)
    rejected = [(r["seq"], r["code"]) for r in results if r["result"] == "rejected"]
    assert rejected == [
        (2, "screening.bad_direction"),
        (3, "screening.bad_nonce"),
        (4, "screening.bad_nonce"),
        (5, "screening.unknown_item"),
        (6, "screening.bad_time"),
        (7, "screening.bad_time"),
        (8, "screening.bad_status"),
        (9, "screening.cid_mismatch"),
        (10, "screening.method_mismatch"),
        (None, "screening.bad_seq"),
        (None, "screening.bad_entry"),
    ]
    assert all(r["message"] for r in results if r["result"] == "rejected")
    stored = [r for r in results if r["result"] == "stored"]
    assert [r["seq"] for r in stored] == [1, 13]
    assert Passage.objects.count() == 2
    assert not ScreeningRecord.objects.exists()  # the unknown item undid its whole entry
    assert not Seizure.objects.exists()
    assert not Presence.objects.filter(zone__number="1").exists()


def test_screenings_are_recorded_at_gate_time_and_linked_to_their_passage(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    p = passage(1, cred.qr_text)
    s = screening(2, passage_nonce=p["nonce"])
    out = synced(gate, [p, s])
    results = by_seq(out)
    rec = ScreeningRecord.objects.get(pk=results[2]["screening_id"])
    assert rec.passage_id == results[1]["passage_id"]
    assert rec.operator is None
    assert rec.at == EVENT_TIME - timedelta(minutes=29)
    assert (rec.subject, rec.method, rec.outcome, rec.lane.code) == (
        "bag", "xray", "item_found", "l1",
    )  # fmt: skip
    seizure = Seizure.objects.get(screening=rec)
    assert seizure.at == rec.at
    assert seizure.ticket
    assert results[2]["seizures"] == [
        {"id": seizure.pk, "item": "lighter", "ticket": seizure.ticket}
    ]
    again = by_seq(synced(gate, [s]))[2]
    assert again["result"] == "duplicate"
    assert again["screening_id"] == rec.pk
    assert again["seizures"][0]["ticket"] == seizure.ticket
    assert Seizure.objects.count() == 1


def test_double_entry_through_another_lane_is_a_conflict(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    other = device_client("GS-wicc-n-l2")
    online = online_scan(other, cred.qr_text, lane="l2")
    assert online["status"] == "allow"
    out = synced(gate, [passage(1, cred.qr_text)])
    assert out["conflicts"] == 1
    result = by_seq(out)[1]
    assert (result["result"], result["conflict"]) == ("stored", "double_entry")
    conflict = OfflineConflict.objects.get()
    assert conflict.kind == "double_entry"
    assert conflict.cid == cred.cid
    assert conflict.accreditation_id == cred.accreditation_id
    assert conflict.checkpoint.code == "wicc-n"
    assert conflict.first_passage_id == online["passage_id"]
    assert conflict.second_passage_id == result["passage_id"]
    assert conflict.detected_at == EVENT_TIME
    # The online entry came later than the gate's: presence keeps the newer passage.
    assert Presence.objects.get(accreditation=acc_of(cred)).passage_id == online["passage_id"]
    # The same gate re-entering its own holder is no conflict: it knew.
    mine = issued()
    out = synced(gate, [passage(1, mine.qr_text), passage(2, mine.qr_text)])
    assert out["conflicts"] == 0


def test_exit_without_entry_is_a_conflict(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    out = synced(gate, [passage(1, cred.qr_text, direction="exit")])
    assert out["conflicts"] == 1
    conflict = OfflineConflict.objects.get()
    assert conflict.kind == "exit_without_entry"
    # No earlier passage to blame: the exit is its own first passage.
    assert conflict.first_passage_id == conflict.second_passage_id == by_seq(out)[1]["passage_id"]
    entered = issued()
    synced(gate, [passage(1, entered.qr_text), passage(2, entered.qr_text, direction="exit")])
    assert OfflineConflict.objects.count() == 1
    assert not Presence.objects.filter(accreditation=acc_of(entered), zone__number="1").exists()


def test_no_conflicts_when_anti_passback_is_off(gate, client_for) -> None:  # type: ignore[no-untyped-def]
    cp = Checkpoint.objects.get(code="wicc-n")
    lead = client_for("checkpoint_leader")
    r = lead.put(
        f"/api/screening/checkpoints/{cp.pk}/rules",
        {"anti_passback": False, "auto_checkout_hour": 4},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    cred = issued()
    out = synced(gate, [passage(1, cred.qr_text, direction="exit")])
    assert out["conflicts"] == 0
    assert not OfflineConflict.objects.exists()


def test_clock_skew_and_gate_state_are_recorded(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    ahead = EVENT_TIME + timedelta(seconds=90, milliseconds=400)
    out = synced(
        gate,
        [passage(1, cred.qr_text), screening(2, seizures=[])],
        device_time=ahead.isoformat(),
        pending=1200,
        bundle_serial=17,
    )
    assert out["clock_skew_s"] == 90.4
    assert out["server_time"] == EVENT_TIME.isoformat()
    state = GateState.objects.get(device__external_id="GS-wicc-n-l1")
    assert (state.mode, state.bundle_serial, state.pending) == ("offline", 17, 1200)
    assert state.last_sync_at == EVENT_TIME
    assert state.clock_skew_s == 90.4
    assert state.uploaded == 1  # decisions accepted; the screening is not one
    synced(gate, [], mode="online", pending=0)
    state.refresh_from_db()
    assert (state.mode, state.pending, state.uploaded, state.clock_skew_s) == ("online", 0, 1, 0.0)


def test_more_than_500_entries_are_refused_whole(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    response = upload(gate, [passage(i, cred.qr_text) for i in range(501)])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "screening.too_many_entries"
    assert not Passage.objects.exists()
    assert not GateState.objects.filter(last_sync_at__isnull=False).exists()
    assert upload(gate, [passage(1, cred.qr_text)], mode="asleep").status_code == 422


def test_only_the_lane_scanner_itself_may_sync(gate, make_user) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    entries = [passage(1, cred.qr_text)]
    other = upload(gate, entries, device="GS-wicc-n-l2")
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "auth.device_mismatch"
    radar = upload(device_client("RADAR-01"), entries, device="RADAR-01")
    assert radar.status_code == 403
    assert radar.json()["error"]["code"] == "auth.device_mismatch"
    token = accounts.issue_api_token(user=make_user("admin"), name="t")
    as_user = upload(Client(HTTP_AUTHORIZATION=f"Bearer {token}"), entries)
    assert as_user.status_code == 401
    assert upload(Client(), entries).status_code == 401
    assert not Passage.objects.exists()


def test_conflicts_are_listed_and_resolved_by_a_leader(gate, client_for) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    synced(gate, [passage(1, cred.qr_text, direction="exit")])
    conflict = OfflineConflict.objects.get()
    operator = client_for("checkpoint_operator")
    listed = operator.get(CONFLICTS)
    assert listed.status_code == 200, listed.content
    (row,) = listed.json()
    assert (row["id"], row["kind"], row["cid"], row["checkpoint"]) == (
        conflict.pk, "exit_without_entry", cred.cid, "wicc-n",
    )  # fmt: skip
    assert (row["second_lane"], row["resolved_at"]) == ("l1", None)
    assert row["second_at"] == (EVENT_TIME - timedelta(minutes=30)).isoformat()
    url = f"{CONFLICTS}/{conflict.pk}/resolve"
    body = {"resolution": "entered before the gates were installed"}
    refused = operator.post(url, body, content_type="application/json")
    assert refused.status_code == 403
    lead = client_for("checkpoint_leader")
    done = lead.post(url, body, content_type="application/json")
    assert done.status_code == 200, done.content
    assert done.json()["resolution"] == body["resolution"]
    assert done.json()["resolved_by"] == "checkpoint_leader-user"
    conflict.refresh_from_db()
    assert conflict.resolved_at == EVENT_TIME
    assert AuditEntry.objects.filter(
        action="screening.conflict_resolved", object_id=str(conflict.pk)
    ).exists()
    assert operator.get(CONFLICTS).json() == []
    assert len(operator.get(CONFLICTS, {"resolved": True}).json()) == 1
    again = lead.post(url, body, content_type="application/json")
    assert again.status_code == 409
    missing = lead.post(f"{CONFLICTS}/999999/resolve", body, content_type="application/json")
    assert missing.status_code == 404


def test_gate_states_are_listed_for_viewers(gate, client_for) -> None:  # type: ignore[no-untyped-def]
    synced(gate, [], device_time=(EVENT_TIME - timedelta(seconds=2)).isoformat(), pending=7)
    device_token = gate.get(STATES)
    assert device_token.status_code == 403
    assert device_token.json()["error"]["code"] == "auth.device_token_not_allowed"
    viewer = client_for("checkpoint_operator")
    response = viewer.get(STATES, {"event": "wic2026"})
    assert response.status_code == 200, response.content
    rows = {r["device"]: r for r in response.json()}
    mine = rows["GS-wicc-n-l1"]
    assert (mine["checkpoint"], mine["lane"], mine["mode"], mine["pending"]) == (
        "wicc-n", "l1", "offline", 7,
    )  # fmt: skip
    assert mine["synced"] is True
    assert mine["clock_skew_s"] == -2.0
    assert mine["last_sync_at"] == EVENT_TIME.isoformat()
    assert rows["GS-wicc-n-l2"]["synced"] is False
    assert "RADAR-01" not in rows
    assert viewer.get(STATES, {"event": "nope"}).status_code == 404
