"""Encryption of personal data at rest, and blind indexes to find it without decrypting.

Keys derive from the instance's data key (``ANBAO_HOME/secrets.json``): one Fernet key for
encryption (AES-128-CBC + HMAC-SHA256, authenticated) and one HMAC key for blind indexes, so
that "is this ID number already registered?" is answered without storing it in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class DecryptionError(RuntimeError):
    """Stored ciphertext could not be decrypted (wrong data key or corrupted value)."""


def _derive(purpose: bytes) -> bytes:
    secret = str(settings.ANBAO_DATA_KEY).encode("utf-8")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"anbao-data-key-v1", info=purpose
    ).derive(secret)


@lru_cache(maxsize=4)
def _fernet(data_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(b"fernet")))


@lru_cache(maxsize=4)
def _index_key(data_key: str) -> bytes:
    return _derive(b"blind-index")


def encrypt_bytes(value: bytes) -> bytes:
    """Encrypt ``value``; the result is an authenticated Fernet token (ASCII bytes)."""
    return _fernet(str(settings.ANBAO_DATA_KEY)).encrypt(value)


def decrypt_bytes(token: bytes) -> bytes:
    """Decrypt a token made by :func:`encrypt_bytes`."""
    try:
        return _fernet(str(settings.ANBAO_DATA_KEY)).decrypt(token)
    except InvalidToken as exc:
        raise DecryptionError(
            "stored value cannot be decrypted with this instance's data key"
        ) from exc


def encrypt_text(value: str) -> str:
    """Encrypt a string; returns ASCII text safe for a text column."""
    return encrypt_bytes(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    """Decrypt a string made by :func:`encrypt_text`."""
    return decrypt_bytes(token.encode("ascii")).decode("utf-8")


def blind_index(value: str, *, purpose: str) -> str:
    """Return a keyed hash of ``value`` for equality search (hex, 64 characters)."""
    key = _index_key(str(settings.ANBAO_DATA_KEY))
    msg = purpose.encode("utf-8") + b"\x00" + value.encode("utf-8")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def mask(value: str, *, keep_start: int = 3, keep_end: int = 4) -> str:
    """Mask the middle of a value for screens: ``330483********1234``."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
