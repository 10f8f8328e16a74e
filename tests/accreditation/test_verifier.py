"""The pure verify function: decisions, health passes, checkpoints, and no crash on any input."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from anbao.accreditation.credentials.codec import Claims, HealthColour, Purpose
from anbao.accreditation.credentials.errors import Reason
from anbao.accreditation.credentials.policy import preset
from anbao.accreditation.credentials.revocation import RevocationSet, revocation_hash
from anbao.accreditation.credentials.verifier import (
    ATTENTION,
    Checkpoint,
    Decision,
    health_attestations,
    verify,
)
from tests.accreditation.corpus.scheme import (
    EVENT,
    GATE,
    HOUR,
    NOW,
    badge_claims,
    healthy,
    make_scheme,
)

SCHEME = make_scheme()
BADGE = SCHEME.signers["badge"]
EPIDEMIC = preset("epidemic-2020")
NO_HEALTH = preset("no-health")


def check(text: str, **kw: object) -> Decision:
    args: dict = {
        "trust_list": SCHEME.trust,
        "revocations": RevocationSet(),
        "policy": EPIDEMIC,
        "checkpoint": GATE,
        "now": NOW,
        "attestations": healthy(),
    }
    args.update(kw)
    return verify(text, **args)


def health_pass(**changes: object) -> str:
    claims = Claims(
        cid=b"\x09" * 16,
        purpose=Purpose.HEALTH_PASS,
        event=EVENT,
        nbf=NOW - HOUR,
        exp=NOW + 8 * HOUR,
        iat=NOW - HOUR,
        subject=badge_claims().cid,
        colour=HealthColour.GREEN,
        colour_at=NOW - HOUR,
        tested_at=NOW - 30 * HOUR,
    )
    return SCHEME.signers["health_pass"].sign(replace(claims, **changes))  # type: ignore[arg-type]


def test_allowed_badge_returns_its_claims() -> None:
    decision = check(BADGE.sign(badge_claims()))
    assert decision.allowed
    assert decision.reason is Reason.OK
    assert decision.claims == badge_claims()
    assert decision.as_json()["claims"]["zones"] == ["1", "2", "3", "4", "5", "6"]


def test_now_may_be_an_aware_datetime() -> None:
    when = datetime.fromtimestamp(NOW, tz=UTC)
    assert check(BADGE.sign(badge_claims()), now=when).allowed


def test_no_health_policy_allows_without_attestations() -> None:
    assert check(BADGE.sign(badge_claims()), policy=NO_HEALTH, attestations=()).allowed
    assert check(BADGE.sign(badge_claims()), policy=None, attestations=()).allowed


def test_epidemic_policy_refusal_names_its_rule() -> None:
    decision = check(BADGE.sign(badge_claims()), attestations=())
    assert decision.status == "deny"
    assert decision.reason is Reason.HEALTH_REQUIRED
    assert decision.rule is not None
    assert decision.rule.id == "health-code-green-24h"
    assert decision.as_json()["rule"]["zh"]


def test_revoked_badge_is_refused() -> None:
    revoked = RevocationSet(hashes={revocation_hash(badge_claims().cid)})
    assert check(BADGE.sign(badge_claims()), revocations=revoked).reason is Reason.REVOKED


def test_checkpoint_without_zone_or_venue_checks_only_the_rest() -> None:
    open_gate = Checkpoint(code="outer")
    assert check(BADGE.sign(badge_claims(zones=(), venues=())), checkpoint=open_gate).allowed


def test_vehicle_permit_at_a_pedestrian_only_gate_is_refused() -> None:
    permit = SCHEME.signers["vehicle"].sign(badge_claims(purpose=Purpose.VEHICLE, plate="浙F1"))
    walk_in = replace(GATE, accepts=frozenset({"badge"}))
    assert check(permit, checkpoint=walk_in).reason is Reason.PURPOSE_DENIED
    assert check(permit).allowed  # vehicles are outside the health rules' scope


def test_health_pass_supplies_the_health_facts() -> None:
    decision = check(BADGE.sign(badge_claims()), attestations=(), health_pass=health_pass())
    assert decision.allowed, decision


def test_health_pass_for_another_badge_is_refused() -> None:
    other = health_pass(subject=badge_claims(5).cid)
    decision = check(BADGE.sign(badge_claims()), attestations=(), health_pass=other)
    assert decision.reason is Reason.HEALTH_PASS_MISMATCH


def test_expired_health_pass_is_health_expired() -> None:
    old = health_pass(nbf=NOW - 20 * HOUR, iat=NOW - 20 * HOUR, exp=NOW - HOUR)
    decision = check(BADGE.sign(badge_claims()), attestations=(), health_pass=old)
    assert decision.reason is Reason.HEALTH_EXPIRED


def test_health_pass_with_an_old_test_fails_zone_1_as_expired() -> None:
    stale = health_pass(tested_at=NOW - 60 * HOUR)
    decision = check(BADGE.sign(badge_claims()), attestations=(), health_pass=stale)
    assert decision.reason is Reason.HEALTH_EXPIRED
    assert decision.rule is not None
    assert decision.rule.id == "zone-1-nat-negative-48h"


def test_forged_health_pass_is_refused_with_the_crypto_reason() -> None:
    forged = BADGE.sign(badge_claims(7))  # a badge shown where the health pass should be
    decision = check(BADGE.sign(badge_claims()), attestations=(), health_pass=forged)
    assert decision.reason is Reason.PURPOSE_DENIED
    junk = check(BADGE.sign(badge_claims()), attestations=(), health_pass="AB1:???")
    assert junk.reason is Reason.MALFORMED


def test_health_attestations_from_a_pass() -> None:
    facts = health_attestations(
        badge_claims(colour=HealthColour.YELLOW, tested_at=NOW - HOUR, colour_at=NOW)
    )
    assert [(a.kind, dict(a.value)) for a in facts] == [
        ("health_code", {"colour": "yellow"}),
        ("nat_test", {"result": "negative"}),
    ]


def test_attention_outcome_is_reported() -> None:
    from anbao.accreditation.credentials.policy import Policy

    policy = Policy.from_document(
        {
            "id": "vip-escort",
            "title": {"zh": "贵宾陪同", "en": "VIP escort"},
            "rules": [
                {
                    "id": "vip-escort",
                    "text": {"zh": "贵宾须有陪同", "en": "VIPs need an escort"},
                    "outcome": "attention",
                    "require": {"!=": [{"var": "credential.category"}, "VIP"]},
                }
            ],
        }
    )
    decision = check(BADGE.sign(badge_claims()), policy=policy)
    assert decision.status == ATTENTION
    assert not decision.allowed


def test_verification_is_fast() -> None:
    text = BADGE.sign(badge_claims())
    start = time.perf_counter()
    for _ in range(200):
        check(text)
    assert (time.perf_counter() - start) / 200 < 0.005  # generous: the bench measures properly


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=600), st.binary(max_size=100), st.none(), st.integers()))
def test_verify_never_raises(value: object) -> None:
    decision = check(value)
    assert not decision.allowed
    assert decision.reason in (Reason.MALFORMED, Reason.TOO_LARGE)


_cbor_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
        st.text(max_size=50), st.binary(max_size=40),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.integers(-12, 8), inner, max_size=4)
    ),
    max_leaves=10,
)  # fmt: skip


@settings(max_examples=300)
@given(st.dictionaries(st.integers(-12, 8), _cbor_values, max_size=16), st.booleans())
def test_validly_signed_garbage_claims_never_crash(changes: dict, keep_base: bool) -> None:
    import cbor2

    from anbao.accreditation.credentials import codec, cose

    claims_map = {**badge_claims().as_cbor_map(), **changes} if keep_base else changes
    payload = cbor2.dumps(claims_map, canonical=True)
    text = codec.wrap(cose.sign1(payload, kid=BADGE.kid, key=BADGE.key))
    decision = check(text)
    assert decision.reason is not None
    if decision.allowed:
        assert decision.claims is not None
