"""A deterministic credential scheme for tests: seeded keys, a trust list, a fixed now.

The keys are derived from fixed labels, so they are test keys only and every signature
(Ed25519 is deterministic) is reproducible: the stored corpus can be rebuilt byte for byte.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anbao.accreditation.credentials.codec import Claims, Purpose
from anbao.accreditation.credentials.keys import (
    KEY_PURPOSES,
    Signer,
    TrustList,
    kid_of,
    load_trust_list,
    make_trust_list,
    public_bytes,
)
from anbao.accreditation.credentials.policy import Attestation
from anbao.accreditation.credentials.verifier import Checkpoint

NOW = int(datetime(2026, 11, 24, 8, 0, tzinfo=UTC).timestamp())
HOUR = 3600
DAY = 86400
EVENT = "wic2026"
GATE = Checkpoint(code="wicc-n", venue="wicc", zone="1", event=EVENT)


def seeded_key(label: str) -> Ed25519PrivateKey:
    """Return a reproducible test key derived from ``label``."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def seeded_signer(purpose: str, label: str = "") -> Signer:
    """Return a reproducible signer for ``purpose``."""
    key = seeded_key(f"signer:{purpose}:{label}")
    return Signer(kid=kid_of(public_bytes(key)), purpose=purpose, key=key)


@dataclass
class Scheme:
    """Root, one signer per purpose, and the verified trust list that lists them."""

    root: Ed25519PrivateKey
    signers: dict[str, Signer]
    trust_bytes: bytes
    trust: TrustList
    extra: dict[str, Signer] = field(default_factory=dict)

    @property
    def root_public(self) -> bytes:
        """Return the pinned root public key."""
        return public_bytes(self.root)


def make_scheme(*, expired: tuple[str, ...] = (), version: int = 1) -> Scheme:
    """Build the test scheme; ``expired`` names extra keys (by purpose) that expired a day ago."""
    root = seeded_key("root")
    signers = {p: seeded_signer(p) for p in KEY_PURPOSES}
    certs = [s.certificate(root, not_before=NOW - 30 * DAY, not_after=NOW + 60 * DAY)
             for s in signers.values()]  # fmt: skip
    extra = {}
    for purpose in expired:
        old = seeded_signer(purpose, "expired")
        extra[f"expired:{purpose}"] = old
        certs.append(old.certificate(root, not_before=NOW - 90 * DAY, not_after=NOW - DAY))
    data = make_trust_list(root, version=version, issued_at=NOW, certificates=certs)
    return Scheme(
        root=root,
        signers=signers,
        trust_bytes=data,
        trust=load_trust_list(data, public_bytes(root)),
        extra=extra,
    )


def badge_claims(n: int = 0, **changes: Any) -> Claims:
    """Return typical badge claims (6 zones, 3 venues); ``n`` varies the credential id."""
    claims = Claims(
        cid=hashlib.sha256(f"cid:{n}".encode()).digest()[:16],
        purpose=Purpose.BADGE,
        event=EVENT,
        nbf=NOW - DAY,
        exp=NOW + 5 * DAY,
        iat=NOW - DAY,
        category="VIP",
        zones=("1", "2", "3", "4", "5", "6"),
        venues=("wicc", "xizha", "hotels"),
        photo=hashlib.sha256(b"photo").digest()[:8],
    )
    return replace(claims, **changes)


def healthy(now: int = NOW) -> list[Attestation]:
    """Return a green code an hour old and a negative test sampled 20 hours ago."""
    return [
        Attestation("health_code", {"colour": "green"}, now - HOUR),
        Attestation("nat_test", {"result": "negative"}, now - 20 * HOUR),
    ]
