"""The gate bundle: verify an envelope, index it for decisions, keep the last good one on disk.

A refused bundle never replaces the one the gate holds: the lane keeps deciding from the last
bundle that verified.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from anbao.accreditation.credentials.errors import CredentialError, PolicyError
from anbao.accreditation.credentials.keys import TrustList, load_trust_list
from anbao.accreditation.credentials.policy import Attestation, Policy
from anbao.accreditation.credentials.verifier import DEFAULT_ACCEPTS, Checkpoint
from anbao.screening.bundle_format import BundleError, verify_bundle

BUNDLE_FILE = "bundle.json"
#: A refused bundle: the server module's error, so gate and server share one vocabulary.
BundleRefused = BundleError


def verify_envelope(envelope: Any, root_public: bytes, now: datetime) -> dict[str, Any]:
    """Verify a bundle envelope against the pinned root and return its payload."""
    if not isinstance(envelope, dict):
        raise BundleRefused("bad_format", "the envelope is not a JSON object")
    return verify_bundle(envelope, root_public, now)


def attestations_of(entry: Mapping[str, Any]) -> tuple[Attestation, ...]:
    """Return a bundle person's attestations as policy-engine facts (malformed ones left out)."""
    out = []
    for a in entry.get("attestations") or ():
        try:
            until = a.get("valid_until")
            fact = Attestation(
                kind=str(a["kind"]),
                value=dict(a.get("value") or {}),
                at=int(a["at"]),
                valid_until=int(until) if until is not None else None,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            continue  # a fact the gate cannot read proves nothing: the policy decides without
        out.append(fact)
    return tuple(out)


def holder_key(entry: Mapping[str, Any]) -> str | None:
    """Return a holder's key in the inside set; None for passes without an accreditation.

    As on the server, presence (and so anti-passback) belongs to accreditations only.
    """
    acc = entry.get("accreditation_id")
    return f"a{acc}" if acc is not None else None


@dataclass
class Bundle:
    """A verified bundle, indexed for offline decisions."""

    serial: int
    built_at: str
    event: str
    checkpoint: str
    lane: str
    device: str
    gate: Checkpoint
    from_zone: int | None
    to_zone: int | None
    anti_passback: bool
    trust: TrustList
    revocations: frozenset[bytes]
    policy: Policy | None
    people: dict[str, dict[str, Any]]
    inside: frozenset[str]
    envelope: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], root_public: bytes, envelope: Mapping[str, Any] = {}
    ) -> Bundle:
        """Index a verified payload; raise :class:`BundleRefused` when a part is unusable."""
        try:
            trust = load_trust_list(base64.b64decode(payload["trust_list"]), root_public)
            g = payload["gate"]
            gate = Checkpoint(
                code=str(g.get("code", "")),
                venue=str(g.get("venue") or ""),
                zone=str(g.get("zone") or ""),
                event=str(g.get("event") or ""),
                accepts=frozenset(g.get("accepts") or DEFAULT_ACCEPTS),
            )
            doc = payload.get("policy")
            policy = Policy.from_document(doc) if doc else None
            revocations = frozenset(bytes.fromhex(h) for h in payload.get("revocations") or ())
            people = {p["cid"]: p for p in payload.get("people") or ()}
            rules = payload.get("rules") or {}
        except (KeyError, TypeError, ValueError, CredentialError, PolicyError) as exc:
            raise BundleRefused("bad_format", f"{type(exc).__name__}: {exc}") from None
        inside = frozenset(
            f"a{p['accreditation_id']}"
            for p in people.values()
            if p.get("inside") and p.get("accreditation_id") is not None
        )
        return cls(
            serial=int(payload.get("serial") or 0),
            built_at=str(payload.get("built_at") or ""),
            event=str(payload.get("event") or ""),
            checkpoint=str(payload.get("checkpoint") or ""),
            lane=str(payload.get("lane") or ""),
            device=str(payload.get("device") or ""),
            gate=gate,
            from_zone=payload.get("from_zone"),
            to_zone=payload.get("to_zone"),
            anti_passback=bool(rules.get("anti_passback", False)),
            trust=trust,
            revocations=revocations,
            policy=policy,
            people=people,
            inside=inside,
            envelope=dict(envelope),
        )

    @classmethod
    def from_envelope(
        cls, envelope: Mapping[str, Any], root_public: bytes, now: datetime
    ) -> Bundle:
        """Verify an envelope and index it."""
        payload = verify_envelope(dict(envelope), root_public, now)
        return cls.from_payload(payload, root_public, envelope)

    def summary(self) -> dict[str, Any]:
        """Return what the lane screen and ``anbao gate status`` show of the bundle."""
        return {
            "serial": self.serial,
            "built_at": self.built_at,
            "people": len(self.people),
            "checkpoint": self.checkpoint,
            "lane": self.lane,
            "anti_passback": self.anti_passback,
            "policy": self.policy.id if self.policy else "",
        }


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    # The rename itself must reach the disk, or a power cut could bring back the old name.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class BundleStore:
    """The gate's current bundle: swapped only for one that verifies, saved to ``home``."""

    def __init__(self, home: Path, root_public: bytes) -> None:
        self.path = Path(home) / BUNDLE_FILE
        self.root_public = root_public
        self.current: Bundle | None = None
        self.last_refusal: BundleRefused | None = None
        self._lock = threading.Lock()
        self.on_change: Callable[[Bundle], None] | None = None

    def load_saved(self, now: datetime) -> Bundle | None:
        """Load the last good envelope from disk, re-verified; None when there is none."""
        try:
            envelope = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return None
        try:
            bundle = Bundle.from_envelope(envelope, self.root_public, now)
        except BundleRefused as exc:
            self.last_refusal = exc
            return None
        self._install(bundle)
        return bundle

    def accept(self, envelope: Mapping[str, Any], now: datetime) -> Bundle:
        """Verify and install a new envelope; raise :class:`BundleRefused`, keeping the old."""
        try:
            bundle = Bundle.from_envelope(envelope, self.root_public, now)
        except BundleRefused as exc:
            self.last_refusal = exc
            raise
        if self.current is not None and bundle.serial < self.current.serial:
            older = BundleRefused("older", f"serial {bundle.serial} < {self.current.serial}")
            self.last_refusal = older
            raise older
        _write_atomic(self.path, json.dumps(dict(envelope), separators=(",", ":")).encode())
        self.last_refusal = None
        self._install(bundle)
        return bundle

    def _install(self, bundle: Bundle) -> None:
        with self._lock:
            self.current = bundle
        if self.on_change is not None:
            self.on_change(bundle)
