"""The offline decision: every reason code the gate can give from its bundle alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from anbao.accreditation.credentials import codec
from anbao.accreditation.credentials.codec import Purpose
from anbao.accreditation.credentials.keys import Signer
from anbao.accreditation.credentials.policy import Attestation, preset_document
from anbao.gate import engine
from anbao.gate.bundle import Bundle
from anbao.screening.reasons import REASON_TEXT
from tests.gate.factory import DAY, NOW, Keys, claims, envelope, payload, person

AT = datetime.fromtimestamp(NOW, UTC)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def bundle_of(keys: Keys, people: list[dict[str, Any]], **kw: Any) -> Bundle:
    return Bundle.from_envelope(envelope(keys, payload(keys, people, **kw)), keys.root_public, AT)


def decide(
    b: Bundle, qr: str, direction: str = "entry", inside: set[str] | None = None
) -> engine.Outcome:
    return engine.decide(b, set() if inside is None else inside, qr, direction, AT)


def test_a_valid_badge_is_allowed_with_name_texts_and_moves_inside(keys) -> None:  # type: ignore[no-untyped-def]
    c = claims()
    b = bundle_of(keys, [person(c, 1, photo="/9j/AAAA")])
    inside: set[str] = set()
    out = decide(b, keys.badge.sign(c), inside=inside)
    assert (out.status, out.reason) == ("allow", "ok")
    assert out.name == "王伟1"
    assert out.category == "VIP"
    assert out.accreditation_id == 1
    assert out.photo == "data:image/jpeg;base64,/9j/AAAA"
    assert (out.text_zh, out.text_en) == REASON_TEXT["ok"]
    assert inside == {"a1"}


def test_authenticity_refusals(keys) -> None:  # type: ignore[no-untyped-def]
    c = claims()
    b = bundle_of(keys, [person(c, 1)])
    raw = bytearray(codec.unwrap(keys.badge.sign(c)))
    raw[-1] ^= 1
    assert decide(b, codec.wrap(bytes(raw))).reason == "invalid_signature"
    assert decide(b, Signer.generate("badge").sign(c)).reason == "unknown_key"
    wrong = codec.sign_claims(c, kid=keys.vehicle.kid, key=keys.vehicle.key)
    out = decide(b, wrong)
    assert (out.status, out.reason) == ("deny", "wrong_key_purpose")
    assert out.name == ""
    assert decide(b, "HC1:not a credential").status == "deny"


def test_unknown_credential_signed_by_our_key(keys) -> None:  # type: ignore[no-untyped-def]
    b = bundle_of(keys, [person(claims(), 1)])
    out = decide(b, keys.badge.sign(claims()), inside=set())
    assert (out.status, out.reason) == ("deny", "unknown_credential")
    # Leaving with a badge we do not know is still refused: it is about authenticity.
    assert decide(b, keys.badge.sign(claims()), "exit").status == "deny"


def test_a_credential_the_bundle_leaves_out_keeps_the_verifiers_reason(keys) -> None:  # type: ignore[no-untyped-def]
    # The server lists only credentials whose claims pass the checkpoint; it answers the
    # others with the verifier's reason, since it knows them.
    old, elsewhere = claims(exp=NOW - 10), claims(zones=("2",))
    b = bundle_of(keys, [])
    assert decide(b, keys.badge.sign(old)).reason == "expired"
    out = decide(b, keys.badge.sign(old), "exit")
    assert (out.status, out.reason) == ("attention", "expired")
    assert decide(b, keys.badge.sign(elsewhere)).reason == "zone_denied"
    health = bundle_of(keys, [], policy=preset_document("epidemic-2020"))
    assert decide(health, keys.badge.sign(claims())).reason == "unknown_credential"


def test_revoked_expired_and_not_yet_valid(keys) -> None:  # type: ignore[no-untyped-def]
    gone, old, later = claims(), claims(exp=NOW - 10), claims(nbf=NOW + DAY)
    b = bundle_of(
        keys, [person(c, i) for i, c in enumerate((gone, old, later))], revoked=[gone.cid]
    )
    assert decide(b, keys.badge.sign(gone)).reason == "revoked"
    assert decide(b, keys.badge.sign(old)).reason == "expired"
    assert decide(b, keys.badge.sign(later)).reason == "not_yet_valid"


def test_a_revoked_status_in_the_bundle_is_revoked(keys) -> None:  # type: ignore[no-untyped-def]
    c = claims()
    b = bundle_of(keys, [person(c, 1, status="revoked")])
    assert decide(b, keys.badge.sign(c)).reason == "revoked"


def test_zone_and_venue_denied(keys) -> None:  # type: ignore[no-untyped-def]
    z, v = claims(zones=("2",)), claims(venues=("hall",))
    b = bundle_of(keys, [person(z, 1), person(v, 2)])
    assert decide(b, keys.badge.sign(z)).reason == "zone_denied"
    assert decide(b, keys.badge.sign(v)).reason == "venue_denied"


def test_health_required_expired_and_allowed_with_fresh_facts(keys) -> None:  # type: ignore[no-untyped-def]
    policy = preset_document("epidemic-2020")
    none, stale, fresh = claims(), claims(), claims()

    def facts(age_h: float) -> list[dict[str, Any]]:
        at = int(NOW - age_h * 3600)
        return [
            {"kind": "health_code", "value": {"colour": "green"}, "at": at, "valid_until": None},
            {"kind": "nat_test", "value": {"result": "negative"}, "at": at, "valid_until": None},
        ]

    b = bundle_of(
        keys,
        [
            person(none, 1),
            person(stale, 2, attestations=facts(30)),
            person(fresh, 3, attestations=facts(2)),
        ],
        policy=policy,
    )
    out = decide(b, keys.badge.sign(none))
    assert out.reason == "health_required"
    assert out.status in ("deny", "attention")
    assert out.rule == "health-code-green-24h"
    assert out.rule_en
    stale_out = decide(b, keys.badge.sign(stale))
    assert (stale_out.reason, stale_out.rule) == ("health_expired", "health-code-green-24h")
    assert decide(b, keys.badge.sign(fresh)).status == "allow"


def test_suspended_and_vetting_pending(keys) -> None:  # type: ignore[no-untyped-def]
    s, v = claims(), claims()
    b = bundle_of(keys, [person(s, 1, status="suspended"), person(v, 2, flag="vetting_pending")])
    out = decide(b, keys.badge.sign(s))
    assert (out.status, out.reason) == ("deny", "suspended")
    out = decide(b, keys.badge.sign(v))
    assert (out.status, out.reason) == ("deny", "vetting_pending")


def test_a_refused_holder_may_still_leave_with_attention(keys) -> None:  # type: ignore[no-untyped-def]
    c = claims()
    b = bundle_of(keys, [person(c, 1, status="suspended", inside=True)])
    inside = set(b.inside)
    out = decide(b, keys.badge.sign(c), "exit", inside=inside)
    assert (out.status, out.reason) == ("attention", "suspended")
    assert inside == set()


def test_anti_passback_from_the_local_inside_state(keys) -> None:  # type: ignore[no-untyped-def]
    c, already = claims(), claims()
    b = bundle_of(keys, [person(c, 1), person(already, 2, inside=True)])
    inside = set(b.inside)
    assert inside == {"a2"}
    qr = keys.badge.sign(c)
    assert decide(b, qr, inside=inside).status == "allow"
    again = decide(b, qr, inside=inside)
    assert (again.status, again.reason, again.rule) == ("deny", "already_inside", "anti_passback")
    assert decide(b, qr, "exit", inside=inside).status == "allow"
    out = decide(b, qr, "exit", inside=inside)
    assert (out.status, out.reason) == ("deny", "not_inside")
    assert decide(b, keys.badge.sign(already), inside=inside).reason == "already_inside"


def test_without_anti_passback_repeats_pass(keys) -> None:  # type: ignore[no-untyped-def]
    c = claims()
    b = bundle_of(keys, [person(c, 1)], anti_passback=False)
    inside: set[str] = set()
    qr = keys.badge.sign(c)
    assert [decide(b, qr, inside=inside).status for _ in range(2)] == ["allow", "allow"]
    assert decide(b, qr, "exit", inside=inside).status == "allow"
    assert decide(b, qr, "exit", inside=inside).status == "allow"


def test_a_vehicle_pass_has_no_presence(keys) -> None:  # type: ignore[no-untyped-def]
    v = replace(claims(), purpose=Purpose.VEHICLE, plate="浙F12345")
    entry = person(v, 0, accreditation_id=None, person_id=None, name="浙F12345")
    b = bundle_of(keys, [entry])
    inside: set[str] = set()
    qr = keys.vehicle.sign(v)
    assert [decide(b, qr, inside=inside).status for _ in range(2)] == ["allow", "allow"]
    assert inside == set()


def test_no_bundle_is_refused_with_its_own_reason() -> None:
    out = engine.decide(None, set(), "HC1:x", "entry", AT)
    assert (out.status, out.reason) == ("deny", "no_bundle")
    assert out.text_en


def test_every_required_reason_is_reachable_and_has_texts() -> None:
    required = {
        "invalid_signature", "unknown_key", "wrong_key_purpose", "revoked", "expired",
        "not_yet_valid", "zone_denied", "venue_denied", "health_required", "health_expired",
        "vetting_pending", "suspended", "already_inside", "not_inside", "unknown_credential",
    }  # fmt: skip
    assert required <= set(REASON_TEXT)


@pytest.mark.parametrize("preset", ["epidemic-2020", "no-health"])
def test_the_policy_recheck_answers_as_verify_does(keys, preset) -> None:  # type: ignore[no-untyped-def]
    """The gate re-evaluates only the policy after a health refusal; verify must agree."""
    import random

    from anbao.accreditation.credentials.policy import Policy
    from anbao.accreditation.credentials.verifier import verify

    rng = random.Random(7)
    b = bundle_of(keys, [], policy=preset_document(preset))
    policy = Policy.from_document(preset_document(preset))
    assert b.policy is not None
    kinds = [("health_code", {"colour": "green"}), ("health_code", {"colour": "red"}),
             ("nat_test", {"result": "negative"}), ("vaccination", {"doses": 2})]  # fmt: skip
    checked = 0
    for _ in range(200):
        c = claims(zones=tuple(rng.sample(["1", "2", "3"], rng.randint(1, 3))),
                   category=rng.choice(["VIP", "D", "W"]))  # fmt: skip
        if "1" not in c.zones:
            c = replace(c, zones=(*c.zones, "1"))
        facts = [
            Attestation(
                kind,
                value,
                NOW - rng.randint(0, 400) * 3600,
                rng.choice([None, NOW + 3600, NOW - 60]),
            )
            for kind, value in rng.sample(kinds, rng.randint(0, 4))
        ]
        qr = keys.badge.sign(c)
        first = verify(qr, trust_list=b.trust, revocations=b.revocations, policy=policy,
                       checkpoint=b.gate, now=AT)  # fmt: skip
        full = verify(qr, trust_list=b.trust, revocations=b.revocations, policy=policy,
                      checkpoint=b.gate, now=AT, attestations=facts)  # fmt: skip
        if first.reason.value not in engine.HEALTH_REASONS:
            continue
        again = engine.recheck(first, b, facts, AT)
        assert (again.status, again.reason, again.rule) == (full.status, full.reason, full.rule)
        checked += 1
    assert checked > 100 or preset == "no-health"


def test_unreadable_attestations_prove_nothing(keys) -> None:  # type: ignore[no-untyped-def]
    c = claims()
    bad = [{"kind": "health_code"}, "junk", {"kind": "nat_test", "at": "soon", "value": {}}]
    b = bundle_of(keys, [person(c, 1, attestations=bad)], policy=preset_document("epidemic-2020"))
    assert decide(b, keys.badge.sign(c)).reason == "health_required"
