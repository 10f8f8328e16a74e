"""COSE_Sign1 (RFC 9052) with EdDSA/Ed25519, built on cbor2 and cryptography.

Only the subset the scheme needs: tag 18, a protected header holding ``alg`` (-8, EdDSA)
and ``kid``, an empty unprotected header, an attached payload and a 64-byte signature.
Anything else is refused as malformed, so a credential has one byte form per content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anbao.accreditation.credentials.errors import CredentialError, Reason

COSE_SIGN1_TAG = 18
HDR_ALG = 1
HDR_KID = 4
ALG_EDDSA = -8
SIGNATURE_LEN = 64
KID_LEN = 8
_CONTEXT = "Signature1"


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed (not yet verified) COSE_Sign1 message."""

    protected: bytes
    kid: bytes
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        """Return the Sig_structure bytes the signature covers."""
        return _sig_structure(self.protected, self.payload)

    def verify(self, key: Ed25519PublicKey) -> None:
        """Raise ``invalid_signature`` unless ``key`` signed this message."""
        try:
            key.verify(self.signature, self.to_be_signed())
        except InvalidSignature:
            raise CredentialError(Reason.INVALID_SIGNATURE) from None


def _bstr_head(n: int) -> bytes:
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + n.to_bytes(2, "big")
    return b"\x5a" + n.to_bytes(4, "big")


# The Sig_structure is a fixed CBOR array; assembling it by hand saves an encoder call on
# every verification (it equals cbor2.dumps(["Signature1", protected, b"", payload])).
_SIG_HEAD = b"\x84\x6aSignature1"


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return b"".join(
        (
            _SIG_HEAD,
            _bstr_head(len(protected)),
            protected,
            b"\x40",
            _bstr_head(len(payload)),
            payload,
        )
    )


def protected_header(kid: bytes) -> bytes:
    """Return the encoded protected header for ``kid``."""
    return cbor2.dumps({HDR_ALG: ALG_EDDSA, HDR_KID: kid}, canonical=True)


_PROTECTED_HEAD = protected_header(bytes(KID_LEN))[:-KID_LEN]


def sign1(payload: bytes, *, kid: bytes, key: Ed25519PrivateKey) -> bytes:
    """Sign ``payload`` and return the tagged COSE_Sign1 bytes."""
    protected = protected_header(kid)
    signature = key.sign(_sig_structure(protected, payload))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def loads(data: bytes) -> Any:
    """Decode CBOR from untrusted bytes; any failure is ``malformed``."""
    try:
        return cbor2.loads(data)
    # cbor2 raises many types on hostile input (CBORDecodeError, ValueError, OverflowError,
    # RecursionError, MemoryError...); every one of them means "not our format".
    except Exception as exc:
        raise CredentialError(Reason.MALFORMED, f"CBOR: {type(exc).__name__}") from None


def parse_sign1(data: bytes) -> Sign1:
    """Parse tagged COSE_Sign1 bytes; refuse anything outside the scheme's subset."""
    obj = loads(data)
    if not isinstance(obj, cbor2.CBORTag) or obj.tag != COSE_SIGN1_TAG:
        raise CredentialError(Reason.MALFORMED, "not a COSE_Sign1 (tag 18)")
    msg = obj.value
    if not isinstance(msg, list) or len(msg) != 4:
        raise CredentialError(Reason.MALFORMED, "COSE_Sign1 must have 4 elements")
    protected, unprotected, payload, signature = msg
    if (
        type(protected) is not bytes
        or type(payload) is not bytes
        or type(signature) is not bytes
        or not isinstance(unprotected, dict)
        or unprotected
    ):
        raise CredentialError(Reason.MALFORMED, "COSE_Sign1 element types")
    if len(signature) != SIGNATURE_LEN:
        raise CredentialError(Reason.MALFORMED, "signature length")
    # One byte form per content: the header must be exactly {1: -8, 4: h'<8-byte kid>'} in
    # canonical CBOR, so it is compared byte-wise instead of being decoded.
    if len(protected) != len(_PROTECTED_HEAD) + KID_LEN or not protected.startswith(
        _PROTECTED_HEAD
    ):
        raise CredentialError(Reason.MALFORMED, "protected header must be {alg: EdDSA, kid}")
    kid = protected[len(_PROTECTED_HEAD) :]
    return Sign1(protected=protected, kid=kid, payload=payload, signature=signature)
