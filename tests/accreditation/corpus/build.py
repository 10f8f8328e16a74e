"""Build the tampered-credential corpus: every bad-input case with its expected reason.

Run ``python -m tests.accreditation.corpus.build`` to rewrite ``tampered.json``; the test
``test_verifier_corpus.py`` checks that the stored file still matches this builder.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import cbor2

from anbao.accreditation.credentials import codec, cose
from anbao.accreditation.credentials.codec import Claims, HealthColour, Purpose
from anbao.accreditation.credentials.revocation import revocation_hash

from .scheme import DAY, GATE, HOUR, NOW, Scheme, badge_claims, make_scheme, seeded_signer

CORPUS_PATH = Path(__file__).with_name("tampered.json")


def _flip(text: str, index: int) -> str:
    """Flip the lowest bit of one byte inside the base45 payload and re-encode it."""
    raw = bytearray(codec.b45decode(text[len(codec.PREFIX) :]))
    raw[index] ^= 0x01
    return codec.PREFIX + codec.b45encode(bytes(raw))


def _recompose(text: str, change: Any) -> str:
    """Decode to the COSE array, let ``change`` edit it, and re-encode (no re-signing)."""
    tagged = cbor2.loads(codec.unwrap(text))
    change(tagged.value)
    return codec.wrap(cbor2.dumps(tagged))


def _signed_map(scheme: Scheme, claims_map: dict[int, Any], purpose: str = "badge") -> str:
    signer = scheme.signers[purpose]
    payload = cbor2.dumps(claims_map, canonical=True)
    return codec.wrap(cose.sign1(payload, kid=signer.kid, key=signer.key))


def build_corpus() -> dict[str, Any]:
    """Return the corpus as a JSON-ready dict."""
    scheme = make_scheme(expired=("badge",))
    badge = scheme.signers["badge"]
    good = badge.sign(badge_claims())
    other = badge.sign(badge_claims(1))
    revoked_claims = badge_claims(2)
    base = badge_claims().as_cbor_map()
    cases: list[dict[str, Any]] = []

    def add(name: str, qr: str, expect: str, **extra: Any) -> None:
        cases.append({"name": name, "qr": qr, "expect": expect, **extra})

    add("valid", good, "ok", attestations="healthy")
    add("flipped_bit_in_compressed_bytes", _flip(good, -10), "malformed")
    sig_flip = _recompose(good, lambda v: v.__setitem__(3, bytes([v[3][0] ^ 1]) + v[3][1:]))
    add("flipped_bit_in_signature", sig_flip, "invalid_signature")
    tbs_flip = _recompose(good, lambda v: v.__setitem__(2, v[2][:-1] + bytes([v[2][-1] ^ 1])))
    add("flipped_bit_in_claims", tbs_flip, "invalid_signature")
    swapped = cbor2.loads(codec.unwrap(other)).value[3]
    add(
        "swapped_signature",
        _recompose(good, lambda v: v.__setitem__(3, swapped)),
        "invalid_signature",
    )
    stranger = replace(badge, key=scheme.root)  # right kid, wrong private key
    add("signed_by_impostor", stranger.sign(badge_claims()), "invalid_signature")
    add("unknown_kid", seeded_signer("badge", "unlisted").sign(badge_claims()), "unknown_key")
    vehicle = scheme.signers["vehicle"]
    add(
        "wrong_key_purpose",
        codec.sign_claims(badge_claims(), kid=vehicle.kid, key=vehicle.key),
        "wrong_key_purpose",
    )
    old = scheme.extra["expired:badge"]
    add("expired_key", old.sign(badge_claims(iat=NOW - 10 * DAY)), "key_expired")
    add("bad_prefix", "HC1:" + good[len(codec.PREFIX) :], "malformed")
    add("no_prefix", good[len(codec.PREFIX) :], "malformed")
    add("empty", "", "malformed")
    add("invalid_base45_char", good[:20] + "a" + good[21:], "malformed")
    add("base45_group_out_of_range", codec.PREFIX + ":::" + good[7:], "malformed")
    body = good[len(codec.PREFIX) :]
    cut = len(body) - (len(body) % 3) - 2  # leaves a length that is 1 mod 3
    add("truncated_base45", codec.PREFIX + body[:cut], "malformed")
    add("truncated_zlib", codec.PREFIX + body[:-3], "malformed")
    add(
        "zlib_trailing_bytes",
        codec.PREFIX + codec.b45encode(codec.b45decode(body) + b"\0"),
        "malformed",
    )
    add("not_zlib", codec.PREFIX + codec.b45encode(b"hello world, plainly"), "malformed")
    bomb = zlib.compress(b"\0" * 300_000, 9)
    add("zlib_bomb", codec.PREFIX + codec.b45encode(bomb), "too_large")
    add("oversized_qr_text", codec.PREFIX + "0" * 2000, "too_large")
    huge = {**base, -20: b"A" * 6000}
    add("oversized_cbor", _signed_map(scheme, huge), "too_large")
    add("not_cbor", codec.wrap(b"\xff\xfe\xfd"), "malformed")
    add("cbor_not_cose", codec.wrap(cbor2.dumps(42)), "malformed")
    untagged = cbor2.loads(codec.unwrap(good)).value
    add("untagged_cose", codec.wrap(cbor2.dumps(untagged)), "malformed")
    add(
        "cose_three_elements", codec.wrap(cbor2.dumps(cbor2.CBORTag(18, untagged[:3]))), "malformed"
    )
    add(
        "unprotected_header_used",
        _recompose(good, lambda v: v.__setitem__(1, {4: b"x"})),
        "malformed",
    )
    deep = b"\x81" * 3000 + b"\x00"
    add("deeply_nested_cbor", codec.wrap(deep), "malformed")
    for label, key, value in (
        ("zones_not_a_list", codec.K_ZONES, 5),
        ("zone_not_text", codec.K_ZONES, [b"1"]),
        ("cid_too_short", codec.K_CTI, b"abc"),
        ("exp_as_text", codec.K_EXP, "tomorrow"),
        ("exp_as_bool", codec.K_EXP, True),
        ("unknown_purpose", codec.K_PURPOSE, 99),
        ("unknown_scheme_version", codec.K_VER, 7),
        ("photo_hash_wrong_length", codec.K_PHOTO, b"\x01\x02"),
        ("category_as_map", codec.K_CATEGORY, {1: 2}),
    ):
        add(f"wrong_type_{label}", _signed_map(scheme, {**base, key: value}), "malformed")
    missing = {k: v for k, v in base.items() if k != codec.K_EXP}
    add("missing_exp", _signed_map(scheme, missing), "malformed")
    add("claims_not_a_map", _signed_map(scheme, [1, 2, 3]), "malformed")  # type: ignore[arg-type]
    add("revoked", badge.sign(revoked_claims), "revoked", attestations="healthy")
    add("expired", badge.sign(badge_claims(exp=NOW - HOUR)), "expired")
    add("not_yet_valid", badge.sign(badge_claims(nbf=NOW + HOUR)), "not_yet_valid")
    add("zone_denied", badge.sign(badge_claims(zones=("2", "3"))), "zone_denied")
    add("venue_denied", badge.sign(badge_claims(venues=("xizha",))), "venue_denied")
    add("wrong_event", badge.sign(badge_claims(event="wic2025")), "wrong_event")
    add("health_required", good, "health_required", attestations="none")
    add("health_expired", good, "health_expired", attestations="stale")
    hp = Claims(
        cid=b"\x07" * 16, purpose=Purpose.HEALTH_PASS, event="wic2026", nbf=NOW - HOUR,
        exp=NOW + 6 * HOUR, iat=NOW - HOUR, subject=badge_claims().cid,
        colour=HealthColour.GREEN, colour_at=NOW - HOUR,
    )  # fmt: skip
    add("health_pass_alone", scheme.signers["health_pass"].sign(hp), "purpose_denied")
    return {
        "about": "Tampered credentials and the reason each must be refused with; see build.py.",
        "now": NOW,
        "root_public": scheme.root_public.hex(),
        "trust_list": scheme.trust_bytes.hex(),
        "checkpoint": {
            "code": GATE.code,
            "venue": GATE.venue,
            "zone": GATE.zone,
            "event": GATE.event,
        },
        "policy": "epidemic-2020",
        "revoked": [revocation_hash(revoked_claims.cid).hex()],
        "cases": cases,
    }


def main() -> None:
    """Write the corpus file."""
    CORPUS_PATH.write_text(json.dumps(build_corpus(), indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
