"""Credential services against the database: keys, issue, reissue, cancel, lists, health pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from anbao.accreditation import access, issuance, keystore
from anbao.accreditation import services as registry
from anbao.accreditation.credentials.errors import Reason
from anbao.accreditation.credentials.keys import load_trust_list
from anbao.accreditation.credentials.revocation import (
    RevocationSet,
    load_revocation_list,
    revocation_hash,
)
from anbao.accreditation.credentials.verifier import authenticate
from anbao.accreditation.models import (
    Accreditation,
    CredentialKey,
    IssuedCredential,
    KeyStatus,
)
from anbao.core import clock
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from tests.accreditation.factories import make_accreditation

EVENT_TIME = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # 10:00 in Wuzhen, on an event day


@dataclass
class FixedClock:
    """A clock that stands still until moved."""

    current: datetime

    def now(self) -> datetime:
        return self.current


@pytest.fixture
def at_event(db) -> Iterator[FixedClock]:  # type: ignore[no-untyped-def]
    fixed = FixedClock(EVENT_TIME)
    previous = clock.install(fixed)
    keystore._cache.clear()
    yield fixed
    clock.install(previous)


def approved(code: str = "VIP") -> Accreditation:
    acc = make_accreditation(code)
    while acc.status != "approved":
        nxt = "approved" if "approved" in registry.allowed_targets(acc) else "vetted"
        acc = registry.transition(acc, to=nxt)
    return acc


def trust():  # type: ignore[no-untyped-def]
    return load_trust_list(issuance.trust_list(), keystore.root_public_key())


def test_ensure_keys_creates_a_root_and_one_key_per_purpose(at_event) -> None:
    created = keystore.ensure_keys()
    assert {k.purpose for k in created} == {
        "root", "badge", "vehicle", "day_pass", "health_pass", "revocation", "gate_bundle",
    }  # fmt: skip
    assert keystore.ensure_keys() == []
    assert {k.purpose for k in trust().keys.values()} == {
        "badge", "vehicle", "day_pass", "health_pass", "revocation", "gate_bundle",
    }  # fmt: skip


def test_private_keys_are_encrypted_at_rest(at_event) -> None:
    keystore.ensure_keys()
    row = CredentialKey.objects.get(purpose="badge")
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT private_key FROM {CredentialKey._meta.db_table} WHERE id = %s",  # noqa: S608
            [row.pk],
        )
        raw = bytes(cur.fetchone()[0])
    assert len(bytes(row.private_key)) == 32
    assert bytes(row.private_key) not in raw


def test_issue_signs_the_accreditation_and_moves_it_to_issued(at_event) -> None:
    acc = approved()
    cred = issuance.issue_credential(accreditation=acc)
    acc.refresh_from_db()
    assert acc.status == "issued"
    claims = authenticate(cred.qr_text, trust_list=trust(), now=EVENT_TIME)
    assert claims.cid.hex() == cred.cid
    assert claims.category == "VIP"
    assert list(claims.zones) == acc.zone_numbers()
    assert list(claims.venues) == acc.venue_codes()
    assert claims.event == "wic2026"
    assert cred.qr_version <= 13
    assert cred.qr_svg.startswith("<svg")
    assert bytes(cred.qr_png).startswith(b"\x89PNG")
    assert AuditEntry.objects.filter(action="credentials.issued", object_id=str(cred.pk)).exists()


def test_issue_refuses_an_unapproved_accreditation(at_event) -> None:
    acc = make_accreditation("D")
    with pytest.raises(DomainError) as exc:
        issuance.issue_credential(accreditation=acc)
    assert exc.value.code == "credentials.not_approved"


def test_issue_twice_is_refused(at_event) -> None:
    acc = approved()
    issuance.issue_credential(accreditation=acc)
    with pytest.raises(DomainError) as exc:
        issuance.issue_credential(accreditation=acc)
    assert exc.value.code == "credentials.already_issued"


def test_reissue_mints_a_new_id_and_revokes_the_old(at_event) -> None:
    acc = approved()
    old = issuance.issue_credential(accreditation=acc)
    new = issuance.reissue_credential(accreditation=acc, reason="lost")
    old.refresh_from_db()
    assert new.cid != old.cid
    assert old.revoked_at is not None
    assert old.replaced_by == new
    gate = access.check_access(qr_text=old.qr_text, event=acc.event, checkpoint_code="wicc-n")
    assert gate.reason is Reason.REVOKED
    ok = access.check_access(qr_text=new.qr_text, event=acc.event, checkpoint_code="wicc-n")
    assert ok.allowed, ok


def test_cancel_revokes_without_replacement(at_event) -> None:
    acc = approved()
    cred = issuance.issue_credential(accreditation=acc)
    issuance.cancel_credential(accreditation=acc, reason="left the delegation")
    cred.refresh_from_db()
    assert cred.revoked_at is not None
    assert cred.replaced_by is None
    assert issuance.active_credential(acc) is None
    with pytest.raises(DomainError) as exc:
        issuance.cancel_credential(accreditation=acc, reason="again")
    assert exc.value.code == "credentials.no_credential"
    # After a cancel, the office may issue again without a lifecycle step.
    assert issuance.issue_credential(accreditation=acc).cid != cred.cid


def test_revocation_list_full_and_delta(at_event) -> None:
    first, second = approved(), approved()
    a = issuance.issue_credential(accreditation=first)
    b = issuance.issue_credential(accreditation=second)
    issuance.cancel_credential(accreditation=first, reason="test")
    full = load_revocation_list(issuance.revocation_list(None), trust(), now=EVENT_TIME.timestamp())
    gate = RevocationSet()
    assert gate.apply(full)
    assert gate.is_revoked(bytes.fromhex(a.cid))
    assert not gate.is_revoked(bytes.fromhex(b.cid))
    issuance.cancel_credential(accreditation=second, reason="test")
    delta = load_revocation_list(
        issuance.revocation_list(full.version), trust(), now=EVENT_TIME.timestamp()
    )
    assert delta.since == full.version
    assert delta.hashes == {revocation_hash(bytes.fromhex(b.cid))}
    assert gate.apply(delta)
    assert gate.is_revoked(bytes.fromhex(b.cid))
    with pytest.raises(DomainError) as exc:
        issuance.revocation_list(delta.version + 5)
    assert exc.value.code == "credentials.unknown_version"


def test_rotation_keeps_old_credentials_verifying(at_event) -> None:
    acc = approved()
    cred = issuance.issue_credential(accreditation=acc)
    version = keystore.counter(keystore.TRUST_COUNTER)
    new_key = keystore.rotate_key("badge")
    assert new_key.kid != cred.kid
    assert keystore.counter(keystore.TRUST_COUNTER) == version + 1
    assert CredentialKey.objects.get(kid=cred.kid).status == KeyStatus.RETIRED
    assert authenticate(cred.qr_text, trust_list=trust(), now=EVENT_TIME).cid.hex() == cred.cid
    later = issuance.reissue_credential(accreditation=acc, reason="zones changed")
    assert later.kid == new_key.kid
    keystore.revoke_key(cred.kid)
    decision = access.check_access(qr_text=cred.qr_text, event=acc.event, checkpoint_code="wicc-n")
    assert decision.reason is Reason.UNKNOWN_KEY


def test_rotate_unknown_purpose_is_a_domain_error(at_event) -> None:
    with pytest.raises(DomainError) as exc:
        keystore.rotate_key("teleport")
    assert exc.value.code == "credentials.unknown_purpose"


def _record_health(acc: Accreditation, *, code_age_h: float, test_age_h: float) -> None:
    registry.record_attestation(
        person=acc.person,
        kind="health_code",
        value={"colour": "green"},
        observed_at=EVENT_TIME - timedelta(hours=code_age_h),
        source="test",
    )
    sampled = EVENT_TIME - timedelta(hours=test_age_h)
    registry.record_attestation(
        person=acc.person,
        kind="nat_test",
        value={"result": "negative", "sampled_at": sampled.isoformat()},
        observed_at=sampled + timedelta(hours=6),
        source="test",
    )


def test_epidemic_policy_online_uses_attestations_on_record(at_event) -> None:
    acc = approved()
    access.use_preset(event=acc.event, name="epidemic-2020")
    cred = issuance.issue_credential(accreditation=acc)
    refused = access.check_access(qr_text=cred.qr_text, event=acc.event, checkpoint_code="wicc-n")
    assert refused.reason is Reason.HEALTH_REQUIRED
    _record_health(acc, code_age_h=2, test_age_h=30)
    ok = access.check_access(qr_text=cred.qr_text, event=acc.event, checkpoint_code="wicc-n")
    assert ok.allowed, ok


def test_health_pass_binds_current_facts_to_the_badge(at_event) -> None:
    acc = approved()
    access.use_preset(event=acc.event, name="epidemic-2020")
    badge = issuance.issue_credential(accreditation=acc)
    _record_health(acc, code_age_h=1, test_age_h=40)
    hp = issuance.issue_health_pass(accreditation=acc, hours=8)
    claims = authenticate(hp.qr_text, trust_list=trust(), now=EVENT_TIME)
    assert claims.subject.hex() == badge.cid
    assert claims.colour.name == "GREEN"
    assert claims.exp - claims.nbf == 8 * 3600
    # Offline at the gate: the badge plus the phone's health pass, no attestations on hand.
    from anbao.accreditation.credentials.verifier import verify

    gate = access.gate_checkpoint(
        acc.event.checkpoints.select_related("venue", "event", "to_zone").get(code="wicc-n")
    )
    common = {
        "trust_list": trust(),
        "revocations": access.revoked_hashes(),
        "policy": access.active_policy(acc.event),
        "checkpoint": gate,
        "now": EVENT_TIME,
    }
    assert verify(badge.qr_text, health_pass=hp.qr_text, **common).allowed
    assert verify(badge.qr_text, **common).reason is Reason.HEALTH_REQUIRED


def test_health_pass_needs_facts_and_a_badge(at_event) -> None:
    acc = approved()
    with pytest.raises(DomainError) as exc:
        issuance.issue_health_pass(accreditation=acc)
    assert exc.value.code == "credentials.no_credential"
    issuance.issue_credential(accreditation=acc)
    with pytest.raises(DomainError) as exc:
        issuance.issue_health_pass(accreditation=acc)
    assert exc.value.code == "credentials.no_health_facts"


def test_invalid_policy_is_refused_with_its_path(at_event) -> None:
    acc = approved()
    with pytest.raises(DomainError) as exc:
        access.set_policy(event=acc.event, document={"id": "x", "title": {}, "rules": []})
    assert exc.value.code == "credentials.invalid_policy"
    assert exc.value.problems[0].field == "$.title"


def test_vehicle_permit_and_day_pass_credentials(at_event) -> None:
    from anbao.accreditation import services_passes
    from anbao.sites.models import Zone

    acc = approved("VIP")
    zones = list(Zone.objects.filter(event=acc.event, number__in=["1", "2"]))
    permit = services_passes.issue_vehicle_permit(
        event=acc.event,
        plate="浙F12345",
        vehicle_type="car",
        valid_from=EVENT_TIME - timedelta(days=1),
        valid_until=EVENT_TIME + timedelta(days=2),
        zones=zones,
    )
    cred = issuance.issue_vehicle_credential(permit=permit)
    claims = authenticate(cred.qr_text, trust_list=trust(), now=EVENT_TIME)
    assert claims.purpose.label == "vehicle"
    assert claims.plate == permit.plate
    assert set(claims.zones) == {"1", "2"}
    again = issuance.issue_vehicle_credential(permit=permit, reason="zones changed")
    cred.refresh_from_db()
    assert cred.replaced_by == again
    assert IssuedCredential.objects.filter(vehicle_permit=permit, revoked_at=None).count() == 1


def test_day_pass_credential_is_valid_on_its_day(at_event) -> None:
    from anbao.accreditation import services_passes
    from anbao.accreditation.models import Organisation
    from anbao.sites.models import Zone

    acc = approved()
    host = Organisation.objects.create(name="Host org")
    services_passes.set_pass_quota(event=acc.event, organisation=host, kind="day", per_day=5)
    tp = services_passes.issue_temporary_pass(
        event=acc.event,
        host=host,
        kind="day",
        holder_name="访客",
        day=datetime(2026, 11, 9, tzinfo=UTC).date(),
        zones=list(Zone.objects.filter(event=acc.event, number="1")),
    )
    cred = issuance.issue_day_pass_credential(temporary_pass=tp)
    claims = authenticate(cred.qr_text, trust_list=trust(), now=EVENT_TIME)
    assert claims.purpose.label == "day_pass"
    assert claims.exp - claims.nbf == 86400
    assert claims.nbf <= EVENT_TIME.timestamp() < claims.exp
    assert "wicc" in claims.venues
    with pytest.raises(DomainError) as exc:
        issuance.issue_day_pass_credential(temporary_pass=tp)
    assert exc.value.code == "credentials.already_issued"


def test_handlers_reissue_on_change_and_revoke_on_suspension(at_event) -> None:
    from anbao.accreditation import credential_handlers, events

    acc = approved()
    first = issuance.issue_credential(accreditation=acc)
    credential_handlers.on_accreditation_changed(events.AccreditationChanged(acc.pk, ("zones",)))
    second = issuance.active_credential(acc)
    assert second is not None
    assert second.cid != first.cid
    registry.transition(acc, to="suspended")
    credential_handlers.on_accreditation_transitioned(
        events.AccreditationTransitioned(acc.pk, acc.person_id, acc.event_id, "issued", "suspended")
    )
    assert issuance.active_credential(acc) is None
    registry.transition(acc, to="issued")
    credential_handlers.on_accreditation_transitioned(
        events.AccreditationTransitioned(acc.pk, acc.person_id, acc.event_id, "suspended", "issued")
    )
    third = issuance.active_credential(acc)
    assert third is not None
    assert third.cid not in (first.cid, second.cid)


def test_rendered_qr_decodes_and_matches_the_reference_version() -> None:
    import io

    import segno
    import zxingcpp
    from PIL import Image

    from anbao.accreditation.issuance import render_qr

    text = "AB1:" + "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEMWK4ZI6U9.N*VJ-IU" * 4
    image = render_qr(text)
    png = Image.open(io.BytesIO(image.png))
    big = png.convert("L").resize((png.width * 6, png.height * 6), Image.NEAREST)
    found = zxingcpp.read_barcodes(big)
    assert [r.text for r in found] == [text]
    assert image.version == segno.make(text, error="q", boost_error=False).version
    assert image.svg.startswith("<svg")
    assert 'fill="#000"' in image.svg


@pytest.mark.django_db
def test_bulk_issue_matches_single_issue_rules() -> None:
    from anbao.accreditation.bulk import bulk_advance
    from anbao.accreditation.issuance import active_credential, issue_credentials
    from anbao.accreditation.models import Accreditation
    from tests.accreditation.factories import make_accreditation

    ready = [make_accreditation("VIP") for _ in range(3)]
    waiting = make_accreditation("D")  # still applied: must be left alone
    bulk_advance([a.pk for a in ready], to="approved")
    cids = issue_credentials(accreditation_ids=[a.pk for a in ready] + [waiting.pk])
    assert len(cids) == 3
    for acc in ready:
        acc.refresh_from_db()
        assert acc.status == "issued"
        cred = active_credential(acc)
        assert cred is not None
        assert cred.qr_text.startswith("AB1:")
    assert Accreditation.objects.get(pk=waiting.pk).status == "applied"
    # A second run issues nothing twice.
    assert issue_credentials(accreditation_ids=[a.pk for a in ready]) == []
