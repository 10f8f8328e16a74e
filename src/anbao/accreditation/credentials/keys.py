"""Keys: the pinned root, purpose-bound signing keys, key certificates and the trust list.

A root key signs purpose-bound signing keys; the root also signs the versioned trust list
that scanners load.

A key certificate and the trust list are COSE_Sign1 messages signed by the root. Scanners
pin the root's public key; everything else they learn from the trust list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from anbao.accreditation.credentials import cose
from anbao.accreditation.credentials.codec import Claims, Purpose, sign_claims
from anbao.accreditation.credentials.errors import CredentialError, Reason

REVOCATION = "revocation"
GATE_BUNDLE = "gate_bundle"
#: Purposes a signing key can be bound to: the four credential purposes, the revocation list
#: and the offline gates' bundles.
KEY_PURPOSES: tuple[str, ...] = (*(p.label for p in Purpose), REVOCATION, GATE_BUNDLE)
MAX_TRUST_LIST = 64 * 1024


def kid_of(public_key: bytes) -> bytes:
    """Return the key id: the first 8 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key).digest()[: cose.KID_LEN]


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """Return the raw 32-byte public key of a private or public key."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def private_bytes(key: Ed25519PrivateKey) -> bytes:
    """Return the raw 32-byte private key (store it encrypted, never in the repo)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def load_private(raw: bytes) -> Ed25519PrivateKey:
    """Load a raw 32-byte Ed25519 private key."""
    return Ed25519PrivateKey.from_private_bytes(raw)


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A signing key a scanner trusts: its id, purpose, validity and public key."""

    kid: bytes
    purpose: str
    not_before: int
    not_after: int
    public_key: Ed25519PublicKey
    certificate: bytes = b""


def make_certificate(
    root: Ed25519PrivateKey, *, public_key: bytes, purpose: str, not_before: int, not_after: int
) -> bytes:
    """Return a root-signed certificate binding ``public_key`` to ``purpose`` and a window."""
    if purpose not in KEY_PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    if not_after <= not_before:
        raise ValueError("a key's validity window must not be empty")
    body = {1: kid_of(public_key), 2: purpose, 3: public_key, 4: not_before, 5: not_after}
    return cose.sign1(cbor2.dumps(body, canonical=True), kid=kid_of(public_bytes(root)), key=root)


def _root_key(root_public: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(root_public)


def read_certificate(cert: bytes, root_public: bytes) -> TrustedKey:
    """Verify a key certificate against the pinned root and return the key it certifies."""
    msg = cose.parse_sign1(cert)
    if msg.kid != kid_of(root_public):
        raise CredentialError(Reason.UNKNOWN_KEY, "certificate not signed by the root")
    msg.verify(_root_key(root_public))
    body = cose.loads(msg.payload)
    if not isinstance(body, dict):
        raise CredentialError(Reason.MALFORMED, "certificate body")
    kid, purpose, pub = body.get(1), body.get(2), body.get(3)
    nbf, naf = body.get(4), body.get(5)
    if (
        type(pub) is not bytes
        or len(pub) != 32
        or kid != kid_of(pub)
        or purpose not in KEY_PURPOSES
        or type(nbf) is not int
        or type(naf) is not int
    ):
        raise CredentialError(Reason.MALFORMED, "certificate fields")
    return TrustedKey(
        kid=kid,
        purpose=str(purpose),
        not_before=nbf,
        not_after=naf,
        public_key=Ed25519PublicKey.from_public_bytes(pub),
        certificate=cert,
    )


@dataclass(frozen=True, slots=True)
class TrustList:
    """The keys a scanner trusts, by kid; ``version`` grows with every export."""

    version: int
    issued_at: int
    keys: Mapping[bytes, TrustedKey]

    def get(self, kid: bytes) -> TrustedKey | None:
        """Return the trusted key with this id, or None."""
        return self.keys.get(kid)

    def for_purpose(self, purpose: str) -> list[TrustedKey]:
        """Return the trusted keys bound to ``purpose``."""
        return [k for k in self.keys.values() if k.purpose == purpose]


def make_trust_list(
    root: Ed25519PrivateKey, *, version: int, issued_at: int, certificates: Iterable[bytes]
) -> bytes:
    """Return the root-signed trust list (COSE_Sign1 bytes) listing ``certificates``."""
    body = {1: version, 2: issued_at, 3: list(certificates)}
    return cose.sign1(cbor2.dumps(body, canonical=True), kid=kid_of(public_bytes(root)), key=root)


def load_trust_list(data: bytes, root_public: bytes) -> TrustList:
    """Verify a trust list against the pinned root public key and return it."""
    if len(data) > MAX_TRUST_LIST:
        raise CredentialError(Reason.TOO_LARGE, "trust list")
    msg = cose.parse_sign1(data)
    if msg.kid != kid_of(root_public):
        raise CredentialError(Reason.UNKNOWN_KEY, "trust list not signed by the pinned root")
    msg.verify(_root_key(root_public))
    body = cose.loads(msg.payload)
    if not isinstance(body, dict):
        raise CredentialError(Reason.MALFORMED, "trust list body")
    version, issued_at, certs = body.get(1), body.get(2), body.get(3)
    if type(version) is not int or type(issued_at) is not int or type(certs) is not list:
        raise CredentialError(Reason.MALFORMED, "trust list fields")
    keys: dict[bytes, TrustedKey] = {}
    for cert in certs:
        if type(cert) is not bytes:
            raise CredentialError(Reason.MALFORMED, "trust list entry")
        key = read_certificate(cert, root_public)
        keys[key.kid] = key
    return TrustList(version=version, issued_at=issued_at, keys=keys)


@dataclass(frozen=True, slots=True)
class Signer:
    """A private signing key bound to one purpose, ready to sign credentials or lists."""

    kid: bytes
    purpose: str
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, purpose: str) -> Signer:
        """Create a signer with a fresh key (tests and benchmarks; services use the keystore)."""
        key = Ed25519PrivateKey.generate()
        return cls(kid=kid_of(public_bytes(key)), purpose=purpose, key=key)

    @property
    def public_key(self) -> bytes:
        """Return the raw public key."""
        return public_bytes(self.key)

    def sign(self, claims: Claims) -> str:
        """Sign credential claims and return the QR text; the purposes must match."""
        if claims.purpose.label != self.purpose:
            raise ValueError(f"a {self.purpose} key cannot sign a {claims.purpose.label}")
        return sign_claims(claims, kid=self.kid, key=self.key)

    def sign_payload(self, payload: bytes) -> bytes:
        """Sign arbitrary CBOR bytes (revocation lists) and return COSE_Sign1 bytes."""
        return cose.sign1(payload, kid=self.kid, key=self.key)

    def sign_raw(self, data: bytes) -> bytes:
        """Return the bare Ed25519 signature over ``data`` (gate bundles only)."""
        # A raw signature carries no purpose of its own, so only the bundle key may make one:
        # a credential key signing arbitrary bytes could be made to sign a forged credential.
        if self.purpose != GATE_BUNDLE:
            raise ValueError(f"a {self.purpose} key does not sign raw bytes")
        return self.key.sign(data)

    def certificate(self, root: Ed25519PrivateKey, *, not_before: int, not_after: int) -> bytes:
        """Return the root-signed certificate for this key."""
        return make_certificate(
            root,
            public_key=self.public_key,
            purpose=self.purpose,
            not_before=not_before,
            not_after=not_after,
        )
