"""The offline gate bundle through the API: signing, verification, serials, who is in it."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from anbao.accounts import services as accounts
from anbao.accreditation import issuance, keystore
from anbao.accreditation import services as registry
from anbao.accreditation.credentials.keys import Signer, public_bytes
from anbao.accreditation.credentials.revocation import revocation_hash
from anbao.core import clock
from anbao.core.models import AuditEntry
from anbao.screening import bundle_format
from anbao.screening.bundle_format import BundleError, canonical_json, encode_bundle, verify_bundle
from anbao.screening.models import GateState
from anbao.sites.models import Venue, Zone
from tests.accreditation.factories import image_bytes, the_event
from tests.screening.test_scan import (
    EVENT_TIME,
    acc_of,
    device_client,
    issued,
)

BUNDLE = "/api/screening/gate/bundle"
SCAN = "/api/screening/scan"


@pytest.fixture
def gate(at_event) -> Client:  # type: ignore[no-untyped-def]
    keystore.ensure_keys()
    return device_client("GS-wicc-n-l1")


def fetch(client: Client, **query: Any) -> Any:
    return client.get(BUNDLE, query)


def bundle(client: Client, **query: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fetch and verify a bundle; return the envelope and the verified payload."""
    response = fetch(client, **query)
    assert response.status_code == 200, response.content
    envelope = response.json()
    return envelope, verify_bundle(envelope, keystore.root_public_key(), clock.now())


def people(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["cid"]: p for p in payload["people"]}


def refused(envelope: Any, *, root: bytes | None = None, now: Any = EVENT_TIME) -> str:
    with pytest.raises(BundleError) as exc:
        verify_bundle(envelope, root or keystore.root_public_key(), now)
    return exc.value.code


def test_the_bundle_verifies_under_the_root_and_describes_the_lane(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    envelope, payload = bundle(gate)
    assert envelope["format"] == payload["format"] == "anbao-gate-bundle/1"
    assert envelope["serial"] == payload["serial"] >= 1
    assert envelope["signed_by"] == keystore.signer("gate_bundle").kid.hex()
    assert (payload["event"], payload["checkpoint"], payload["lane"], payload["device"]) == (
        "wic2026", "wicc-n", "l1", "GS-wicc-n-l1",
    )  # fmt: skip
    assert payload["gate"] == {
        "code": "wicc-n", "venue": "wicc", "zone": "1", "event": "wic2026",
        "accepts": ["badge", "day_pass"],
    }  # fmt: skip
    assert (payload["from_zone"], payload["to_zone"]) == (None, "1")
    assert payload["rules"] == {"anti_passback": True, "auto_checkout_hour": 4}
    assert payload["policy"]["id"] == "no-health"
    assert payload["built_at"] == EVENT_TIME.isoformat()
    entry = people(payload)[cred.cid]
    acc = acc_of(cred)
    assert entry["accreditation_id"] == acc.pk
    assert entry["person_id"] == acc.person_id
    assert entry["name"] == acc.person.display_name()
    assert (entry["category"], entry["status"], entry["flag"]) == ("VIP", "issued", "")
    assert entry["inside"] is False
    assert entry["attestations"] == []
    # The payload is canonical JSON, so a gate can rebuild the signed bytes' content exactly.
    raw = gzip.decompress(base64.b64decode(envelope["payload"]))
    assert raw == canonical_json(payload)
    assert GateState.objects.get(device__external_id="GS-wicc-n-l1").bundle_at == EVENT_TIME


def test_tampered_payload_and_signature_are_refused(gate) -> None:  # type: ignore[no-untyped-def]
    issued()
    envelope, payload = bundle(gate)
    # A forger who edits the content and re-compresses it keeps a well-formed payload.
    forged = dict(payload, people=[])
    raw = gzip.compress(canonical_json(forged), mtime=0)
    assert refused(envelope | {"payload": base64.b64encode(raw).decode()}) == "bad_signature"
    signature = bytearray(base64.b64decode(envelope["signature"]))
    signature[-1] ^= 1
    assert refused(envelope | {"signature": base64.b64encode(signature).decode()}) == (
        "bad_signature"
    )
    flipped = bytearray(base64.b64decode(envelope["payload"]))
    flipped[len(flipped) // 2] ^= 1
    code = refused(envelope | {"payload": base64.b64encode(flipped).decode()})
    assert code in ("bad_format", "bad_signature")  # gzip's CRC usually catches it first


def test_unknown_key_wrong_purpose_wrong_root_and_expired_key(gate) -> None:  # type: ignore[no-untyped-def]
    issued()
    envelope, payload = bundle(gate)
    stranger = Signer.generate("gate_bundle")
    assert refused(encode_bundle(payload, stranger)) == "unknown_key"
    badge = keystore.signer("badge")
    raw = base64.b64decode(envelope["payload"])
    by_badge_key = envelope | {
        "signed_by": badge.kid.hex(),
        "signature": base64.b64encode(badge.key.sign(raw)).decode(),
    }
    assert refused(by_badge_key) == "wrong_key_purpose"
    with pytest.raises(ValueError, match="raw"):
        badge.sign_raw(raw)
    with pytest.raises(ValueError, match="gate bundle"):
        encode_bundle(payload, badge)
    other_root = public_bytes(Signer.generate("badge").key)
    assert refused(envelope, root=other_root) == "untrusted_root"
    assert refused(envelope, now=EVENT_TIME + timedelta(days=3650)) == "key_expired"
    # The key's window is checked with the caller's clock, as epoch seconds too.
    assert verify_bundle(envelope, keystore.root_public_key(), EVENT_TIME.timestamp()) == payload


def test_malformed_and_oversized_envelopes_are_refused(gate, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    envelope, _ = bundle(gate)
    assert refused([envelope]) == "bad_format"
    assert refused({k: v for k, v in envelope.items() if k != "signature"}) == "bad_format"
    assert refused(envelope | {"format": "anbao-gate-bundle/2"}) == "bad_format"
    assert refused(envelope | {"serial": envelope["serial"] + 1}) == "bad_format"
    assert refused(envelope | {"signed_by": "zz" * 8}) == "bad_format"
    assert refused(envelope | {"payload": "not base64!"}) == "bad_format"
    not_gzip = base64.b64encode(b"plain text").decode()
    assert refused(envelope | {"payload": not_gzip}) == "bad_format"
    not_json = base64.b64encode(gzip.compress(b"\xff{", mtime=0)).decode()
    assert refused(envelope | {"payload": not_json}) == "bad_format"
    monkeypatch.setattr(bundle_format, "MAX_INFLATED", 1000)
    assert refused(envelope) == "too_large"
    monkeypatch.setattr(bundle_format, "MAX_COMPRESSED", 100)
    monkeypatch.setattr(bundle_format, "_MAX_PAYLOAD_TEXT", 200)
    assert refused(envelope) == "too_large"


def test_since_answers_304_until_something_changes(gate) -> None:  # type: ignore[no-untyped-def]
    issued()
    first, _ = bundle(gate)
    serial = first["serial"]
    assert fetch(gate, since=serial).status_code == 304
    assert fetch(gate, since=serial, photos=0).status_code == 304
    again, _ = bundle(gate, since=serial - 1)
    assert again["serial"] == serial  # nothing changed: same serial, sent in full
    newcomer = issued()
    changed, payload = bundle(gate, since=serial)
    assert changed["serial"] > serial
    assert newcomer.cid in people(payload)
    assert fetch(gate, since=changed["serial"]).status_code == 304
    issuance.revoke_credential(cid=newcomer.cid, reason="lost")
    revoked, _ = bundle(gate, since=changed["serial"])
    assert revoked["serial"] > changed["serial"]
    bad = fetch(gate, photos=2)
    assert bad.status_code == 422


def test_people_are_those_the_checkpoint_admits(gate, at_event) -> None:  # type: ignore[no-untyped-def]
    event = the_event()
    ok = issued()
    elsewhere = list(Zone.objects.filter(event=event).exclude(number="1"))
    no_zone = issued(zones=elsewhere)
    no_venue = issued(venues=list(Venue.objects.filter(event=event).exclude(code="wicc")))
    gone = issued()
    issuance.revoke_credential(cid=gone.cid, reason="lost")
    expired = issued(valid_until=EVENT_TIME - timedelta(hours=1))
    _, payload = bundle(gate)
    listed = people(payload)
    assert ok.cid in listed
    for absent in (no_zone, no_venue, gone, expired):
        assert absent.cid not in listed
    assert revocation_hash(bytes.fromhex(gone.cid)).hex() in payload["revocations"]
    assert payload["revocations"] == sorted(payload["revocations"])
    # The hall's gate leads from zone 1 into zone 2: who lacks zone 1 may still pass it.
    hall = device_client("GS-hall-main-l1")
    _, hall_payload = bundle(hall)
    assert (hall_payload["checkpoint"], hall_payload["from_zone"]) == ("hall-main", "1")
    assert hall_payload["gate"]["zone"] == hall_payload["to_zone"] == "2"
    assert no_zone.cid in people(hall_payload)
    assert no_venue.cid not in people(hall_payload)


def test_status_flag_inside_and_attestations_are_carried(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    suspended = issued()
    registry.transition(acc_of(suspended), to="suspended")
    person = acc_of(cred).person
    registry.record_attestation(
        person=person,
        kind="nat_test",
        value={"result": "negative"},
        observed_at=EVENT_TIME - timedelta(hours=2),
        source="t",
    )
    r = gate.post(
        SCAN,
        {
            "qr_text": cred.qr_text,
            "checkpoint": "wicc-n",
            "lane": "l1",
            "device": "GS-wicc-n-l1",
            "direction": "entry",
            "device_time": EVENT_TIME.isoformat(),
            "nonce": "b1",
        },
        content_type="application/json",
    )
    assert r.json()["status"] == "allow"
    _, payload = bundle(gate)
    entry = people(payload)[cred.cid]
    assert entry["inside"] is True
    assert entry["attestations"] == [
        {
            "kind": "nat_test",
            "value": {"result": "negative"},
            "at": int((EVENT_TIME - timedelta(hours=2)).timestamp()),
            "valid_until": None,
        }
    ]
    assert people(payload)[suspended.cid]["status"] == "suspended"


def test_photos_are_sent_unless_photos_0(gate) -> None:  # type: ignore[no-untyped-def]
    cred = issued()
    bare = issued()
    registry.set_photo(acc_of(cred).person, data=image_bytes())
    _, without = bundle(gate, photos=0)
    assert all("photo" not in p for p in without["people"])
    assert not AuditEntry.objects.filter(action="read:gate_bundle_photos").exists()
    _, with_photos = bundle(gate)
    assert with_photos["serial"] == without["serial"]
    photo = base64.b64decode(people(with_photos)[cred.cid]["photo"])
    assert photo.startswith(b"\xff\xd8")
    assert "photo" not in people(with_photos)[bare.cid]
    assert AuditEntry.objects.filter(action="read:gate_bundle_photos").count() == 1


def test_only_a_lane_scanner_may_fetch_a_bundle(gate, make_user) -> None:  # type: ignore[no-untyped-def]
    assert Client().get(BUNDLE).status_code == 401
    user = make_user("admin")
    token = accounts.issue_api_token(user=user, name="t")
    as_user = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert as_user.get(BUNDLE).status_code == 401
    session = Client()
    session.force_login(user)
    assert session.get(BUNDLE).status_code == 401
    radar = device_client("RADAR-01")
    r = radar.get(BUNDLE)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "auth.device_mismatch"


def test_the_gate_bundle_key_is_created_and_listed(gate) -> None:  # type: ignore[no-untyped-def]
    listed = keystore.loaded_trust_list()
    assert [k.purpose for k in listed.for_purpose("gate_bundle")] == ["gate_bundle"]


def test_the_format_module_is_pure() -> None:
    code = (
        "import sys, anbao.screening.bundle_format; "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_encode_bundle_is_deterministic_and_json_is_canonical() -> None:
    signer = Signer.generate("gate_bundle")
    payload = {"format": "anbao-gate-bundle/1", "serial": 3, "people": [{"name": "王伟"}]}
    assert encode_bundle(payload, signer) == encode_bundle(json.loads(json.dumps(payload)), signer)
    assert canonical_json({"b": 1, "a": "王"}) == '{"a":"王","b":1}'.encode()
    with pytest.raises(ValueError, match="serial"):
        encode_bundle({"serial": -1}, signer)
