"""Keys, certificates, the trust list, rotation and the signed revocation lists."""

from __future__ import annotations

import pytest

from anbao.accreditation.credentials import cose
from anbao.accreditation.credentials.errors import CredentialError, Reason
from anbao.accreditation.credentials.keys import (
    Signer,
    kid_of,
    load_trust_list,
    make_trust_list,
    public_bytes,
    read_certificate,
)
from anbao.accreditation.credentials.revocation import (
    RevocationSet,
    load_revocation_list,
    make_revocation_list,
    revocation_hash,
)
from anbao.accreditation.credentials.verifier import authenticate
from tests.accreditation.corpus.scheme import (
    DAY,
    NOW,
    badge_claims,
    make_scheme,
    seeded_key,
    seeded_signer,
)

SCHEME = make_scheme()


def test_kid_is_eight_bytes_of_sha256_of_the_public_key() -> None:
    signer = SCHEME.signers["badge"]
    assert len(signer.kid) == 8
    assert signer.kid == kid_of(signer.public_key)


def test_trust_list_lists_one_key_per_purpose() -> None:
    assert {k.purpose for k in SCHEME.trust.keys.values()} == {
        "badge", "vehicle", "day_pass", "health_pass", "revocation", "gate_bundle",
    }  # fmt: skip
    assert SCHEME.trust.version == 1


def test_trust_list_refused_under_another_root() -> None:
    with pytest.raises(CredentialError) as exc:
        load_trust_list(SCHEME.trust_bytes, public_bytes(seeded_key("other root")))
    assert exc.value.reason is Reason.UNKNOWN_KEY


def test_tampered_trust_list_refused() -> None:
    data = bytearray(SCHEME.trust_bytes)
    data[-70] ^= 0x01  # inside the root's signature
    with pytest.raises(CredentialError) as exc:
        load_trust_list(bytes(data), SCHEME.root_public)
    assert exc.value.reason in (Reason.INVALID_SIGNATURE, Reason.MALFORMED)


def test_certificate_signed_by_a_key_other_than_the_root_is_refused() -> None:
    rogue = seeded_signer("badge", "rogue")
    cert = rogue.certificate(seeded_key("rogue root"), not_before=NOW, not_after=NOW + DAY)
    with pytest.raises(CredentialError) as exc:
        read_certificate(cert, SCHEME.root_public)
    assert exc.value.reason is Reason.UNKNOWN_KEY


def test_trust_list_with_a_foreign_certificate_is_refused() -> None:
    rogue = seeded_signer("badge", "rogue")
    cert = rogue.certificate(seeded_key("rogue root"), not_before=NOW, not_after=NOW + DAY)
    data = make_trust_list(SCHEME.root, version=2, issued_at=NOW, certificates=[cert])
    with pytest.raises(CredentialError):
        load_trust_list(data, SCHEME.root_public)


def test_rotation_keeps_the_old_key_verifying_until_it_expires() -> None:
    root = SCHEME.root
    old, new = seeded_signer("badge", "2025"), seeded_signer("badge", "2026")
    certs = [
        old.certificate(root, not_before=NOW - 10 * DAY, not_after=NOW + DAY),
        new.certificate(root, not_before=NOW - DAY, not_after=NOW + 30 * DAY),
    ]
    trust = load_trust_list(
        make_trust_list(root, version=2, issued_at=NOW, certificates=certs), SCHEME.root_public
    )
    old_text = old.sign(badge_claims(iat=NOW - 2 * DAY))
    new_text = new.sign(badge_claims(1))
    assert authenticate(old_text, trust_list=trust, now=NOW).cid == badge_claims().cid
    assert authenticate(new_text, trust_list=trust, now=NOW).cid == badge_claims(1).cid
    with pytest.raises(CredentialError) as exc:
        authenticate(old_text, trust_list=trust, now=NOW + 2 * DAY)
    assert exc.value.reason is Reason.KEY_EXPIRED


def test_credential_signed_before_its_key_was_valid_is_refused() -> None:
    root = SCHEME.root
    key = seeded_signer("badge", "future")
    cert = key.certificate(root, not_before=NOW, not_after=NOW + DAY)
    trust = load_trust_list(
        make_trust_list(root, version=3, issued_at=NOW, certificates=[cert]), SCHEME.root_public
    )
    with pytest.raises(CredentialError) as exc:
        authenticate(key.sign(badge_claims(iat=NOW - DAY)), trust_list=trust, now=NOW + 60)
    assert exc.value.reason is Reason.KEY_EXPIRED


def test_signer_refuses_claims_of_another_purpose() -> None:
    with pytest.raises(ValueError, match="cannot sign"):
        SCHEME.signers["vehicle"].sign(badge_claims())


def test_certificate_needs_a_known_purpose_and_a_window() -> None:
    signer = Signer.generate("badge")
    with pytest.raises(ValueError, match="purpose"):
        Signer(signer.kid, "teleport", signer.key).certificate(
            SCHEME.root, not_before=NOW, not_after=NOW + 1
        )
    with pytest.raises(ValueError, match="window"):
        signer.certificate(SCHEME.root, not_before=NOW, not_after=NOW)


# --- revocation --------------------------------------------------------------------------


def _hashes(*ns: int) -> list[bytes]:
    return [revocation_hash(badge_claims(n).cid) for n in ns]


def test_revocation_list_round_trips_and_applies_deltas() -> None:
    signer = SCHEME.signers["revocation"]
    full = make_revocation_list(signer, version=3, issued_at=NOW, hashes=_hashes(1, 2))
    delta = make_revocation_list(signer, version=5, issued_at=NOW, hashes=_hashes(3), since=3)
    gate = RevocationSet()
    assert gate.apply(load_revocation_list(full, SCHEME.trust, now=NOW))
    assert gate.version == 3
    assert gate.apply(load_revocation_list(delta, SCHEME.trust, now=NOW))
    assert gate.version == 5
    assert all(h in gate for h in _hashes(1, 2, 3))
    assert gate.is_revoked(badge_claims(3).cid)
    assert not gate.is_revoked(badge_claims(4).cid)


def test_delta_with_a_gap_is_not_applied() -> None:
    signer = SCHEME.signers["revocation"]
    delta = make_revocation_list(signer, version=9, issued_at=NOW, hashes=_hashes(7), since=8)
    gate = RevocationSet(version=2)
    assert not gate.apply(load_revocation_list(delta, SCHEME.trust, now=NOW))
    assert gate.version == 2
    assert not gate.is_revoked(badge_claims(7).cid)


def test_revocation_list_signed_by_a_badge_key_is_refused() -> None:
    badge = SCHEME.signers["badge"]
    body = cose.sign1(b"\xa0", kid=badge.kid, key=badge.key)
    with pytest.raises(CredentialError) as exc:
        load_revocation_list(body, SCHEME.trust, now=NOW)
    assert exc.value.reason is Reason.WRONG_KEY_PURPOSE
    with pytest.raises(ValueError, match="revocation key"):
        make_revocation_list(badge, version=1, issued_at=NOW, hashes=[])


def test_revocation_list_from_an_unknown_key_or_tampered_is_refused() -> None:
    stranger = seeded_signer("revocation", "stranger")
    data = make_revocation_list(stranger, version=1, issued_at=NOW, hashes=_hashes(1))
    with pytest.raises(CredentialError) as exc:
        load_revocation_list(data, SCHEME.trust, now=NOW)
    assert exc.value.reason is Reason.UNKNOWN_KEY
    good = bytearray(make_revocation_list(SCHEME.signers["revocation"], version=1,
                                          issued_at=NOW, hashes=_hashes(1)))  # fmt: skip
    good[-1] ^= 0x80
    with pytest.raises(CredentialError) as exc:
        load_revocation_list(bytes(good), SCHEME.trust, now=NOW)
    assert exc.value.reason is Reason.INVALID_SIGNATURE


def test_the_verified_cache_still_asks_the_trust_list_and_the_key_window() -> None:
    root = SCHEME.root
    old, new = seeded_signer("badge", "2025"), seeded_signer("badge", "2026")
    both = load_trust_list(
        make_trust_list(
            root,
            version=4,
            issued_at=NOW,
            certificates=[
                old.certificate(root, not_before=NOW - 10 * DAY, not_after=NOW + DAY),
                new.certificate(root, not_before=NOW - DAY, not_after=NOW + 30 * DAY),
            ],
        ),
        SCHEME.root_public,
    )
    only_new = load_trust_list(
        make_trust_list(
            root,
            version=5,
            issued_at=NOW,
            certificates=[new.certificate(root, not_before=NOW - DAY, not_after=NOW + 30 * DAY)],
        ),
        SCHEME.root_public,
    )
    text = old.sign(badge_claims(iat=NOW - 2 * DAY))
    cache: dict = {}
    first = authenticate(text, trust_list=both, now=NOW, cache=cache)
    assert text in cache
    assert authenticate(text, trust_list=both, now=NOW, cache=cache) == first
    with pytest.raises(CredentialError) as exc:  # the key left the trust list
        authenticate(text, trust_list=only_new, now=NOW, cache=cache)
    assert exc.value.reason is Reason.UNKNOWN_KEY
    with pytest.raises(CredentialError) as exc:  # the key's window closed
        authenticate(text, trust_list=both, now=NOW + 2 * DAY, cache=cache)
    assert exc.value.reason is Reason.KEY_EXPIRED
    tampered = text[:-3] + ("A" if text[-3] != "A" else "B") + text[-2:]
    with pytest.raises(CredentialError):  # another text is checked in full
        authenticate(tampered, trust_list=both, now=NOW, cache=cache)
    assert tampered not in cache
