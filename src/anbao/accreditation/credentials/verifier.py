"""The pure verify function: QR text + trust list + revocations + policy → a decision.

No database, no clock, no I/O: everything comes in as arguments, so the server, an offline
gate and the tests run the same code. Checks run cheapest-first and stop at the first refusal.
"""

from __future__ import annotations

from collections.abc import Container, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from anbao.accreditation.credentials import cose
from anbao.accreditation.credentials.codec import (
    Claims,
    HealthColour,
    Purpose,
    decode_claims,
    unwrap,
)
from anbao.accreditation.credentials.errors import CredentialError, Reason
from anbao.accreditation.credentials.keys import TrustList
from anbao.accreditation.credentials.policy import Attestation, Context, Policy, RuleRef
from anbao.accreditation.credentials.revocation import revocation_hash

Status = Literal["allow", "deny", "attention"]
ALLOW: Status = "allow"
DENY: Status = "deny"
ATTENTION: Status = "attention"
#: Purposes a gate accepts unless its checkpoint says otherwise (a health pass alone is not
#: an access right).
DEFAULT_ACCEPTS = frozenset({"badge", "day_pass", "vehicle"})


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the scan happens: the checkpoint code, its venue, the zone it leads into."""

    code: str
    venue: str = ""
    zone: str = ""
    event: str = ""
    accepts: frozenset[str] = DEFAULT_ACCEPTS


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one scan: status, a stable reason, the claims and the refusing rule."""

    status: Status
    reason: Reason
    claims: Claims | None = None
    rule: RuleRef | None = None
    detail: str = ""

    @property
    def allowed(self) -> bool:
        """Return whether the holder may pass."""
        return self.status == ALLOW

    def as_json(self) -> dict[str, Any]:
        """Return the decision as a JSON-ready dict."""
        return {
            "status": self.status,
            "reason": self.reason.value,
            "detail": self.detail,
            "claims": self.claims.as_json() if self.claims else None,
            "rule": (
                {"id": self.rule.id, "zh": self.rule.zh, "en": self.rule.en} if self.rule else None
            ),
        }


#: Verified texts remembered at most (then the cache starts again): about 30 MB of badges.
VERIFIED_CACHE_MAX = 50_000


def _epoch(now: datetime | float) -> int:
    return int(now.timestamp()) if isinstance(now, datetime) else int(now)


def authenticate(
    qr_text: Any,
    *,
    trust_list: TrustList,
    now: datetime | float,
    cache: MutableMapping[str, tuple[bytes, Claims]] | None = None,
) -> Claims:
    """Decode QR text and check its signature and key; raise :class:`CredentialError`.

    This proves who signed the claims; it does not check validity, revocation or access.
    ``cache`` remembers texts whose signature checked out, by text: a badge scanned again
    skips decoding and the signature check, but its key must still be trusted and in date.
    """
    hit = cache.get(qr_text) if cache is not None and isinstance(qr_text, str) else None
    if hit is not None:
        kid, claims = hit
        key = trust_list.get(kid)
        if key is None:
            raise CredentialError(Reason.UNKNOWN_KEY, kid.hex())
    else:
        msg = cose.parse_sign1(unwrap(qr_text))
        kid = msg.kid
        key = trust_list.get(kid)
        if key is None:
            raise CredentialError(Reason.UNKNOWN_KEY, kid.hex())
        # The kid is the key's own hash, so a trusted kid names exactly the key checked here.
        msg.verify(key.public_key)
        claims = decode_claims(msg.payload)
        if cache is not None and isinstance(qr_text, str):
            if len(cache) >= VERIFIED_CACHE_MAX:
                cache.clear()
            cache[qr_text] = (kid, claims)
    if key.purpose != claims.purpose.label:
        raise CredentialError(
            Reason.WRONG_KEY_PURPOSE, f"a {key.purpose} key signed a {claims.purpose.label}"
        )
    t = _epoch(now)
    if t > key.not_after or claims.iat > key.not_after:
        raise CredentialError(Reason.KEY_EXPIRED, kid.hex())
    if t < key.not_before or claims.iat < key.not_before:
        raise CredentialError(Reason.KEY_EXPIRED, f"{kid.hex()} not yet valid")
    return claims


def health_attestations(health_pass: Claims) -> list[Attestation]:
    """Return the attestations a verified health pass vouches for."""
    out: list[Attestation] = []
    until = health_pass.exp
    if health_pass.colour is not HealthColour.NONE:
        at = health_pass.colour_at or health_pass.iat
        value = {"colour": health_pass.colour.name.lower()}
        out.append(Attestation("health_code", value, at, until))
    if health_pass.tested_at:
        value = {"result": "negative"}
        out.append(Attestation("nat_test", value, health_pass.tested_at, until))
    return out


def _deny(reason: Reason, claims: Claims | None = None, detail: str = "") -> Decision:
    return Decision(status=DENY, reason=reason, claims=claims, detail=detail)


def _check_health_pass(
    text: str, badge: Claims, trust_list: TrustList, revocations: Container[bytes], now: int
) -> list[Attestation] | Decision:
    try:
        hp = authenticate(text, trust_list=trust_list, now=now)
    except CredentialError as exc:
        return _deny(exc.reason, badge, f"health pass: {exc.detail}")
    if hp.purpose is not Purpose.HEALTH_PASS:
        return _deny(Reason.PURPOSE_DENIED, badge, "the second code is not a health pass")
    if hp.subject != badge.cid:
        return _deny(Reason.HEALTH_PASS_MISMATCH, badge, "health pass for another badge")
    if revocation_hash(hp.cid) in revocations:
        return _deny(Reason.REVOKED, badge, "health pass revoked")
    if now >= hp.exp:
        return _deny(Reason.HEALTH_EXPIRED, badge, "health pass expired")
    if now < hp.nbf:
        return _deny(Reason.NOT_YET_VALID, badge, "health pass not yet valid")
    return health_attestations(hp)


def verify(
    qr_text: Any,
    *,
    trust_list: TrustList,
    revocations: Container[bytes],
    policy: Policy | None,
    checkpoint: Checkpoint,
    now: datetime | float,
    attestations: Sequence[Attestation] = (),
    health_pass: str | None = None,
    cache: MutableMapping[str, tuple[bytes, Claims]] | None = None,
) -> Decision:
    """Decide whether the holder of ``qr_text`` may pass ``checkpoint`` at ``now``.

    ``revocations`` holds truncated hashes (:func:`revocation_hash`); ``attestations`` are
    the holder's known facts (from the gate bundle or online); ``health_pass`` is the text of
    a phone-shown health pass, whose facts are added when it is valid and bound to the badge.
    Never raises on bad input: every refusal is a decision with a reason.
    """
    t = _epoch(now)
    try:
        claims = authenticate(qr_text, trust_list=trust_list, now=t, cache=cache)
    except CredentialError as exc:
        return _deny(exc.reason, None, exc.detail)
    if revocation_hash(claims.cid) in revocations:
        return _deny(Reason.REVOKED, claims)
    if t < claims.nbf:
        return _deny(Reason.NOT_YET_VALID, claims)
    if t >= claims.exp:
        return _deny(Reason.EXPIRED, claims)
    if checkpoint.event and claims.event != checkpoint.event:
        return _deny(Reason.WRONG_EVENT, claims, claims.event)
    purpose = claims.purpose.label
    if purpose not in checkpoint.accepts:
        return _deny(Reason.PURPOSE_DENIED, claims, purpose)
    if checkpoint.venue and checkpoint.venue not in claims.venues:
        return _deny(Reason.VENUE_DENIED, claims, checkpoint.venue)
    if checkpoint.zone and checkpoint.zone not in claims.zones:
        return _deny(Reason.ZONE_DENIED, claims, checkpoint.zone)
    if policy is None or not policy.rules:
        return Decision(status=ALLOW, reason=Reason.OK, claims=claims)
    facts = attestations
    if health_pass is not None:
        extra = _check_health_pass(health_pass, claims, trust_list, revocations, t)
        if isinstance(extra, Decision):
            return extra
        facts = [*attestations, *extra]
    ctx = Context(
        vars={
            "credential.purpose": purpose,
            "credential.event": claims.event,
            "credential.category": claims.category,
            "credential.zones": claims.zones,
            "credential.venues": claims.venues,
            "credential.plate": claims.plate,
            "checkpoint.code": checkpoint.code,
            "checkpoint.venue": checkpoint.venue,
            "checkpoint.zone": checkpoint.zone,
            "now": t,
        },
        attestations=facts,
    )
    refusal = policy.evaluate(ctx)
    if refusal is None:
        return Decision(status=ALLOW, reason=Reason.OK, claims=claims)
    status: Status = DENY if refusal.outcome == "deny" else ATTENTION
    return Decision(status=status, reason=refusal.reason, claims=claims, rule=refusal.rule)
