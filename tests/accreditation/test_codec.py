"""The credential codec: round trips, size, strict base45, caps, and property-based tampering."""

from __future__ import annotations

import os
import zlib

import base45
import cbor2
import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbao.accreditation.credentials import codec, cose
from anbao.accreditation.credentials.codec import Claims, HealthColour, Purpose
from anbao.accreditation.credentials.errors import CredentialError, Reason
from anbao.accreditation.credentials.verifier import authenticate
from tests.accreditation.corpus.scheme import NOW, badge_claims, make_scheme

SCHEME = make_scheme()
BADGE = SCHEME.signers["badge"]


def test_claims_round_trip_through_qr_text() -> None:
    claims = badge_claims()
    text = BADGE.sign(claims)
    assert text.startswith("AB1:")
    assert authenticate(text, trust_list=SCHEME.trust, now=NOW) == claims


def test_typical_badge_fits_qr_version_13_at_ecc_q() -> None:
    # Long venue codes too, not only the demo's short ones.
    for venues in (("wicc", "xizha", "hotels"), ("wuzhen-west", "hotel-cluster", "conference")):
        text = BADGE.sign(badge_claims(venues=venues))
        assert segno.make(text, error="q", boost_error=False).version <= 13, len(text)


def test_claims_carry_no_names_or_id_numbers() -> None:
    payload = cose.parse_sign1(codec.unwrap(BADGE.sign(badge_claims()))).payload
    keys = set(cbor2.loads(payload))
    assert keys <= {1, 4, 5, 6, 7, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11}


def test_zone_numbers_encode_as_integers_and_come_back_as_text() -> None:
    claims = badge_claims(zones=("1", "12", "01", "A3"))
    raw = cbor2.loads(codec.encode_claims(claims))
    assert raw[codec.K_ZONES] == [1, 12, "01", "A3"]
    assert codec.decode_claims(codec.encode_claims(claims)).zones == ("1", "12", "01", "A3")


def test_vehicle_and_health_pass_claims_round_trip() -> None:
    vehicle = badge_claims(purpose=Purpose.VEHICLE, plate="浙F·12345", category="T")
    assert codec.decode_claims(codec.encode_claims(vehicle)) == vehicle
    health = badge_claims(
        purpose=Purpose.HEALTH_PASS,
        subject=os.urandom(16),
        colour=HealthColour.GREEN,
        colour_at=NOW,
        tested_at=NOW - 3600,
        zones=(),
        venues=(),
    )
    assert codec.decode_claims(codec.encode_claims(health)) == health


@given(st.binary(max_size=300))
def test_base45_matches_the_reference_and_round_trips(data: bytes) -> None:
    text = codec.b45encode(data)
    assert text == base45.b45encode(data).decode()
    assert codec.b45decode(text) == data


@pytest.mark.parametrize("text", ["A", "ab", "GGW", "::::", "\n", "AB\n", "é00"])
def test_base45_refuses_invalid_text(text: str) -> None:
    with pytest.raises(CredentialError) as exc:
        codec.b45decode(text)
    assert exc.value.reason is Reason.MALFORMED


def test_unwrap_caps_text_length_before_decoding() -> None:
    with pytest.raises(CredentialError) as exc:
        codec.unwrap("AB1:" + "0" * codec.MAX_TEXT)
    assert exc.value.reason is Reason.TOO_LARGE


def test_unwrap_stops_a_zlib_bomb_at_the_cap() -> None:
    bomb = "AB1:" + codec.b45encode(zlib.compress(b"\0" * 700_000, 9))
    assert len(bomb) <= codec.MAX_TEXT  # 700 kB fit in a QR-sized text
    with pytest.raises(CredentialError) as exc:
        codec.unwrap(bomb)
    assert exc.value.reason is Reason.TOO_LARGE


@pytest.mark.parametrize("value", [None, 42, b"AB1:", ["AB1:"]])
def test_unwrap_refuses_non_text(value: object) -> None:
    with pytest.raises(CredentialError) as exc:
        codec.unwrap(value)
    assert exc.value.reason is Reason.MALFORMED


_text = st.text(st.sampled_from("0123456789ABCDEFGHJKXYZ-"), min_size=1, max_size=10)
claims_strategy = st.builds(
    Claims,
    cid=st.binary(min_size=16, max_size=16),
    purpose=st.sampled_from(list(Purpose)),
    event=_text,
    nbf=st.integers(0, 2**32),
    exp=st.integers(0, 2**32),
    iat=st.integers(0, 2**32),
    category=st.text(max_size=8),
    zones=st.lists(_text, max_size=12).map(tuple),
    venues=st.lists(_text, max_size=6).map(tuple),
    photo=st.sampled_from([b"", b"\x01" * 8]),
    plate=st.text(max_size=10),
    subject=st.sampled_from([b"", b"\x02" * 16]),
    colour=st.sampled_from(list(HealthColour)),
    tested_at=st.integers(0, 2**32),
    colour_at=st.integers(0, 2**32),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(claims_strategy)
def test_round_trip_always_works(claims: Claims) -> None:
    assert codec.decode_claims(codec.encode_claims(claims)) == claims
    cose_bytes = codec.unwrap(codec.wrap(cose.sign1(codec.encode_claims(claims), kid=BADGE.kid,
                                                    key=BADGE.key)))  # fmt: skip
    assert codec.decode_claims(cose.parse_sign1(cose_bytes).payload) == claims


GOOD = BADGE.sign(badge_claims())
GOOD_COSE = codec.unwrap(GOOD)
GOOD_COMPRESSED = codec.b45decode(GOOD[4:])


def _accepted_cose(text: str) -> bytes | None:
    """Return the COSE bytes that authenticated, or None when refused."""
    try:
        authenticate(text, trust_list=SCHEME.trust, now=NOW)
    except CredentialError:
        return None
    return codec.unwrap(text)


@settings(max_examples=300)
@given(st.data())
def test_any_bit_flip_in_the_raw_cose_is_refused(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(GOOD_COSE) - 1))
    bit = data.draw(st.integers(0, 7))
    raw = bytearray(GOOD_COSE)
    raw[index] ^= 1 << bit
    text = codec.wrap(bytes(raw))
    assert _accepted_cose(text) is None


@settings(max_examples=300)
@given(st.data())
def test_any_bit_flip_in_the_base45_payload_never_forges(data: st.DataObject) -> None:
    # Deflate ignores the padding bits of its last byte, so a flip there can leave the same
    # signed bytes; what must never happen is that different signed bytes are accepted.
    index = data.draw(st.integers(0, len(GOOD_COMPRESSED) - 1))
    bit = data.draw(st.integers(0, 7))
    raw = bytearray(GOOD_COMPRESSED)
    raw[index] ^= 1 << bit
    accepted = _accepted_cose("AB1:" + codec.b45encode(bytes(raw)))
    assert accepted is None or accepted == GOOD_COSE


@settings(max_examples=300)
@given(st.data())
def test_any_character_change_in_the_qr_text_never_forges(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(GOOD) - 1))
    char = data.draw(st.characters(codec="ascii"))
    text = GOOD[:index] + char + GOOD[index + 1 :]
    accepted = _accepted_cose(text)
    assert accepted is None or accepted == GOOD_COSE


@given(st.text(max_size=400))
def test_random_text_never_crashes(text: str) -> None:
    assert _accepted_cose("AB1:" + text) is None
    assert _accepted_cose(text) is None


@settings(max_examples=200)
@given(st.binary(max_size=600))
def test_random_bytes_after_the_prefix_never_crash(raw: bytes) -> None:
    assert _accepted_cose("AB1:" + codec.b45encode(raw)) is None
    assert _accepted_cose("AB1:" + codec.b45encode(zlib.compress(raw))) is None
