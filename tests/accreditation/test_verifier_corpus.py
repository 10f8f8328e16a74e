"""Every tampered credential in the stored corpus is refused with its expected reason."""

from __future__ import annotations

import json

import pytest

from anbao.accreditation.credentials.keys import load_trust_list
from anbao.accreditation.credentials.policy import Attestation, preset
from anbao.accreditation.credentials.revocation import RevocationSet
from anbao.accreditation.credentials.verifier import Checkpoint, verify
from tests.accreditation.corpus.build import CORPUS_PATH, build_corpus
from tests.accreditation.corpus.scheme import HOUR, healthy

CORPUS = json.loads(CORPUS_PATH.read_text(encoding="utf-8"))
NOW = CORPUS["now"]
ATTESTATIONS = {
    "healthy": healthy(NOW),
    "none": [],
    "stale": [
        Attestation("health_code", {"colour": "green"}, NOW - 30 * HOUR),
        Attestation("nat_test", {"result": "negative"}, NOW - 20 * HOUR),
    ],
}


def test_stored_corpus_matches_its_builder() -> None:
    assert build_corpus() == CORPUS


def test_corpus_covers_every_bad_input_case() -> None:
    names = {c["name"] for c in CORPUS["cases"]}
    for needed in (
        "flipped_bit_in_signature",
        "swapped_signature",
        "unknown_kid",
        "wrong_key_purpose",
        "expired_key",
        "truncated_base45",
        "invalid_base45_char",
        "zlib_bomb",
        "oversized_cbor",
        "oversized_qr_text",
    ):
        assert needed in names
    reasons = {c["expect"] for c in CORPUS["cases"]}
    assert {"malformed", "too_large", "invalid_signature", "unknown_key", "key_expired"} <= reasons


@pytest.mark.parametrize("case", CORPUS["cases"], ids=[c["name"] for c in CORPUS["cases"]])
def test_tampered_credential_refused_with_reason(case: dict) -> None:
    root = bytes.fromhex(CORPUS["root_public"])
    trust = load_trust_list(bytes.fromhex(CORPUS["trust_list"]), root)
    revoked = RevocationSet(version=1, hashes={bytes.fromhex(h) for h in CORPUS["revoked"]})
    decision = verify(
        case["qr"],
        trust_list=trust,
        revocations=revoked,
        policy=preset(CORPUS["policy"]),
        checkpoint=Checkpoint(**CORPUS["checkpoint"]),
        now=NOW,
        attestations=ATTESTATIONS[case.get("attestations", "healthy")],
    )
    assert decision.reason.value == case["expect"], decision.detail
    assert decision.allowed is (case["expect"] == "ok")
