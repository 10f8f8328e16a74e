"""The signed bundle an offline gate decides from: who may pass its lane, and the rules.

A bundle is built per lane scanner (docs/gate.md): the checkpoint as the pure verifier sees
it, the trust list, revocations, the active policy, and every active credential whose signed
claims let its holder through the checkpoint (event, purpose accepted, venue, zone), with the
holder's status, attestations and whether they are inside now. The access policy itself is
not applied here: the gate evaluates it at each scan with the attestations the bundle carries.

Serial: the lane's scheme counter ``gate_bundle:<lane id>``. Each build hashes the payload's
content (leaving out the build time and the trust list's issue time, and taking photos by
their SHA-256, so ``photos=0`` and ``photos=1`` share a serial); when the hash differs from
the one the current serial was given for, the counter is bumped. The hash of the current
serial is kept as the counter ``gate_bundle:<lane id>:<16 hex of the hash>``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from anbao.accreditation import access, issuance, keystore
from anbao.accreditation.credentials.keys import GATE_BUNDLE, load_trust_list
from anbao.accreditation.credentials.verifier import Checkpoint as GateCheckpoint
from anbao.accreditation.models import Attestation, IssuedCredential, Person, SchemeCounter
from anbao.core import audit, clock
from anbao.core.errors import Forbidden
from anbao.screening.bundle_format import BUNDLE_FORMAT, canonical_json, encode_bundle
from anbao.screening.decisions import rules_for
from anbao.screening.models import GateState, Presence
from anbao.sites.models import Device, Lane

__all__ = ["Bundle", "build_bundle", "lane_of", "serial_for"]

COUNTER_PREFIX = "gate_bundle"
#: Keys left out of the content hash: they change on every build without changing content.
_VOLATILE = ("built_at", "serial", "trust_list")


@dataclass(frozen=True)
class Bundle:
    """A built bundle: its serial and build time, the payload and, when sent, the envelope."""

    serial: int
    built_at: datetime
    payload: dict[str, Any]
    envelope: dict[str, Any] | None


def lane_of(device: Device) -> Lane:
    """Return the lane a scanner serves; refuse a device that is no lane's scanner."""
    if device.lane_id is None:
        raise Forbidden("auth.device_mismatch", "Only a lane's scanner may do this.")
    return Lane.objects.select_related(
        "checkpoint__venue", "checkpoint__event", "checkpoint__to_zone", "checkpoint__from_zone"
    ).get(pk=device.lane_id)


def _attestations(person_ids: set[int], now: datetime) -> dict[int, list[dict[str, Any]]]:
    # One query finds who has any fact at all, so the per-person lookup runs only for them.
    with_facts = set(
        Attestation.objects.filter(person_id__in=person_ids, observed_at__lte=now)
        .values_list("person_id", flat=True)
        .distinct()
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for pid in sorted(with_facts):
        out[pid] = [
            {"kind": a.kind, "value": dict(a.value), "at": a.at, "valid_until": a.valid_until}
            for a in issuance.attestations_for(pid, now=now)
        ]
    return out


def _admits(claims: dict[str, Any], gate: GateCheckpoint) -> bool:
    """Say whether signed claims let their holder through ``gate`` (the verifier's checks)."""
    if gate.event and claims.get("event") != gate.event:
        return False
    if claims.get("purpose") not in gate.accepts:
        return False
    if gate.venue and gate.venue not in (claims.get("venues") or ()):
        return False
    return not gate.zone or gate.zone in [str(z) for z in claims.get("zones") or ()]


#: The columns a bundle entry needs, read as plain values: building model instances with
#: four related objects per credential costs several times more on a large event.
_COLUMNS = (
    "cid",
    "claims",
    "accreditation_id",
    "accreditation__status",
    "accreditation__flag",
    "accreditation__category__code",
    "accreditation__person_id",
    "accreditation__person__name_zh",
    "accreditation__person__family_name",
    "accreditation__person__given_name",
    "accreditation__person__photo_sha256",
    "vehicle_permit__plate",
    "vehicle_permit__status",
    "temporary_pass__holder_name",
    "temporary_pass__status",
)


def _people(
    lane: Lane, gate: GateCheckpoint, now: datetime
) -> list[tuple[dict[str, Any], int | None, str]]:
    """Return (entry, person id, photo SHA-256) for each credential admitted at the lane."""
    cp = lane.checkpoint
    rows = (
        IssuedCredential.objects.filter(
            Q(accreditation__event=cp.event)
            | Q(vehicle_permit__event=cp.event)
            | Q(temporary_pass__event=cp.event),
            revoked_at__isnull=True,
            purpose__in=sorted(gate.accepts),
            valid_until__gt=now,
        )
        .order_by("cid")
        .values(*_COLUMNS)
    )
    admitted = [r for r in rows if _admits(r["claims"] or {}, gate)]
    acc_ids = {r["accreditation_id"] for r in admitted if r["accreditation_id"] is not None}
    inside = set(
        Presence.objects.filter(accreditation_id__in=acc_ids, zone_id=cp.to_zone_id).values_list(
            "accreditation_id", flat=True
        )
    )
    facts = _attestations(
        {r["accreditation__person_id"] for r in admitted if r["accreditation_id"]}, now
    )
    out: list[tuple[dict[str, Any], int | None, str]] = []
    for r in admitted:
        entry: dict[str, Any] = {
            "cid": r["cid"],
            "accreditation_id": r["accreditation_id"],
            "person_id": None,
            "name": "",
            "category": str((r["claims"] or {}).get("category", "")),
            "status": "",
            "flag": "",
            "inside": False,
            "attestations": [],
        }
        person_id: int | None = None
        sha = ""
        if r["accreditation_id"] is not None:
            person_id = r["accreditation__person_id"]
            sha = r["accreditation__person__photo_sha256"] or ""
            person = Person(
                name_zh=r["accreditation__person__name_zh"],
                family_name=r["accreditation__person__family_name"],
                given_name=r["accreditation__person__given_name"],
            )
            entry.update(
                person_id=person_id,
                name=person.display_name(),
                category=r["accreditation__category__code"],
                status=r["accreditation__status"],
                flag=r["accreditation__flag"],
                inside=r["accreditation_id"] in inside,
                attestations=facts.get(person_id, []) if person_id is not None else [],
            )
        elif r["vehicle_permit__plate"] is not None:
            entry.update(name=r["vehicle_permit__plate"], status=r["vehicle_permit__status"])
        elif r["temporary_pass__holder_name"] is not None:
            entry.update(name=r["temporary_pass__holder_name"], status=r["temporary_pass__status"])
        out.append((entry, person_id, sha))
    return out


def _trust_fingerprint(trust_bytes: bytes) -> list[Any]:
    trust = load_trust_list(trust_bytes, keystore.root_public_key())
    keys = sorted((k.kid.hex(), k.purpose, k.not_before, k.not_after) for k in trust.keys.values())
    return [trust.version, keys]


def serial_for(lane: Lane, digest: str) -> int:
    """Return the lane's bundle serial for content ``digest``, bumping it when content changed."""
    base = f"{COUNTER_PREFIX}:{lane.pk}"
    name = f"{base}:{digest[:16]}"
    with transaction.atomic():
        SchemeCounter.objects.get_or_create(name=base)
        # The lane counter row is the lock: two builds of new content get one new serial each.
        current = SchemeCounter.objects.select_for_update().get(name=base).value
        if current and keystore.counter(name) == current:
            return current
        serial = keystore.bump_counter(base)
        SchemeCounter.objects.filter(name__startswith=f"{base}:").delete()
        SchemeCounter.objects.create(name=name, value=serial)
        return serial


def _photos(person_ids: set[int]) -> dict[int, str]:
    rows = Person.objects.filter(pk__in=person_ids).only("id", "photo")
    return {p.pk: base64.b64encode(bytes(p.photo)).decode("ascii") for p in rows if p.photo}


def build_bundle(device: Device, *, photos: bool = True, since: int | None = None) -> Bundle:
    """Build (and sign) the bundle for a lane scanner; no envelope when ``since`` is current."""
    lane = lane_of(device)
    cp = lane.checkpoint
    now = clock.now()
    gate = access.gate_checkpoint(cp)
    rules = rules_for(cp.pk)
    trust_bytes = keystore.trust_list()
    people = _people(lane, gate, now)
    payload: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "serial": 0,
        "built_at": now.isoformat(),
        "event": cp.event.code,
        "checkpoint": cp.code,
        "lane": lane.code,
        "device": device.external_id,
        "gate": {
            "code": gate.code,
            "venue": gate.venue,
            "zone": gate.zone,
            "event": gate.event,
            "accepts": sorted(gate.accepts),
        },
        "from_zone": cp.from_zone.number if cp.from_zone is not None else None,
        "to_zone": cp.to_zone.number,
        "rules": {
            "anti_passback": bool(rules.anti_passback),
            "auto_checkout_hour": int(rules.auto_checkout_hour),
        },
        "trust_list": base64.b64encode(trust_bytes).decode("ascii"),
        "revocations": sorted(h.hex() for h in access.revoked_hashes()),
        "policy": dict(access.active_policy(cp.event).document),
        "people": [entry for entry, _pid, _sha in people],
    }
    content = {k: v for k, v in payload.items() if k not in _VOLATILE}
    content["trust"] = _trust_fingerprint(trust_bytes)
    content["photos"] = [sha for _entry, _pid, sha in people]
    serial = serial_for(lane, hashlib.sha256(canonical_json(content)).hexdigest())
    payload["serial"] = serial
    if since is not None and since == serial:
        return Bundle(serial=serial, built_at=now, payload=payload, envelope=None)
    if photos:
        pictures = _photos({pid for _e, pid, sha in people if pid is not None and sha})
        for entry, pid, _sha in people:
            if pid is not None and pid in pictures:
                entry["photo"] = pictures[pid]
        if pictures:
            audit.record_read("gate_bundle_photos", obj=device)
    envelope = encode_bundle(payload, keystore.signer(GATE_BUNDLE))
    GateState.objects.update_or_create(device=device, defaults={"bundle_at": now})
    return Bundle(serial=serial, built_at=now, payload=payload, envelope=envelope)
