"""Ingest an offline gate's journal (docs/gate.md): passages as decided, screenings, state.

Each entry is stored in its own savepoint, in the order sent, at most once per (device,
nonce): the receipt uses the online scan's source, so an entry the server already decided
online is answered as a duplicate. Bad entries are answered ``rejected`` with a stable code
and never stop the rest of the batch. Allowed passages move presence as online ones do; an
allowed entry of a holder already inside through another device, or an allowed exit of a
holder not inside, is recorded as an :class:`OfflineConflict` for the checkpoint leader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from anbao.accounts.models import User
from anbao.accounts.services import in_checkpoint_scope
from anbao.accreditation.credentials import codec, cose
from anbao.accreditation.credentials.errors import CredentialError
from anbao.accreditation.models import IssuedCredential
from anbao.core import bus, clock, idempotency
from anbao.core.errors import DomainError
from anbao.screening import lanes, records
from anbao.screening.decisions import MAX_QR, move_presence, rules_for
from anbao.screening.events import PassageRecorded
from anbao.screening.models import (
    ConflictKind,
    Direction,
    GateMode,
    GateState,
    OfflineConflict,
    Passage,
    Presence,
    ScreeningRecord,
    Seizure,
)
from anbao.sites.models import Checkpoint, Device, Lane

__all__ = [
    "MAX_ENTRIES",
    "SyncReport",
    "list_conflicts",
    "passage_time",
    "resolve_conflict",
    "sync",
]

MAX_ENTRIES = 500
MAX_SEIZURES = 50
STATUSES = frozenset({"allow", "deny", "attention"})
_CID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class SyncReport:
    """The answer to one sync: server time, measured skew, one result per entry, conflicts."""

    server_time: datetime
    clock_skew_s: float
    results: list[dict[str, Any]] = field(default_factory=list)
    conflicts: int = 0

    def as_json(self) -> dict[str, Any]:
        """Return the report as the JSON answer of ``POST /gate/sync``."""
        return {
            "server_time": self.server_time.isoformat(),
            "clock_skew_s": self.clock_skew_s,
            "results": self.results,
            "conflicts": self.conflicts,
        }


class _Duplicate(Exception):
    """Another worker stored the same nonce first: undo this entry and repeat its answer."""

    def __init__(self, receipt: dict[str, Any]) -> None:
        super().__init__("duplicate")
        self.receipt = receipt


def _bad(code: str, message: str) -> DomainError:
    return DomainError(code, message, status=422)


def _text(entry: dict[str, Any], key: str, limit: int, code: str, *, required: bool) -> str:
    value = entry.get(key, None if required else "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise _bad(code, f"{key} must be {'1' if required else '0'} to {limit} characters.")
    return value


def _time(entry: dict[str, Any]) -> datetime:
    raw = entry.get("at")
    try:
        at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise _bad("screening.bad_time", "at must be an ISO 8601 time with an offset.")
    return at


def _qr_cid(qr_text: str) -> str | None:
    """Return the credential id inside QR text (signature not checked), or None."""
    try:
        return codec.decode_claims(cose.parse_sign1(codec.unwrap(qr_text)).payload).cid.hex()
    except (CredentialError, ValueError):
        return None


@dataclass(frozen=True)
class _PassageIn:
    nonce: str
    at: datetime
    direction: str
    status: str
    reason: str
    rule: str
    detail: str
    cid: str


def _passage_in(entry: dict[str, Any], nonce: str, at: datetime) -> _PassageIn:
    direction = entry.get("direction")
    if direction not in Direction.values:
        raise _bad("screening.bad_direction", "direction must be entry or exit.")
    status = entry.get("status")
    if status not in STATUSES:
        raise _bad("screening.bad_status", "status must be allow, deny or attention.")
    reason = _text(entry, "reason", 40, "screening.bad_reason", required=True)
    rule = _text(entry, "rule", 100, "screening.bad_rule", required=False)
    detail = _text(entry, "detail", 200, "screening.bad_detail", required=False)
    cid = _text(entry, "cid", 32, "screening.bad_cid", required=False).lower()
    if cid and not _CID.match(cid):
        raise _bad("screening.bad_cid", "cid must be 32 hex digits.")
    qr_text = _text(entry, "qr_text", MAX_QR, "screening.qr_too_large", required=False)
    from_qr = _qr_cid(qr_text) if qr_text else None
    if cid and from_qr and cid != from_qr:
        raise _bad("screening.cid_mismatch", "cid is not the credential in qr_text.")
    if status != "deny" and not (cid or from_qr):
        raise _bad("screening.bad_cid", "A passage that lets someone through names its cid.")
    return _PassageIn(
        nonce=nonce,
        at=at,
        direction=str(direction),
        status=str(status),
        reason=reason,
        rule=rule,
        detail=detail,
        cid=cid or from_qr or "",
    )


def passage_time(passage: Passage) -> datetime:
    """When a passage happened: the gate's time if decided offline, else the server's."""
    return passage.device_time if passage.offline and passage.device_time else passage.server_time


class _Sync:
    """One sync call's working state: the device, its lane, the clock, the tallies."""

    def __init__(self, device: Device, lane: Lane, now: datetime) -> None:
        self.device = device
        self.lane = lane
        self.checkpoint: Checkpoint = lane.checkpoint
        self.now = now
        self.source = f"device:{device.external_id}"
        self.anti_passback = rules_for(self.checkpoint.pk).anti_passback
        self.conflicts = 0
        self.stored_passages = 0

    # --- passages --------------------------------------------------------------------------

    def passage(self, p: _PassageIn) -> dict[str, Any]:
        cp = self.checkpoint
        cred = (
            IssuedCredential.objects.filter(cid=p.cid).only("id", "accreditation_id").first()
            if p.cid
            else None
        )
        acc_id = cred.accreditation_id if cred is not None else None
        passage = Passage.objects.create(
            cid=p.cid,
            accreditation_id=acc_id,
            checkpoint=cp,
            lane=self.lane,
            device=self.device,
            direction=p.direction,
            status=p.status,
            reason=p.reason,
            rule=p.rule,
            detail=p.detail,
            device_time=p.at,
            server_time=self.now,
            nonce=p.nonce,
            offline=True,
        )
        conflict = None
        if p.status != "deny" and acc_id is not None:
            conflict = self._presence(passage, acc_id)
        receipt = {"passage_id": passage.pk, "status": p.status, "reason": p.reason}
        if not idempotency.remember(self.source, p.nonce, receipt):
            raise _Duplicate(idempotency.seen(self.source, p.nonce) or receipt)
        if conflict is not None:
            self.conflicts += 1
        self.stored_passages += 1
        bus.publish(
            PassageRecorded(
                passage_id=passage.pk,
                checkpoint=cp.code,
                lane=self.lane.code,
                direction=p.direction,
                status=p.status,
                reason=p.reason,
                zone=cp.to_zone.number,
                at=self.now.isoformat(),
            )
        )
        out: dict[str, Any] = {"result": "stored", "passage_id": passage.pk}
        if conflict is not None:
            out["conflict"] = conflict.kind
        return out

    def _presence(self, passage: Passage, acc_id: int) -> OfflineConflict | None:
        """Move the holder as an online passage would; return the conflict it reveals."""
        cp = self.checkpoint
        here = (
            Presence.objects.select_related("passage")
            .filter(accreditation_id=acc_id, zone_id=cp.to_zone_id)
            .first()
        )
        at = passage.device_time or passage.server_time
        conflict = None
        if passage.direction == Direction.ENTRY:
            first = here.passage if here is not None else None
            if self.anti_passback and first is not None and first.device_id != self.device.pk:
                conflict = self._conflict(ConflictKind.DOUBLE_ENTRY, passage, first)
            # Presence set by a later passage is newer news than this one: leave it.
            if first is None or passage_time(first) <= at:
                move_presence(passage, zone_from=cp.from_zone_id, zone_to=cp.to_zone_id)
        elif here is None:
            if self.anti_passback:
                last = (
                    Passage.objects.filter(accreditation_id=acc_id, annulled=False)
                    .exclude(pk=passage.pk)
                    .exclude(status="deny")
                    .order_by("-server_time", "-id")
                    .first()
                )
                conflict = self._conflict(ConflictKind.EXIT_WITHOUT_ENTRY, passage, last)
            move_presence(passage, zone_from=cp.to_zone_id, zone_to=cp.from_zone_id)
        elif here.passage is None or passage_time(here.passage) <= at:
            move_presence(passage, zone_from=cp.to_zone_id, zone_to=cp.from_zone_id)
        return conflict

    def _conflict(self, kind: str, second: Passage, first: Passage | None) -> OfflineConflict:
        # An exit with no earlier passage at all is its own first passage.
        return OfflineConflict.objects.create(
            kind=kind,
            cid=second.cid,
            accreditation_id=second.accreditation_id,
            checkpoint=self.checkpoint,
            first_passage=first or second,
            second_passage=second,
            detected_at=self.now,
        )

    # --- screenings ------------------------------------------------------------------------

    def screening(self, entry: dict[str, Any], nonce: str, at: datetime) -> dict[str, Any]:
        seizures = entry.get("seizures") or []
        if not isinstance(seizures, list) or len(seizures) > MAX_SEIZURES:
            raise _bad("screening.bad_seizures", f"seizures must be a list of {MAX_SEIZURES}.")
        passage_nonce = entry.get("passage_nonce") or ""
        passage_id = None
        if isinstance(passage_nonce, str) and passage_nonce:
            passage_id = (
                Passage.objects.filter(device=self.device, nonce=passage_nonce)
                .order_by("-id")
                .values_list("id", flat=True)
                .first()
            )
        rec = records.record_screening(
            checkpoint=self.checkpoint,
            lane=self.lane,
            subject=str(entry.get("subject", "")),
            method=str(entry.get("method", "")),
            outcome=str(entry.get("outcome", "")),
            searcher_gender=str(entry.get("searcher_gender") or ""),
            plate=str(entry.get("plate") or "")[:20],
            public=entry.get("public") is True,
            passage_id=passage_id,
        )
        made: list[Seizure] = []
        for item in seizures:
            if not isinstance(item, dict):
                raise _bad("screening.bad_seizures", "each seizure is an object.")
            quantity = item.get("quantity", 1)
            if type(quantity) is not int:
                raise _bad("screening.bad_quantity", "Quantity must be a whole number.")
            made.append(
                records.record_seizure(
                    checkpoint=self.checkpoint,
                    lane=self.lane,
                    screening=rec,
                    item_code=str(item.get("item", "")),
                    disposition=item.get("disposition") or None,
                    quantity=quantity,
                    note=str(item.get("note") or ""),
                    police_case=str(item.get("police_case") or ""),
                )
            )
        # The records services stamp the upload time; the gate's time is when it happened.
        ScreeningRecord.objects.filter(pk=rec.pk).update(at=at)
        Seizure.objects.filter(pk__in=[s.pk for s in made]).update(at=at)
        out: dict[str, Any] = {
            "result": "stored",
            "screening_id": rec.pk,
            "seizures": [{"id": s.pk, "item": s.item_code, "ticket": s.ticket} for s in made],
        }
        receipt = {k: v for k, v in out.items() if k != "result"}
        if not idempotency.remember(self.source, nonce, receipt):
            raise _Duplicate(idempotency.seen(self.source, nonce) or receipt)
        return out

    # --- one entry -------------------------------------------------------------------------

    def entry(self, index: int, entry: Any) -> dict[str, Any]:
        seq = entry.get("seq") if isinstance(entry, dict) else None
        head: dict[str, Any] = {"seq": seq if type(seq) is int else None}
        try:
            if not isinstance(entry, dict):
                raise _bad("screening.bad_entry", f"entry {index} is not an object.")
            if type(seq) is not int:
                raise _bad("screening.bad_seq", f"entry {index} has no integer seq.")
            kind = entry.get("kind")
            if kind not in ("passage", "screening"):
                raise _bad("screening.bad_kind", "kind must be passage or screening.")
            nonce = _text(entry, "nonce", 100, "screening.bad_nonce", required=True)
            at = _time(entry)
            parsed = _passage_in(entry, nonce, at) if kind == "passage" else None
            previous = idempotency.seen(self.source, nonce)
            if previous is not None:
                return head | _duplicate(previous)
            with transaction.atomic():
                if parsed is not None:
                    return head | self.passage(parsed)
                return head | self.screening(entry, nonce, at)
        except _Duplicate as dup:
            return head | _duplicate(dup.receipt)
        except DomainError as exc:
            return head | {"result": "rejected", "code": exc.code, "message": exc.message}


def _duplicate(receipt: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"result": "duplicate"}
    for key in ("passage_id", "screening_id", "seizures"):
        if key in receipt:
            out[key] = receipt[key]
    return out


def sync(
    *,
    device: Device,
    lane: Lane,
    entries: list[Any],
    device_time: datetime,
    mode: str,
    bundle_serial: int,
    pending: int,
) -> SyncReport:
    """Store a gate's journal entries in order and its reported state; answer per entry."""
    if len(entries) > MAX_ENTRIES:
        raise DomainError(
            "screening.too_many_entries",
            f"At most {MAX_ENTRIES} entries per sync; send the rest in the next call.",
            status=422,
        )
    if mode not in GateMode.values:
        raise _bad("screening.bad_mode", f"mode must be one of {', '.join(GateMode.values)}.")
    now = clock.now()
    work = _Sync(device, lane, now)
    report = SyncReport(server_time=now, clock_skew_s=(device_time - now).total_seconds())
    report.results = [work.entry(i, e) for i, e in enumerate(entries)]
    report.conflicts = work.conflicts
    with transaction.atomic():
        state, _ = GateState.objects.select_for_update().get_or_create(device=device)
        state.mode = mode
        state.bundle_serial = bundle_serial
        state.pending = pending
        state.last_sync_at = now
        state.clock_skew_s = report.clock_skew_s
        state.uploaded += work.stored_passages
        state.save()
    return report


# --- conflicts -------------------------------------------------------------------------------


def list_conflicts(
    *, user: User | None = None, open_only: bool = True, event_id: int | None = None
) -> QuerySet[OfflineConflict]:
    """Return conflicts, newest first: open ones only by default, in ``user``'s scope."""
    qs = OfflineConflict.objects.select_related(
        "checkpoint", "first_passage__lane", "second_passage__lane", "resolved_by"
    )
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    if event_id is not None:
        qs = qs.filter(checkpoint__event_id=event_id)
    if user is not None:
        allowed = [c.pk for c in Checkpoint.objects.all() if in_checkpoint_scope(user, c)]
        qs = qs.filter(checkpoint_id__in=allowed)
    return qs.order_by("-detected_at", "-id")


def resolve_conflict(conflict_id: int, resolution: str, user: User) -> OfflineConflict:
    """Close an open conflict with the leader's resolution (audited, in the leader's scope)."""
    # One writer for resolutions: the lanes service also publishes the event the board shows.
    return lanes.resolve_conflict(conflict_id, resolution, user=user)
