"""The scan decision: verify a credential online, apply server-side rules, record the passage.

A scan is one call from a gate scanner (or an operator's manual lookup). The pure verifier
decides on the credential; this service adds what only the server knows (the accreditation's
current status, whether the credential is ours, anti-passback), stores a :class:`Passage`,
keeps :class:`Presence` live, and answers a replayed nonce with the first answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from anbao.accreditation import access, issuance, keystore
from anbao.accreditation.credentials.keys import TrustList, load_trust_list
from anbao.accreditation.credentials.verifier import verify
from anbao.accreditation.models import Accreditation, IssuedCredential
from anbao.core import bus, clock, idempotency
from anbao.core.errors import DomainError, Forbidden, NotFound
from anbao.screening.events import PassageRecorded
from anbao.screening.models import CheckpointRules, Direction, Passage, Presence
from anbao.screening.reasons import AUTHENTICITY_REASONS, REASON_TEXT
from anbao.sites.models import Device, Lane

__all__ = [
    "AUTHENTICITY_REASONS",
    "REASON_TEXT",
    "ScanResult",
    "check_device_lane",
    "clear_cache",
    "move_presence",
    "resolve_lane",
    "rules_for",
    "scan",
]

MAX_QR = 2000
CLOCK_SKEW_FLAG = timedelta(minutes=5)


@dataclass(frozen=True)
class ScanResult:
    """The answer to one scan, as stored for replays and shown on the device."""

    passage_id: int
    status: str
    reason: str
    rule: str
    detail: str
    direction: str
    checkpoint: str
    lane: str
    cid: str
    accreditation_id: int | None
    person_id: int | None
    name: str
    category: str
    photo_url: str
    flags: list[str] = field(default_factory=list)
    text_zh: str = ""
    text_en: str = ""
    server_time: str = ""
    duplicate: bool = False

    def as_json(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict (the idempotency receipt)."""
        return asdict(self)


def rules_for(checkpoint_id: int) -> CheckpointRules:
    """Return a checkpoint's scan rules (defaults, unsaved, when none are stored)."""
    rows = list(CheckpointRules.objects.filter(checkpoint_id=checkpoint_id).order_by()[:1])
    return rows[0] if rows else CheckpointRules(checkpoint_id=checkpoint_id)


def resolve_lane(*, event_id: int, checkpoint_code: str, lane_code: str) -> Lane:
    """Return the lane ``lane_code`` of checkpoint ``checkpoint_code`` with what a scan needs."""
    rows = list(
        Lane.objects.select_related(
            "checkpoint__venue", "checkpoint__event", "checkpoint__to_zone", "checkpoint__from_zone"
        )
        .filter(checkpoint__event_id=event_id, checkpoint__code=checkpoint_code, code=lane_code)
        .order_by()[:1]
    )
    lane = rows[0] if rows else None
    if lane is None:
        raise NotFound(
            "screening.unknown_lane", f"No lane {lane_code!r} at checkpoint {checkpoint_code!r}."
        )
    return lane


def check_device_lane(device: Device, lane: Lane) -> None:
    """Refuse a device token used for a lane the device does not serve."""
    if device.lane_id != lane.pk:
        raise Forbidden("auth.device_mismatch", "This device does not serve that lane.")


_trust_cache: dict[str, tuple[datetime, TrustList]] = {}
TRUST_TTL = timedelta(seconds=30)


def clear_cache() -> None:
    """Forget the cached trust list (after a key change; tests)."""
    _trust_cache.clear()


def _trust() -> TrustList:
    now = clock.now()
    hit = _trust_cache.get("trust")
    if hit is not None and timedelta(0) <= now - hit[0] < TRUST_TTL:
        return hit[1]
    trust = load_trust_list(keystore.trust_list(), keystore.root_public_key())
    _trust_cache["trust"] = (now, trust)
    return trust


def _credential(cid: str) -> IssuedCredential | None:
    rows = list(
        IssuedCredential.objects.select_related("accreditation__person", "accreditation__category")
        .defer("qr_svg", "qr_png", "claims", "qr_text", "accreditation__person__photo")
        .filter(cid=cid)
        .order_by()[:1]
    )
    return rows[0] if rows else None


@dataclass
class _Outcome:
    status: str
    reason: str
    rule: str = ""
    detail: str = ""
    cid: str = ""
    accreditation: Accreditation | None = None


def _decide(qr_text: str, lane: Lane, now: datetime) -> _Outcome:
    """Verify ``qr_text`` and apply the server-side credential and accreditation checks."""
    cp = lane.checkpoint
    gate = access.gate_checkpoint(cp)
    policy = access.active_policy(cp.event)
    trust = _trust()
    revoked = access.revoked_hashes()
    decision = verify(
        qr_text, trust_list=trust, revocations=revoked, policy=policy, checkpoint=gate, now=now
    )
    if decision.claims is None:
        return _Outcome("deny", decision.reason.value, detail=decision.detail[:200])
    cid = decision.claims.cid.hex()
    cred = _credential(cid)
    if cred is None:
        return _Outcome("deny", "unknown_credential", cid=cid)
    acc = cred.accreditation
    if decision.reason.value in ("health_required", "health_expired") and acc is not None:
        decision = verify(
            qr_text,
            trust_list=trust,
            revocations=revoked,
            policy=policy,
            checkpoint=gate,
            now=now,
            attestations=issuance.attestations_for(acc.person_id, now=now),
        )
    out = _Outcome(
        decision.status,
        decision.reason.value,
        rule=decision.rule.id if decision.rule else "",
        detail=decision.detail[:200],
        cid=cid,
        accreditation=acc,
    )
    acc_revoked = acc is not None and acc.status == "revoked"
    if decision.reason.value == "revoked" or cred.revoked_at is not None or acc_revoked:
        out.status, out.reason = "deny", "revoked"
    elif acc is not None and acc.status == "suspended":
        out.status, out.reason = "deny", "suspended"
    elif acc is not None and acc.flag == "vetting_pending":
        out.status, out.reason = "deny", "vetting_pending"
    return out


def _apply_presence(out: _Outcome, lane: Lane, direction: str, anti_passback: bool) -> None:
    """Refuse by anti-passback when the recorded presence contradicts the direction."""
    acc = out.accreditation
    if acc is None or out.status == "deny" or not anti_passback:
        return
    inside = Presence.objects.filter(accreditation=acc, zone_id=lane.checkpoint.to_zone_id).exists()
    if direction == Direction.ENTRY and inside:
        out.status, out.reason, out.rule = "deny", "already_inside", "anti_passback"
    elif direction == Direction.EXIT and not inside:
        out.status, out.reason, out.rule = "deny", "not_inside", "anti_passback"


def move_presence(passage: Passage, *, zone_from: int | None, zone_to: int | None) -> None:
    """Move the passage's holder out of ``zone_from`` and into ``zone_to``."""
    acc_id = passage.accreditation_id
    if acc_id is None:
        return
    if zone_from is not None:
        Presence.objects.filter(accreditation_id=acc_id, zone_id=zone_from).delete()
    if zone_to is not None:
        Presence.objects.update_or_create(
            accreditation_id=acc_id,
            zone_id=zone_to,
            defaults={"since": passage.server_time, "passage": passage},
        )


def _flags(out: _Outcome, device_time: datetime | None, now: datetime) -> list[str]:
    flags: list[str] = []
    if out.status == "attention" and out.rule:
        flags.append(f"rule:{out.rule}")
    acc = out.accreditation
    if acc is not None and not acc.person.photo_sha256:
        flags.append("no_photo")
    if device_time is not None and abs(device_time - now) > CLOCK_SKEW_FLAG:
        flags.append("device_clock_skew")
    return flags


def _qr_for_accreditation(accreditation_id: int) -> str | None:
    acc = Accreditation.objects.filter(pk=accreditation_id).first()
    if acc is None:
        raise NotFound("screening.unknown_accreditation", f"No accreditation {accreditation_id}.")
    cred = issuance.active_credential(acc)
    return cred.qr_text if cred else None


@transaction.atomic
def scan(
    *,
    lane: Lane,
    direction: str,
    nonce: str,
    source: str,
    qr_text: str | None = None,
    accreditation_id: int | None = None,
    device: Device | None = None,
    operator: Any = None,
    device_time: datetime | None = None,
) -> ScanResult:
    """Decide one scan at ``lane``, record its passage and presence; a replayed nonce repeats."""
    if direction not in Direction.values:
        raise DomainError("screening.bad_direction", "direction must be entry or exit.")
    if not nonce or len(nonce) > 100:
        raise DomainError("screening.bad_nonce", "nonce must be 1 to 100 characters.")
    if (qr_text is None) == (accreditation_id is None):
        raise DomainError(
            "screening.bad_request", "Send either qr_text or accreditation_id, not both."
        )
    if qr_text is not None and len(qr_text) > MAX_QR:
        raise DomainError("screening.qr_too_large", f"qr_text is over {MAX_QR} characters.")
    previous = idempotency.seen(source, nonce)
    if previous is not None:
        return ScanResult(**{**previous, "duplicate": True})
    now = clock.now()
    cp = lane.checkpoint
    manual = accreditation_id is not None
    text = _qr_for_accreditation(accreditation_id) if accreditation_id is not None else qr_text
    out = _decide(text, lane, now) if text is not None else _Outcome("deny", "unknown_credential")
    exit_refused = out.status != "allow" and direction == Direction.EXIT
    if exit_refused and out.reason not in AUTHENTICITY_REASONS:
        out.status = "attention"  # nobody is kept inside; the operator notes the refusal
    rules = rules_for(cp.pk)
    _apply_presence(out, lane, direction, rules.anti_passback)
    passage = Passage.objects.create(
        cid=out.cid,
        accreditation=out.accreditation,
        checkpoint=cp,
        lane=lane,
        device=device,
        operator=operator,
        manual=manual,
        direction=direction,
        status=out.status,
        reason=out.reason,
        rule=out.rule[:100],
        detail=out.detail,
        device_time=device_time,
        server_time=now,
        nonce=nonce,
    )
    if out.status != "deny":
        if direction == Direction.ENTRY:
            move_presence(passage, zone_from=cp.from_zone_id, zone_to=cp.to_zone_id)
        else:
            move_presence(passage, zone_from=cp.to_zone_id, zone_to=cp.from_zone_id)
    acc = out.accreditation
    zh, en = REASON_TEXT.get(out.reason, (out.reason, out.reason))
    result = ScanResult(
        passage_id=passage.pk,
        status=out.status,
        reason=out.reason,
        rule=out.rule,
        detail=out.detail,
        direction=direction,
        checkpoint=cp.code,
        lane=lane.code,
        cid=out.cid,
        accreditation_id=acc.pk if acc else None,
        person_id=acc.person_id if acc else None,
        name=acc.person.display_name() if acc else "",
        category=acc.category.code if acc else "",
        photo_url=f"/api/screening/people/{acc.person_id}/photo" if acc else "",
        flags=_flags(out, device_time, now),
        text_zh=zh,
        text_en=en,
        server_time=now.isoformat(),
    )
    if not idempotency.remember(source, nonce, result.as_json()):
        # Another worker answered the same nonce first: undo ours and repeat its answer.
        stored = idempotency.seen(source, nonce) or result.as_json()
        transaction.set_rollback(True)
        return ScanResult(**{**stored, "duplicate": True})
    bus.publish(
        PassageRecorded(
            passage_id=passage.pk,
            checkpoint=cp.code,
            lane=lane.code,
            direction=direction,
            status=out.status,
            reason=out.reason,
            zone=cp.to_zone.number,
            at=now.isoformat(),
        )
    )
    return result
