"""The signed revocation list: truncated hashes of revoked credential ids, with versions.

Deltas since a version let gates download only what changed.

A list is signed by a ``revocation`` key from the trust list. Hashes (not ids) are listed, so
the list reveals nothing that identifies a badge to someone who has not seen it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import cbor2

from anbao.accreditation.credentials import cose
from anbao.accreditation.credentials.errors import CredentialError, Reason
from anbao.accreditation.credentials.keys import REVOCATION, Signer, TrustList

HASH_LEN = 8
MAX_LIST = 8 * 1024 * 1024


def revocation_hash(cid: bytes) -> bytes:
    """Return the listed form of a credential id: the first 8 bytes of its SHA-256."""
    return hashlib.sha256(cid).digest()[:HASH_LEN]


@dataclass(frozen=True, slots=True)
class RevocationList:
    """A verified list: ``since`` 0 is a full list, otherwise a delta from version ``since``."""

    version: int
    since: int
    issued_at: int
    hashes: frozenset[bytes]

    @property
    def is_delta(self) -> bool:
        """Return whether this list holds only the changes since an earlier version."""
        return self.since > 0


def make_revocation_list(
    signer: Signer, *, version: int, issued_at: int, hashes: Iterable[bytes], since: int = 0
) -> bytes:
    """Return a signed list (full when ``since`` is 0, else the delta since that version)."""
    if signer.purpose != REVOCATION:
        raise ValueError("revocation lists are signed by a revocation key")
    if not 0 <= since <= version:
        raise ValueError("since must lie between 0 and version")
    body = {1: version, 2: issued_at, 3: since, 4: sorted(set(hashes))}
    return signer.sign_payload(cbor2.dumps(body, canonical=True))


def load_revocation_list(data: bytes, trust_list: TrustList, *, now: int) -> RevocationList:
    """Verify a signed list against the trust list and return it."""
    if len(data) > MAX_LIST:
        raise CredentialError(Reason.TOO_LARGE, "revocation list")
    msg = cose.parse_sign1(data)
    key = trust_list.get(msg.kid)
    if key is None:
        raise CredentialError(Reason.UNKNOWN_KEY, "revocation list key")
    msg.verify(key.public_key)
    if key.purpose != REVOCATION:
        raise CredentialError(Reason.WRONG_KEY_PURPOSE, f"a {key.purpose} key signed the list")
    if now > key.not_after:
        raise CredentialError(Reason.KEY_EXPIRED, "revocation list key")
    body = cose.loads(msg.payload)
    if not isinstance(body, dict):
        raise CredentialError(Reason.MALFORMED, "revocation list body")
    version, issued_at, since, hashes = body.get(1), body.get(2), body.get(3), body.get(4)
    if (
        type(version) is not int
        or type(issued_at) is not int
        or type(since) is not int
        or type(hashes) is not list
        or not 0 <= since <= version
    ):
        raise CredentialError(Reason.MALFORMED, "revocation list fields")
    if not all(type(h) is bytes and len(h) == HASH_LEN for h in hashes):
        raise CredentialError(Reason.MALFORMED, "revocation list entries")
    return RevocationList(
        version=version, since=since, issued_at=issued_at, hashes=frozenset(hashes)
    )


@dataclass
class RevocationSet:
    """A gate's current revocations: apply a full list, then deltas; test ids with ``in``."""

    version: int = 0
    hashes: set[bytes] = field(default_factory=set)

    def apply(self, rl: RevocationList) -> bool:
        """Apply a full list or a delta; return False if a delta does not follow on."""
        if not rl.is_delta:
            self.hashes = set(rl.hashes)
            self.version = rl.version
            return True
        if rl.since > self.version:
            return False  # a gap: the gate must fetch a full list or an older delta
        self.hashes |= rl.hashes
        self.version = max(self.version, rl.version)
        return True

    def __contains__(self, item: object) -> bool:
        return item in self.hashes

    def is_revoked(self, cid: bytes) -> bool:
        """Return whether the credential id is revoked."""
        return revocation_hash(cid) in self.hashes
