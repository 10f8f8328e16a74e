"""Pure test material for the gate: keys, a trust list, credentials and signed bundles."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anbao.accreditation.credentials.codec import Claims, Purpose
from anbao.accreditation.credentials.keys import Signer, make_trust_list, public_bytes
from anbao.accreditation.credentials.revocation import revocation_hash
from anbao.screening.bundle_format import encode_bundle

NOW = 1_794_196_800  # 2026-11-09 02:00 UTC, an event day
DAY = 86_400


@dataclass
class Keys:
    """A root, signing keys for badges and vehicles, and a gate bundle key."""

    root: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    badge: Signer = field(default_factory=lambda: Signer.generate("badge"))
    vehicle: Signer = field(default_factory=lambda: Signer.generate("vehicle"))
    bundle: Signer = field(default_factory=lambda: Signer.generate("gate_bundle"))

    @property
    def root_public(self) -> bytes:
        return public_bytes(self.root)

    def trust_list(self, *signers: Signer) -> bytes:
        certs = [
            s.certificate(self.root, not_before=NOW - 30 * DAY, not_after=NOW + 300 * DAY)
            for s in (signers or (self.badge, self.vehicle, self.bundle))
        ]
        return make_trust_list(self.root, version=1, issued_at=NOW, certificates=certs)


def claims(**kw: Any) -> Claims:
    """Return badge claims valid at NOW for zone 1 of venue wicc."""
    base = Claims(
        cid=os.urandom(16),
        purpose=Purpose.BADGE,
        event="wic2026",
        nbf=NOW - DAY,
        exp=NOW + 5 * DAY,
        iat=NOW - DAY,
        category="VIP",
        zones=("1",),
        venues=("wicc",),
    )
    return replace(base, **kw)


def person(c: Claims, n: int, **kw: Any) -> dict[str, Any]:
    """Return a bundle people entry for claims ``c``."""
    entry: dict[str, Any] = {
        "cid": c.cid.hex(),
        "accreditation_id": n,
        "person_id": 1000 + n,
        "name": f"王伟{n}",
        "category": c.category,
        "status": "approved",
        "flag": "",
        "inside": False,
        "attestations": [],
    }
    entry.update(kw)
    return entry


def payload(
    keys: Keys,
    people: list[dict[str, Any]],
    *,
    serial: int = 1,
    revoked: list[bytes] = (),  # type: ignore[assignment]
    policy: dict[str, Any] | None = None,
    anti_passback: bool = True,
    trust: bytes | None = None,
) -> dict[str, Any]:
    """Return a bundle payload for lane l1 of checkpoint wicc-n."""
    import base64

    return {
        "format": "anbao-gate-bundle/1",
        "serial": serial,
        "built_at": "2026-11-09T02:00:00+00:00",
        "event": "wic2026",
        "checkpoint": "wicc-n",
        "lane": "l1",
        "device": "GS-wicc-n-l1",
        "gate": {
            "code": "wicc-n",
            "venue": "wicc",
            "zone": "1",
            "event": "wic2026",
            "accepts": ["badge", "day_pass", "vehicle"],
        },
        "from_zone": None,
        "to_zone": 1,
        "rules": {"anti_passback": anti_passback, "auto_checkout_hour": 4},
        "trust_list": base64.b64encode(trust or keys.trust_list()).decode(),
        "revocations": sorted(revocation_hash(cid).hex() for cid in revoked),
        "policy": policy or {"id": "none", "title": {"zh": "无", "en": "None"}, "rules": []},
        "people": people,
    }


def envelope(keys: Keys, body: dict[str, Any], signer: Signer | None = None) -> dict[str, Any]:
    """Sign a payload as the server does."""
    return encode_bundle(body, signer or keys.bundle)
