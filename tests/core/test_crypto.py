"""Encryption at rest and blind indexes."""

from __future__ import annotations

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from anbao.core import crypto


@given(st.text(max_size=200))
def test_text_round_trip(value: str) -> None:
    assert crypto.decrypt_text(crypto.encrypt_text(value)) == value


def test_ciphertext_is_not_the_plaintext_and_is_randomised() -> None:
    a, b = crypto.encrypt_text("330483199001011234"), crypto.encrypt_text("330483199001011234")
    assert "330483" not in a
    assert a != b


def test_tampered_ciphertext_is_refused() -> None:
    token = bytearray(crypto.encrypt_bytes(b"photo"))
    token[20] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(token))


def test_another_instance_key_cannot_decrypt() -> None:
    token = crypto.encrypt_text("secret")
    with (
        override_settings(ANBAO_DATA_KEY="another-instance"),
        pytest.raises(crypto.DecryptionError),
    ):
        crypto.decrypt_text(token)


def test_blind_index_is_stable_and_purpose_bound() -> None:
    a = crypto.blind_index("G12345678", purpose="id")
    assert a == crypto.blind_index("G12345678", purpose="id")
    assert a != crypto.blind_index("G12345678", purpose="phone")
    assert len(a) == 64


def test_mask() -> None:
    assert crypto.mask("330483199001011234") == "330***********1234"
    assert crypto.mask("1234") == "****"
