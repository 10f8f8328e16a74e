"""The offline gate bundle's wire format: encode on the server, verify on the gate.

Pure code (no Django, no database, no clock): the server builds bundles with
:func:`encode_bundle` and the gate client checks them with :func:`verify_bundle`, so both run
the same code. See docs/gate.md for the protocol.

The envelope is JSON; its ``payload`` is base64 of gzip of the canonical JSON payload and its
``signature`` an Ed25519 signature over those raw gzip bytes by a ``gate_bundle`` key that the
root certifies in the trust list carried inside the payload.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from anbao.accreditation.credentials.errors import CredentialError
from anbao.accreditation.credentials.keys import GATE_BUNDLE, Signer, load_trust_list

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_COMPRESSED",
    "MAX_INFLATED",
    "BundleError",
    "canonical_json",
    "encode_bundle",
    "verify_bundle",
]

BUNDLE_FORMAT = "anbao-gate-bundle/1"
MAX_COMPRESSED = 64 * 1024 * 1024
MAX_INFLATED = 256 * 1024 * 1024
KID_HEX_LEN = 16
_ENVELOPE_KEYS = frozenset({"format", "serial", "signed_by", "payload", "signature"})
# base64 grows data by 4/3; a longer text cannot hold an acceptable payload.
_MAX_PAYLOAD_TEXT = (MAX_COMPRESSED + 2) // 3 * 4


class BundleError(Exception):
    """A bundle was refused; ``code`` is stable (the gate logs and shows it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON bytes of ``value``: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode_bundle(payload: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """Compress, sign and wrap ``payload`` (which carries its ``serial``) as the envelope."""
    if signer.purpose != GATE_BUNDLE:
        raise ValueError(f"a {signer.purpose} key cannot sign a gate bundle")
    serial = payload.get("serial")
    if type(serial) is not int or serial < 0:
        raise ValueError("the payload needs a non-negative integer serial")
    # mtime=0 keeps the bytes a function of the payload alone.
    raw = gzip.compress(canonical_json(payload), compresslevel=6, mtime=0)
    if len(raw) > MAX_COMPRESSED:
        raise ValueError("the bundle is larger than a gate accepts")
    return {
        "format": BUNDLE_FORMAT,
        "serial": serial,
        "signed_by": signer.kid.hex(),
        "payload": base64.b64encode(raw).decode("ascii"),
        "signature": base64.b64encode(signer.sign_raw(raw)).decode("ascii"),
    }


def _b64(value: Any, what: str, limit: int) -> bytes:
    if type(value) is not str:
        raise BundleError("bad_format", f"{what} must be base64 text")
    if len(value) > limit:
        raise BundleError("too_large", f"{what} is larger than {MAX_COMPRESSED} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BundleError("bad_format", f"{what} is not base64") from None


def _inflate(raw: bytes) -> bytes:
    if len(raw) > MAX_COMPRESSED:
        raise BundleError("too_large", f"the payload is larger than {MAX_COMPRESSED} bytes")
    # wbits 16+MAX_WBITS reads exactly one gzip member; output is capped before it is made.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, MAX_INFLATED + 1)
    except zlib.error:
        raise BundleError("bad_format", "the payload is not gzip") from None
    if len(data) > MAX_INFLATED or inflater.unconsumed_tail:
        raise BundleError("too_large", f"the payload inflates past {MAX_INFLATED} bytes")
    if not inflater.eof or inflater.unused_data:
        raise BundleError("bad_format", "the payload is not one whole gzip stream")
    return data


def _epoch(now: datetime | float) -> int:
    return int(now.timestamp()) if isinstance(now, datetime) else int(now)


def verify_bundle(
    envelope: dict[str, Any], root_public: bytes, now: datetime | float
) -> dict[str, Any]:
    """Check a bundle envelope against the pinned root key; return its payload or raise.

    Raises :class:`BundleError` with ``bad_format``, ``too_large``, ``untrusted_root`` (the
    trust list is not the root's), ``unknown_key``, ``wrong_key_purpose``, ``key_expired`` or
    ``bad_signature``. ``now`` is a datetime or epoch seconds.
    """
    if not isinstance(envelope, dict) or not set(envelope) >= _ENVELOPE_KEYS:
        raise BundleError("bad_format", "the envelope lacks fields")
    if envelope["format"] != BUNDLE_FORMAT:
        raise BundleError("bad_format", f"unknown format {envelope['format']!r}")
    serial, kid_hex = envelope["serial"], envelope["signed_by"]
    if type(serial) is not int or serial < 0:
        raise BundleError("bad_format", "serial must be a non-negative integer")
    if type(kid_hex) is not str or len(kid_hex) != KID_HEX_LEN:
        raise BundleError("bad_format", "signed_by must be a 16-digit hex key id")
    try:
        kid = bytes.fromhex(kid_hex)
    except ValueError:
        raise BundleError("bad_format", "signed_by must be a 16-digit hex key id") from None
    raw = _b64(envelope["payload"], "payload", _MAX_PAYLOAD_TEXT)
    signature = _b64(envelope["signature"], "signature", 200)
    # The key that signs the payload is certified inside it, so the payload is read first;
    # nothing from it is used until the signature holds.
    try:
        payload = json.loads(_inflate(raw))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BundleError("bad_format", "the payload is not JSON") from None
    if not isinstance(payload, dict) or payload.get("format") != BUNDLE_FORMAT:
        raise BundleError("bad_format", "the payload is not a gate bundle")
    if payload.get("serial") != serial:
        raise BundleError("bad_format", "the envelope's serial is not the payload's")
    trust_raw = _b64(payload.get("trust_list"), "trust_list", _MAX_PAYLOAD_TEXT)
    try:
        trust = load_trust_list(trust_raw, root_public)
    except (CredentialError, ValueError) as exc:
        raise BundleError("untrusted_root", f"trust list refused: {exc}") from None
    key = trust.get(kid)
    if key is None:
        raise BundleError("unknown_key", f"key {kid_hex} is not in the trust list")
    if key.purpose != GATE_BUNDLE:
        raise BundleError("wrong_key_purpose", f"a {key.purpose} key signed the bundle")
    t = _epoch(now)
    if not key.not_before <= t <= key.not_after:
        raise BundleError("key_expired", f"key {kid_hex} is not valid now")
    try:
        key.public_key.verify(signature, raw)
    except InvalidSignature:
        raise BundleError("bad_signature", "the bundle's signature does not verify") from None
    return payload
