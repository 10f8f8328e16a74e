"""Access policies per event, and online verification with the same pure engine as the gates.

The policy test box ("would this person pass checkpoint X now?") and online checks call
:func:`check_access`; it feeds :func:`credentials.verifier.verify` the current trust list,
revocations and the holder's attestations from the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import transaction

from anbao.accreditation import issuance, keystore
from anbao.accreditation.credentials import policy as P
from anbao.accreditation.credentials.errors import PolicyError
from anbao.accreditation.credentials.keys import load_trust_list
from anbao.accreditation.credentials.verifier import Checkpoint, Decision, verify
from anbao.accreditation.models import AccessPolicy, IssuedCredential, RevocationEntry
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.sites.models import Checkpoint as CheckpointRow
from anbao.sites.models import Event

DEFAULT_PRESET = "no-health"


def compile_policy(document: Any) -> P.Policy:
    """Validate a policy document; refuse it with ``credentials.invalid_policy`` and a path."""
    try:
        return P.Policy.from_document(document)
    except PolicyError as exc:
        raise DomainError(
            "credentials.invalid_policy",
            f"The policy is not valid: {exc}",
            problems=[FieldProblem(field=exc.path, message=exc.message, code="invalid_policy")],
        ) from None


# Bumped whenever this process changes a policy, so caches of the active policy (the scan
# decision's) drop it at once instead of waiting for their expiry.
_generation = [0]


def policy_generation() -> int:
    """Return a number that changes whenever this process stores a policy."""
    return _generation[0]


@transaction.atomic
def set_policy(*, event: Event, document: Any, activate: bool = True) -> AccessPolicy:
    """Store (and by default activate) an event's policy document after validating it."""
    compiled = compile_policy(document)
    _generation[0] += 1
    transaction.on_commit(lambda: _generation.__setitem__(0, _generation[0] + 1))
    row, _ = AccessPolicy.objects.update_or_create(
        event=event,
        code=compiled.id,
        defaults={"document": document, "updated_at": clock.now(), "active": activate},
    )
    if activate:
        AccessPolicy.objects.filter(event=event).exclude(pk=row.pk).update(active=False)
    audit.record(
        "credentials.policy_set",
        obj=row,
        after={"code": row.code, "active": row.active, "rules": len(compiled.rules)},
    )
    return row


@transaction.atomic
def use_preset(*, event: Event, name: str) -> AccessPolicy:
    """Activate a shipped preset (``epidemic-2020`` or ``no-health``) for the event."""
    if name not in P.PRESETS:
        raise NotFound("credentials.unknown_preset", f"No preset {name!r}.")
    return set_policy(event=event, document=P.preset_document(name))


# Compiled policies by their document's text: every scan needs the policy, and compiling the
# document costs more than the rest of the decision's pure work.
_compiled: dict[str, P.Policy] = {}


def active_policy(event: Event) -> P.Policy:
    """Return the event's active policy (the no-health preset when none is set)."""
    row = AccessPolicy.objects.filter(event=event, active=True).only("document").first()
    if row is None:
        return P.preset(DEFAULT_PRESET)
    key = json.dumps(row.document, sort_keys=True)
    policy = _compiled.get(key)
    if policy is None:
        policy = compile_policy(row.document)
        if len(_compiled) > 64:
            _compiled.clear()
        _compiled[key] = policy
    return policy


def gate_checkpoint(row: CheckpointRow) -> Checkpoint:
    """Return the pure checkpoint a gate at ``row`` verifies against."""
    zone = row.to_zone.number
    accepts = {"pedestrian": {"badge", "day_pass"}, "vehicle": {"vehicle"}}.get(
        str(row.kind), {"badge", "day_pass", "vehicle"}
    )
    return Checkpoint(
        code=row.code,
        venue=row.venue.code,
        zone=zone,
        event=row.event.code,
        accepts=frozenset(accepts),
    )


def revoked_hashes() -> set[bytes]:
    """Return the truncated hashes of every revoked credential."""
    return {bytes.fromhex(h) for h in RevocationEntry.objects.values_list("hash", flat=True)}


def check_access(
    *,
    qr_text: str,
    event: Event,
    checkpoint_code: str,
    now: datetime | None = None,
    health_pass: str | None = None,
    policy: P.Policy | None = None,
) -> Decision:
    """Verify a credential online, as the gate at ``checkpoint_code`` would offline."""
    row = (
        CheckpointRow.objects.select_related("venue", "event", "to_zone")
        .filter(event=event, code=checkpoint_code)
        .first()
    )
    if row is None:
        raise NotFound("credentials.unknown_checkpoint", f"No checkpoint {checkpoint_code!r}.")
    when = now or clock.now()
    trust = load_trust_list(keystore.trust_list(), keystore.root_public_key())
    decision = verify(
        qr_text,
        trust_list=trust,
        revocations=revoked_hashes(),
        policy=policy or active_policy(event),
        checkpoint=gate_checkpoint(row),
        now=when,
        health_pass=health_pass,
    )
    if decision.claims is None or decision.reason.value not in (
        "health_required",
        "health_expired",
    ):
        return decision
    # The credential is authentic but lacks health facts: add those on record and decide again.
    cred = (
        IssuedCredential.objects.select_related("accreditation")
        .filter(cid=decision.claims.cid.hex())
        .first()
    )
    if cred is None or cred.accreditation is None:
        return decision
    return verify(
        qr_text,
        trust_list=trust,
        revocations=revoked_hashes(),
        policy=policy or active_policy(event),
        checkpoint=gate_checkpoint(row),
        now=when,
        attestations=issuance.attestations_for(cred.accreditation.person_id, now=when),
        health_pass=health_pass,
    )
