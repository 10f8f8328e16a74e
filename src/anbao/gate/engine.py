"""The offline decision: the pure verifier plus the checks the server adds, from the bundle.

Same outcomes as :mod:`anbao.screening.decisions`: unknown credential, revoked, suspended,
vetting pending, anti-passback from the gate's own inside state, and refused exits that are
not about authenticity become ``attention`` so nobody is kept inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from anbao.accreditation.credentials.errors import Reason
from anbao.accreditation.credentials.policy import Attestation, Context
from anbao.accreditation.credentials.verifier import (
    ALLOW,
    ATTENTION,
    DENY,
    Decision,
    Status,
    verify,
)
from anbao.gate.bundle import Bundle, attestations_of, holder_key
from anbao.screening.reasons import AUTHENTICITY_REASONS, texts

ENTRY, EXIT = "entry", "exit"
HEALTH_REASONS = frozenset({"health_required", "health_expired"})
#: Reasons only the gate gives (no bundle yet); texts for the lane screen.
GATE_TEXT = {"no_bundle": ("无离线数据，请联系主管", "No offline data: call the supervisor")}  # noqa: RUF001


@dataclass
class Outcome:
    """One decision as the lane screen shows it and the journal keeps it."""

    status: str
    reason: str
    direction: str
    rule: str = ""
    detail: str = ""
    cid: str = ""
    accreditation_id: int | None = None
    person_id: int | None = None
    name: str = ""
    category: str = ""
    photo: str = ""
    text_zh: str = ""
    text_en: str = ""
    rule_zh: str = ""
    rule_en: str = ""

    def as_json(self) -> dict[str, Any]:
        """Return the outcome as a JSON-ready dict."""
        # Every field is a plain value: a shallow copy does what asdict does, 20 times faster.
        return dict(self.__dict__)


def reason_texts(reason: str) -> tuple[str, str]:
    """Return the zh-Hans and en texts of a reason, gate-only reasons included."""
    return GATE_TEXT.get(reason) or texts(reason)


def recheck(
    decision: Decision, bundle: Bundle, facts: Sequence[Attestation], now: datetime
) -> Decision:
    """Return what ``verify`` answers with the holder's ``facts`` after a health refusal.

    Such a refusal comes from the policy, the last step of ``verify``: every earlier check
    passed and does not depend on facts, so only the policy is evaluated again, with the
    context ``verify`` builds. This saves a second signature check per scan under a health
    policy; tests/gate/test_engine.py checks that it answers as ``verify`` does.
    """
    claims, policy, gate = decision.claims, bundle.policy, bundle.gate
    if claims is None or policy is None:
        return decision
    ctx = Context(
        vars={
            "credential.purpose": claims.purpose.label,
            "credential.event": claims.event,
            "credential.category": claims.category,
            "credential.zones": claims.zones,
            "credential.venues": claims.venues,
            "credential.plate": claims.plate,
            "checkpoint.code": gate.code,
            "checkpoint.venue": gate.venue,
            "checkpoint.zone": gate.zone,
            "now": int(now.timestamp()),
        },
        attestations=facts,
    )
    refusal = policy.evaluate(ctx)
    if refusal is None:
        return Decision(status=ALLOW, reason=Reason.OK, claims=claims)
    status: Status = DENY if refusal.outcome == "deny" else ATTENTION
    return Decision(status=status, reason=refusal.reason, claims=claims, rule=refusal.rule)


def decide(
    bundle: Bundle | None,
    inside: set[str],
    qr_text: str,
    direction: str,
    now: datetime,
) -> Outcome:
    """Decide one scan offline and move ``inside`` as an allowed passage does."""
    if bundle is None:
        zh, en = reason_texts("no_bundle")
        return Outcome("deny", "no_bundle", direction, text_zh=zh, text_en=en)
    decision = verify(
        qr_text,
        trust_list=bundle.trust,
        revocations=bundle.revocations,
        policy=bundle.policy,
        checkpoint=bundle.gate,
        now=now,
    )
    out = Outcome(decision.status, decision.reason.value, direction, detail=decision.detail[:200])
    entry = None
    if decision.claims is not None:
        out.cid = decision.claims.cid.hex()
        entry = bundle.people.get(out.cid)
        # The bundle leaves out credentials that the signed claims already refuse here
        # (expired, another zone...): for those the verifier's reason is the server's too.
        # One that passed the claims' checks but is not listed is not ours.
        if entry is None and (decision.status == "allow" or decision.rule is not None):
            out.status, out.reason, out.detail = "deny", "unknown_credential", ""
            out.rule = ""
    if entry is not None:
        if decision.reason.value in HEALTH_REASONS and entry.get("attestations"):
            # As the server does: a health refusal is looked at again with the holder's facts
            # (without facts the second look could only repeat the first).
            decision = recheck(decision, bundle, attestations_of(entry), now)
            out.status, out.reason = decision.status, decision.reason.value
            out.detail = decision.detail[:200]
        if decision.rule is not None:
            rule = decision.rule
            out.rule, out.rule_zh, out.rule_en = rule.id, rule.zh, rule.en
        status, flag = entry.get("status", ""), entry.get("flag", "")
        if decision.reason.value == "revoked" or status == "revoked":
            out.status, out.reason = "deny", "revoked"
        elif status == "suspended":
            out.status, out.reason = "deny", "suspended"
        elif flag == "vetting_pending":
            out.status, out.reason = "deny", "vetting_pending"
        out.accreditation_id = entry.get("accreditation_id")
        out.person_id = entry.get("person_id")
        out.name = str(entry.get("name") or "")
        out.category = str(entry.get("category") or "")
        photo = entry.get("photo")
        out.photo = f"data:image/jpeg;base64,{photo}" if photo else ""
    if out.status != "allow" and direction == EXIT and out.reason not in AUTHENTICITY_REASONS:
        out.status = "attention"  # nobody is kept inside; the operator notes the refusal
    key = holder_key(entry) if entry is not None else None
    if key is not None:
        if out.status != "deny" and bundle.anti_passback:
            if direction == ENTRY and key in inside:
                out.status, out.reason = "deny", "already_inside"
                out.rule, out.rule_zh, out.rule_en = "anti_passback", "", ""
            elif direction == EXIT and key not in inside:
                out.status, out.reason = "deny", "not_inside"
                out.rule, out.rule_zh, out.rule_en = "anti_passback", "", ""
        if out.status != "deny":
            move(inside, key, direction)
    out.text_zh, out.text_en = reason_texts(out.reason)
    return out


def move(inside: set[str], key: str, direction: str) -> None:
    """Record an allowed passage in the inside set."""
    if direction == ENTRY:
        inside.add(key)
    else:
        inside.discard(key)
