"""The scan decision: verify a credential online, apply server-side rules, record the passage.

A scan is one call from a gate scanner (or an operator's manual lookup). The pure verifier
decides on the credential; this service adds what only the server knows (the accreditation's
current status, whether the credential is ours, anti-passback), stores a :class:`Passage`,
keeps :class:`Presence` live, and answers a replayed nonce with the first answer.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.db import connection, transaction

from anbao.accreditation import access, issuance, keystore
from anbao.accreditation.credentials.codec import Claims
from anbao.accreditation.credentials.keys import TrustList, load_trust_list
from anbao.accreditation.credentials.policy import Policy
from anbao.accreditation.credentials.verifier import Checkpoint, verify
from anbao.accreditation.models import Accreditation, Category, IssuedCredential, Person
from anbao.core import bus, clock, idempotency
from anbao.core.errors import DomainError, Forbidden, NotFound
from anbao.core.models import ProcessedMessage
from anbao.screening.events import PassageRecorded
from anbao.screening.models import CheckpointRules, Direction, Passage, Presence
from anbao.screening.reasons import AUTHENTICITY_REASONS, REASON_TEXT
from anbao.sites.models import Device, Event, Lane

__all__ = [
    "AUTHENTICITY_REASONS",
    "REASON_TEXT",
    "LaneContext",
    "ScanResult",
    "check_device_lane",
    "clear_cache",
    "context_for",
    "lane_context",
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
        # Shallow on purpose: asdict's deep copy was a sixth of a scan's time.
        out = {name: getattr(self, name) for name in _RESULT_FIELDS}
        out["flags"] = list(self.flags)
        return out


@dataclass(frozen=True, slots=True)
class LaneContext:
    """What a scan at one lane needs to know, loaded once and cached for a few seconds."""

    lane_id: int
    lane_code: str
    checkpoint_id: int
    checkpoint_code: str
    event_id: int
    from_zone_id: int | None
    to_zone_id: int
    to_zone_number: str
    gate: Checkpoint
    anti_passback: bool


#: How long per-process caches of lanes, policies and revocations are trusted. Changes made in
#: this process clear them at once; another worker process sees them within this time.
CACHE_SECONDS = 5.0
TRUST_SECONDS = 30.0

_lock = threading.Lock()
_lanes: dict[tuple[int, str, str], tuple[float, LaneContext]] = {}
_lanes_by_pk: dict[int, tuple[float, LaneContext]] = {}
_policies: dict[int, tuple[float, int, Policy]] = {}
_shared: dict[str, tuple[float, Any]] = {}


def clear_cache() -> None:
    """Forget cached lanes, rules, policies, revocations and the trust list (after changes)."""
    with _lock:
        _lanes.clear()
        _lanes_by_pk.clear()
        _policies.clear()
        _shared.clear()
        _verified.clear()


def _fresh(stamp: float, ttl: float = CACHE_SECONDS) -> bool:
    return 0.0 <= time.monotonic() - stamp < ttl


_RESULT_FIELDS = tuple(f.name for f in fields(ScanResult))


def rules_for(checkpoint_id: int) -> CheckpointRules:
    """Return a checkpoint's scan rules (defaults, unsaved, when none are stored)."""
    rows = list(CheckpointRules.objects.filter(checkpoint_id=checkpoint_id).order_by()[:1])
    return rows[0] if rows else CheckpointRules(checkpoint_id=checkpoint_id)


def _context(lane: Lane) -> LaneContext:
    cp = lane.checkpoint
    return LaneContext(
        lane_id=lane.pk,
        lane_code=lane.code,
        checkpoint_id=cp.pk,
        checkpoint_code=cp.code,
        event_id=cp.event_id,
        from_zone_id=cp.from_zone_id,
        to_zone_id=cp.to_zone_id,
        to_zone_number=cp.to_zone.number,
        gate=access.gate_checkpoint(cp),
        anti_passback=rules_for(cp.pk).anti_passback,
    )


def _lanes_query() -> Any:
    return Lane.objects.select_related(
        "checkpoint__venue", "checkpoint__event", "checkpoint__to_zone", "checkpoint__from_zone"
    ).order_by()


def lane_context(*, event_id: int, checkpoint_code: str, lane_code: str) -> LaneContext:
    """Return the (cached) context of lane ``lane_code`` at ``checkpoint_code``, or a 404."""
    key = (event_id, checkpoint_code, lane_code)
    hit = _lanes.get(key)
    if hit is not None and _fresh(hit[0]):
        return hit[1]
    ctx = _context(
        resolve_lane(event_id=event_id, checkpoint_code=checkpoint_code, lane_code=lane_code)
    )
    with _lock:
        _lanes[key] = (time.monotonic(), ctx)
    return ctx


def context_for(lane: Lane) -> LaneContext:
    """Return the (cached) context of a lane row."""
    hit = _lanes_by_pk.get(lane.pk)
    if hit is not None and _fresh(hit[0]):
        return hit[1]
    ctx = _context(_lanes_query().get(pk=lane.pk))
    with _lock:
        _lanes_by_pk[lane.pk] = (time.monotonic(), ctx)
    return ctx


def resolve_lane(*, event_id: int, checkpoint_code: str, lane_code: str) -> Lane:
    """Return the lane ``lane_code`` of checkpoint ``checkpoint_code`` with what a scan needs."""
    rows = list(
        _lanes_query().filter(
            checkpoint__event_id=event_id, checkpoint__code=checkpoint_code, code=lane_code
        )[:1]
    )
    if not rows:
        raise NotFound(
            "screening.unknown_lane", f"No lane {lane_code!r} at checkpoint {checkpoint_code!r}."
        )
    return rows[0]


def check_device_lane(device: Device, lane: Lane | LaneContext) -> None:
    """Refuse a device token used for a lane the device does not serve."""
    lane_id = lane.lane_id if isinstance(lane, LaneContext) else lane.pk
    if device.lane_id != lane_id:
        raise Forbidden("auth.device_mismatch", "This device does not serve that lane.")


# Badge texts whose signature checked out in this process: people pass a checkpoint many
# times a day, and the signature of the same text needs checking only once.
_verified: dict[str, tuple[bytes, Claims]] = {}


def _trust() -> TrustList:
    hit = _shared.get("trust")
    if hit is not None and _fresh(hit[0], TRUST_SECONDS):
        return hit[1]
    trust = load_trust_list(keystore.trust_list(), keystore.root_public_key())
    with _lock:
        _shared["trust"] = (time.monotonic(), trust)
    return trust


def _revoked() -> set[bytes]:
    # The credential row's own revocation is checked on every scan; this set only lets the pure
    # verifier name the reason, so a few seconds' delay in another worker changes nothing.
    hit = _shared.get("revoked")
    if hit is not None and _fresh(hit[0]):
        return hit[1]
    revoked = access.revoked_hashes()
    with _lock:
        _shared["revoked"] = (time.monotonic(), revoked)
    return revoked


def _policy(event_id: int) -> Policy:
    generation = access.policy_generation()
    hit = _policies.get(event_id)
    if hit is not None and hit[1] == generation and _fresh(hit[0]):
        return hit[2]
    policy = access.active_policy(Event(pk=event_id))
    with _lock:
        _policies[event_id] = (time.monotonic(), generation, policy)
    return policy


@dataclass(slots=True)
class _Holder:
    """The credential row and its holder, read in one query."""

    cred_revoked: bool
    accreditation_id: int | None
    acc_status: str
    acc_flag: str
    person_id: int | None
    name: str
    photo_sha256: str
    category: str
    inside: bool = False  # present in the lane's inner zone (for anti-passback)


def prepared_cursor() -> Any:
    """Return a PostgreSQL cursor whose statements can be prepared once per connection.

    Django's cursors bind parameters on the client, so PostgreSQL parses and plans every
    statement anew. For a scan's two statements the planning cost more than running them
    (measured: 308 -> 72 µs of the server's CPU for the holder read), so the scan path keeps
    them prepared. Only cursors made here prepare; Django's own queries are unaffected.
    """
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if not PREPARE:
        return psycopg.ClientCursor(raw)  # never prepares: for poolers that cannot keep them
    if raw.prepare_threshold is None:
        raw.prepare_threshold = PREPARE_THRESHOLD
    return psycopg.Cursor(raw)


def tune_for_scans() -> None:
    """Set this thread's PostgreSQL session up for the scan fast path (once per connection).

    The fast path's connections serve scans only. PostgreSQL re-plans a prepared statement
    whenever it guesses that a plan for the values at hand beats the generic one; for the
    scan's statements (key lookups whatever the values) the guess only cost the planning again,
    a third of PostgreSQL's CPU per scan (measured with perf). And a plan made while a table is
    still small (the presence table early in a day, before its statistics catch up) scanned
    that table whole on every scan for the rest of the day: key lookups are forced instead.
    """
    if connection.vendor != "postgresql" or not PREPARE:
        return
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_tuned_for_scans", None) is raw:
        return
    raw.execute("SET plan_cache_mode = force_generic_plan")
    raw.execute("SET enable_seqscan = off")
    connection._tuned_for_scans = raw  # type: ignore[attr-defined]


#: ANBAO_DB_PREPARE=0 turns prepared statements off (a transaction-mode connection pooler
#: without prepared-statement support in front of PostgreSQL).
PREPARE = os.environ.get("ANBAO_DB_PREPARE", "1") != "0"


#: Set on the scan path's connections so that ``prepare=True`` takes effect (psycopg ignores
#: it while the threshold is None, Django's default); statements not asked to be prepared are
#: run through Django's client-side cursors, which never prepare.
PREPARE_THRESHOLD = 1_000_000


def _holder_columns() -> str:
    cred, acc = IssuedCredential._meta.db_table, Accreditation._meta.db_table
    person, cat = Person._meta.db_table, Category._meta.db_table
    # The presence check rides along: one round trip instead of two.
    return (
        f"SELECT c.revoked_at, a.id, a.status, a.flag, p.id, p.name_zh, p.family_name, "
        f"p.given_name, p.photo_sha256, k.code, EXISTS (SELECT 1 FROM {_presence_table()} pr "
        f"WHERE pr.accreditation_id = a.id AND pr.zone_id = {{zone}}) FROM {cred} c "
        f"LEFT JOIN {acc} a ON a.id = c.accreditation_id "
        f"LEFT JOIN {person} p ON p.id = a.person_id "
        f"LEFT JOIN {cat} k ON k.id = a.category_id WHERE c.cid = {{cid}}"
    )


def _holder_sql() -> str:
    return _holder_columns().format(zone="%s", cid="%s")


@cache
def _holders_sql() -> str:
    # LATERAL keeps one index lookup per scan whatever the planner guesses of the array's size.
    inner = _holder_columns().format(zone="q.zone", cid="q.cid")
    return (
        f"SELECT q.i, h.* FROM unnest(%s::text[], %s::bigint[]) WITH ORDINALITY "
        f"AS q(cid, zone, i) CROSS JOIN LATERAL ({inner}) h"
    )


#: The most scans whose holders are read in one statement.
HOLDERS_PER_READ = 64


def _holders(keys: list[tuple[str, int | None]]) -> list[_Holder | None]:
    """Read the holders of several credentials (cid, zone for the presence check) at once."""
    if connection.vendor != "postgresql" or len(keys) == 1:
        # Alone, the plain statement is the cheaper one (as for the write: scan_writer).
        return [_holder(cid, zone) for cid, zone in keys]
    found: list[_Holder | None] = [None] * len(keys)
    for start in range(0, len(keys), HOLDERS_PER_READ):
        part = keys[start : start + HOLDERS_PER_READ]
        with connection.wrap_database_errors, prepared_cursor() as cur:
            cur.execute(_holders_sql(), [[k[0] for k in part], [k[1] for k in part]], prepare=True)
            for row in cur.fetchall():
                found[start + int(row[0]) - 1] = _holder_from(row[1:])
    return found


def _holder(cid: str, zone_id: int | None) -> _Holder | None:
    if connection.vendor == "postgresql":
        with connection.wrap_database_errors, prepared_cursor() as cur:
            cur.execute(_holder_sql(), [zone_id, cid], prepare=True)
            row = cur.fetchone()
    else:
        with connection.cursor() as cur:
            cur.execute(_holder_sql(), [zone_id, cid])
            row = cur.fetchone()
    return None if row is None else _holder_from(row)


def _holder_from(row: Any) -> _Holder:
    revoked_at, acc_id, status, flag, person_id, name_zh, family, given, photo, category = row[:10]
    name = name_zh or f"{(family or '').upper()} {given or ''}".strip()
    return _Holder(
        cred_revoked=revoked_at is not None,
        accreditation_id=acc_id,
        acc_status=status or "",
        acc_flag=flag or "",
        person_id=person_id,
        name=name,
        photo_sha256=photo or "",
        category=category or "",
        inside=bool(row[10]),
    )


@dataclass(slots=True)
class _Outcome:
    status: str
    reason: str
    rule: str = ""
    detail: str = ""
    cid: str = ""
    holder: _Holder | None = None


def _verify(qr_text: str, ctx: LaneContext, now: datetime) -> tuple[Any, _Outcome | None]:
    """Verify ``qr_text`` offline: the verifier's decision, and the outcome if that settles it."""
    decision = verify(
        qr_text,
        trust_list=_trust(),
        revocations=_revoked(),
        policy=_policy(ctx.event_id),
        checkpoint=ctx.gate,
        now=now,
        cache=_verified,
    )
    if decision.claims is None:
        return decision, _Outcome("deny", decision.reason.value, detail=decision.detail[:200])
    return decision, None


def _judge(
    qr_text: str, decision: Any, holder: _Holder | None, ctx: LaneContext, now: datetime
) -> _Outcome:
    """Apply the server-side credential and accreditation checks to a verified credential."""
    cid = decision.claims.cid.hex()
    if holder is None:
        return _Outcome("deny", "unknown_credential", cid=cid)
    if decision.reason.value in ("health_required", "health_expired") and holder.person_id:
        decision = verify(
            qr_text,
            trust_list=_trust(),
            revocations=_revoked(),
            policy=_policy(ctx.event_id),
            checkpoint=ctx.gate,
            now=now,
            attestations=issuance.attestations_for(holder.person_id, now=now),
            cache=_verified,
        )
    out = _Outcome(
        decision.status,
        decision.reason.value,
        rule=decision.rule.id if decision.rule else "",
        detail=decision.detail[:200],
        cid=cid,
        holder=holder if holder.accreditation_id is not None else None,
    )
    if decision.reason.value == "revoked" or holder.cred_revoked or holder.acc_status == "revoked":
        out.status, out.reason = "deny", "revoked"
    elif holder.acc_status == "suspended":
        out.status, out.reason = "deny", "suspended"
    elif holder.acc_flag == "vetting_pending":
        out.status, out.reason = "deny", "vetting_pending"
    return out


def _presence_table() -> str:
    return Presence._meta.db_table


def _apply_presence(out: _Outcome, ctx: LaneContext, direction: str) -> None:
    """Refuse by anti-passback when the recorded presence contradicts the direction."""
    holder = out.holder
    if holder is None or holder.accreditation_id is None or out.status == "deny":
        return
    if not ctx.anti_passback:
        return
    inside = holder.inside
    if direction == Direction.ENTRY and inside:
        out.status, out.reason, out.rule = "deny", "already_inside", "anti_passback"
    elif direction == Direction.EXIT and not inside:
        out.status, out.reason, out.rule = "deny", "not_inside", "anti_passback"


def move_presence(passage: Passage, *, zone_from: int | None, zone_to: int | None) -> None:
    """Move the passage's holder out of ``zone_from`` and into ``zone_to``."""
    if passage.accreditation_id is None:
        return
    _move(passage.accreditation_id, passage.pk, passage.server_time, zone_from, zone_to)


def _move(
    accreditation_id: int,
    passage_id: int,
    at: datetime,
    zone_from: int | None,
    zone_to: int | None,
) -> None:
    table = _presence_table()
    with connection.cursor() as cur:
        if zone_from is not None:
            cur.execute(
                f"DELETE FROM {table} WHERE accreditation_id = %s AND zone_id = %s",
                [accreditation_id, zone_from],
            )
        if zone_to is not None:
            # One statement on both databases: the unique (accreditation, zone) pair decides.
            cur.execute(
                f"INSERT INTO {table} (accreditation_id, zone_id, since, passage_id) "
                f"VALUES (%s, %s, %s, %s) ON CONFLICT (accreditation_id, zone_id) "
                f"DO UPDATE SET since = excluded.since, passage_id = excluded.passage_id",
                [accreditation_id, zone_to, _dt(at), passage_id],
            )


def _dt(value: datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _flags(out: _Outcome, device_time: datetime | None, now: datetime) -> list[str]:
    flags: list[str] = []
    if out.status == "attention" and out.rule:
        flags.append(f"rule:{out.rule}")
    if out.holder is not None and not out.holder.photo_sha256:
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


_PASSAGE_COLUMNS = (
    "cid, accreditation_id, checkpoint_id, lane_id, device_id, operator_id, manual, direction, "
    "status, reason, rule, detail, device_time, server_time, nonce, offline, annulled, "
    "annul_reason"
)


_lock_files: dict[str, int] = {}
_write_lock = threading.Lock()


@contextmanager
def writer_turn() -> Iterator[None]:
    """On SQLite, queue the scan's write transaction on a file lock shared by all workers.

    SQLite makes a second writer poll with sleeps of 1 to 25 ms; waiting in the kernel on a
    lock file wakes the next writer the moment the previous one commits.
    """
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite":
        yield
        return
    if not name or name.startswith(("file:", ":memory:")):
        with _write_lock:  # an in-memory database lives in this process only
            yield
        return
    fd = _lock_files.get(name)
    if fd is None:
        fd = os.open(name + ".writelock", os.O_RDWR | os.O_CREAT, 0o600)
        _lock_files[name] = fd
    with _write_lock:  # flock is per open file, so threads of one process take turns here first
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _json_mark() -> str:
    return "%s::jsonb" if connection.vendor == "postgresql" else "%s"


@dataclass(slots=True)
class ScanWrite:
    """What one scan stores: its passage, the receipt for its nonce, the holder's move."""

    out: _Outcome
    ctx: LaneContext
    direction: str
    device_id: int | None
    operator_id: int | None
    manual: bool
    device_time: datetime | None
    now: datetime
    nonce: str
    source: str
    receipt: dict[str, Any]
    move: tuple[int | None, int | None] | None

    def accreditation_id(self) -> int | None:
        """Return the holder's accreditation, if any."""
        holder = self.out.holder
        return holder.accreditation_id if holder is not None else None


def _recorded(passage_id: int, w: ScanWrite) -> PassageRecorded:
    """Return the event announcing the stored passage."""
    return PassageRecorded(
        passage_id=passage_id,
        checkpoint=w.ctx.checkpoint_code,
        lane=w.ctx.lane_code,
        direction=w.direction,
        status=w.out.status,
        reason=w.out.reason,
        zone=w.ctx.to_zone_number,
        at=w.now.isoformat(),
    )


def _passage_values(w: ScanWrite) -> list[Any]:
    """Return the passage's values in the order of ``_PASSAGE_COLUMNS``."""
    out, holder = w.out, w.out.holder
    return [
        out.cid,
        holder.accreditation_id if holder else None,
        w.ctx.checkpoint_id,
        w.ctx.lane_id,
        w.device_id,
        w.operator_id,
        w.manual,
        w.direction,
        out.status,
        out.reason,
        out.rule[:100],
        out.detail,
        _dt(w.device_time),
        _dt(w.now),
        w.nonce,
        False,
        False,
        "",
    ]


def write_in_steps(w: ScanWrite) -> int | None:
    """Store passage, presence and receipt in the caller's transaction; None on a replay."""
    values = _passage_values(w)
    marks = ", ".join(["%s"] * len(values))
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {Passage._meta.db_table} ({_PASSAGE_COLUMNS}) VALUES ({marks}) "
            f"RETURNING id",
            values,
        )
        passage_id = int(cur.fetchone()[0])
    acc = w.accreditation_id()
    if w.move is not None and acc is not None:
        _move(acc, passage_id, w.now, w.move[0], w.move[1])
    if not _remember(w.source, w.nonce, {**w.receipt, "passage_id": passage_id}, w.now):
        # The nonce was answered before (a retry, or another worker first): undo it all.
        transaction.set_rollback(True)
        return None
    return passage_id


def write_in_one_statement(w: ScanWrite) -> int | None:
    """PostgreSQL: receipt, passage and presence in one statement; None on a replay.

    Each statement is a round trip and a commit waits for the WAL, so the four writes of a
    scan go as one statement in autocommit, which is atomic by itself. The receipt is written
    first, with the passage id drawn from the sequence; the passage and the presence move
    happen only if the receipt did (a replayed nonce conflicts and nothing is written).
    """
    sql, params = write_statement(w)
    with connection.wrap_database_errors, prepared_cursor() as cur:
        cur.execute(sql, params, prepare=True)
        row = cur.fetchone()
    return int(row[0]) if row is not None else None


def write_statement(w: ScanWrite) -> tuple[str, list[Any]]:
    """Return the PostgreSQL statement that stores ``w`` (see :func:`write_in_one_statement`)."""
    passage_values = _passage_values(w)
    passages, receipts = Passage._meta.db_table, ProcessedMessage._meta.db_table
    presence = _presence_table()
    # Typed marks: a prepared statement's parameters in a SELECT list get no type from the
    # column they land in (text to a varchar column still fails when it is too long).
    marks = _passage_marks()
    sql = [
        f"WITH n AS (SELECT nextval(pg_get_serial_sequence('{passages}', 'id')) AS id), "
        f"r AS (INSERT INTO {receipts} (source, message_id, received_at, result) "
        f"SELECT %s::text, %s::text, %s::timestamptz, "
        f"jsonb_set(%s::jsonb, '{{passage_id}}', to_jsonb(n.id)) FROM n "
        f"ON CONFLICT (source, message_id) DO NOTHING "
        f"RETURNING (result->>'passage_id')::bigint AS id), "
        f"p AS (INSERT INTO {passages} (id, {_PASSAGE_COLUMNS}) "
        f"SELECT r.id, {marks} FROM r RETURNING id)"
    ]
    params: list[Any] = [w.source, w.nonce, w.now, json.dumps(w.receipt), *passage_values]
    acc = w.accreditation_id()
    if w.move is not None and acc is not None:
        zone_from, zone_to = w.move
        if zone_from is not None:
            sql.append(
                f", d AS (DELETE FROM {presence} WHERE accreditation_id = %s::bigint "
                f"AND zone_id = %s::bigint "
                f"AND EXISTS (SELECT 1 FROM p))"
            )
            params += [acc, zone_from]
        if zone_to is not None:
            sql.append(
                f", i AS (INSERT INTO {presence} (accreditation_id, zone_id, since, passage_id) "
                f"SELECT %s::bigint, %s::bigint, %s::timestamptz, p.id FROM p "
                f"ON CONFLICT (accreditation_id, zone_id) "
                f"DO UPDATE SET since = excluded.since, passage_id = excluded.passage_id)"
            )
            params += [acc, zone_to, w.now]
    sql.append(" SELECT id FROM p")
    return "".join(sql), params


def group_row(w: ScanWrite, i: int) -> dict[str, Any]:
    """Return one scan's row for :func:`group_sql`'s JSON document (``i``: its place)."""
    holder = w.out.holder
    acc = holder.accreditation_id if holder else None
    row = dict(zip(_PASSAGE_COLUMNS.split(", "), _passage_values(w), strict=True))
    row.update(
        i=i,
        source=w.source,
        receipt=w.receipt,
        accreditation_id=acc,
        device_time=w.device_time.isoformat() if w.device_time is not None else None,
        server_time=w.now.isoformat(),
        mv=w.move is not None and acc is not None,
        mf=w.move[0] if w.move is not None else None,
        mt=w.move[1] if w.move is not None else None,
    )
    return row


@cache
def group_sql() -> str:
    """Return the PostgreSQL statement that stores a group of scans given as one JSON array.

    The same as :func:`write_statement` for many scans at once: per scan the receipt first
    (a replayed nonce conflicts and nothing else of that scan is written), then the passage
    and the presence move. A holder must appear at most once (see scan_writer._rounds).
    Answers one row per scan: its place and its passage id, or NULL for a replay.
    """
    passages, receipts = Passage._meta.db_table, ProcessedMessage._meta.db_table
    presence = _presence_table()
    by_column = {f.column: f for f in Passage._meta.concrete_fields}
    columns = _PASSAGE_COLUMNS.split(", ")
    typed = []
    for column in columns:
        kind = str(by_column[column].db_type(connection))
        # Texts arrive as text; storing them checks varchar lengths, as the one-scan statement.
        typed.append(f"{column} {'text' if kind.startswith('varchar') else kind}")
    record = ", ".join(["i int", "source text", "receipt jsonb", *typed])
    record += ", mv boolean, mf bigint, mt bigint"
    picked = ", ".join(f"n.{c}" for c in columns)
    return (
        f"WITH n AS (SELECT s.*, nextval(pg_get_serial_sequence('{passages}', 'id')) AS pid "
        f"FROM jsonb_to_recordset(%s::jsonb) AS s({record})), "
        f"r AS (INSERT INTO {receipts} (source, message_id, received_at, result) "
        f"SELECT n.source, n.nonce, n.server_time, "
        f"jsonb_set(n.receipt, '{{passage_id}}', to_jsonb(n.pid)) FROM n ORDER BY n.i "
        f"ON CONFLICT (source, message_id) DO NOTHING "
        f"RETURNING (result->>'passage_id')::bigint AS id), "
        f"p AS (INSERT INTO {passages} (id, {_PASSAGE_COLUMNS}) "
        f"SELECT n.pid, {picked} FROM n JOIN r ON r.id = n.pid ORDER BY n.i RETURNING id), "
        f"d AS (DELETE FROM {presence} pr USING n JOIN r ON r.id = n.pid "
        f"WHERE n.mv AND pr.accreditation_id = n.accreditation_id AND pr.zone_id = n.mf), "
        f"m AS (INSERT INTO {presence} (accreditation_id, zone_id, since, passage_id) "
        f"SELECT n.accreditation_id, n.mt, n.server_time, n.pid FROM n JOIN r ON r.id = n.pid "
        f"WHERE n.mv AND n.mt IS NOT NULL ORDER BY n.accreditation_id "
        f"ON CONFLICT (accreditation_id, zone_id) "
        f"DO UPDATE SET since = excluded.since, passage_id = excluded.passage_id) "
        f"SELECT n.i, r.id FROM n LEFT JOIN r ON r.id = n.pid ORDER BY n.i"
    )


@cache
def _passage_marks() -> str:
    """Return the passage columns' parameter marks, each cast to its column's type."""
    by_column = {f.column: f for f in Passage._meta.concrete_fields}
    marks = []
    for column in _PASSAGE_COLUMNS.split(", "):
        kind = str(by_column[column].db_type(connection))
        marks.append("%s::text" if kind.startswith("varchar") or kind == "text" else f"%s::{kind}")
    return ", ".join(marks)


def _remember(source: str, nonce: str, result: dict[str, Any], now: datetime) -> bool:
    """Store the answer for ``nonce``; False when another request stored one first."""
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {ProcessedMessage._meta.db_table} "
            f"(source, message_id, received_at, result) VALUES (%s, %s, %s, {_json_mark()}) "
            f"ON CONFLICT (source, message_id) DO NOTHING",
            [source, nonce, _dt(now), json.dumps(result)],
        )
        return cur.rowcount == 1


def scan(
    *,
    lane: Lane | LaneContext,
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
    result, write = prepare_scan(
        lane=lane,
        direction=direction,
        nonce=nonce,
        source=source,
        qr_text=qr_text,
        accreditation_id=accreditation_id,
        device=device,
        operator=operator,
        device_time=device_time,
    )
    passage_id: int | None
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        passage_id = write_in_one_statement(write)
        return complete_scan(result, write, passage_id)
    with writer_turn(), transaction.atomic():
        passage_id = write_in_steps(write)
        if passage_id is not None:
            # Published at the commit, still in this writer's turn: a handler's own writes
            # then never interleave with the next scan's transaction.
            bus.publish(_recorded(passage_id, write))
    return _answer(result, write, passage_id)


def complete_scan(result: ScanResult, write: ScanWrite, passage_id: int | None) -> ScanResult:
    """Announce a committed scan and return its answer (the stored one on a replay)."""
    if passage_id is not None:
        bus.publish(_recorded(passage_id, write))
    return _answer(result, write, passage_id)


def _answer(result: ScanResult, write: ScanWrite, passage_id: int | None) -> ScanResult:
    if passage_id is None:
        stored = idempotency.seen(write.source, write.nonce) or result.as_json()
        return ScanResult(**{**stored, "duplicate": True})
    return replace(result, passage_id=passage_id)


@dataclass(slots=True)
class PendingScan:
    """A scan validated and verified offline, waiting for its holder's row to be read."""

    ctx: LaneContext
    direction: str
    nonce: str
    source: str
    device_id: int | None
    operator_id: int | None
    manual: bool
    device_time: datetime | None
    now: datetime
    text: str | None
    decision: Any = None
    out: _Outcome | None = None  # set when verification alone decides
    holder: _Holder | None = None

    def holder_key(self) -> tuple[str, int | None] | None:
        """Return the (cid, zone) whose holder this scan needs read, or None."""
        if self.out is not None:
            return None
        return self.decision.claims.cid.hex(), self.ctx.to_zone_id


def begin_scan(
    *,
    lane: Lane | LaneContext,
    direction: str,
    nonce: str,
    source: str,
    qr_text: str | None = None,
    accreditation_id: int | None = None,
    device: Device | None = None,
    operator: Any = None,
    device_time: datetime | None = None,
) -> PendingScan:
    """Validate one scan and verify its credential offline (no holder read yet)."""
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
    ctx = lane if isinstance(lane, LaneContext) else context_for(lane)
    now = clock.now()
    text = _qr_for_accreditation(accreditation_id) if accreditation_id is not None else qr_text
    pending = PendingScan(
        ctx=ctx,
        direction=direction,
        nonce=nonce,
        source=source,
        device_id=device.pk if device is not None else None,
        operator_id=getattr(operator, "pk", None),
        manual=accreditation_id is not None,
        device_time=device_time,
        now=now,
        text=text,
    )
    if text is None:
        pending.out = _Outcome("deny", "unknown_credential")
    else:
        pending.decision, pending.out = _verify(text, ctx, now)
    return pending


def read_holders(pending: list[PendingScan]) -> None:
    """Read the holders that ``pending`` scans need, in one statement on PostgreSQL."""
    waiting = [p for p in pending if p.holder_key() is not None]
    if not waiting:
        return
    # Reads happen before the write transaction: on SQLite it takes the write lock at BEGIN.
    rows = _holders([p.holder_key() for p in waiting])  # type: ignore[misc]
    for p, holder in zip(waiting, rows, strict=True):
        p.holder = holder


def finish_scan(p: PendingScan) -> tuple[ScanResult, ScanWrite]:
    """Decide a scan whose holder has been read: its answer and what it must store."""
    out = p.out if p.out is not None else _judge(p.text or "", p.decision, p.holder, p.ctx, p.now)
    ctx, direction, now = p.ctx, p.direction, p.now
    exit_refused = out.status != "allow" and direction == Direction.EXIT
    if exit_refused and out.reason not in AUTHENTICITY_REASONS:
        out.status = "attention"  # nobody is kept inside; the operator notes the refusal
    _apply_presence(out, ctx, direction)
    holder = out.holder
    zh, en = REASON_TEXT.get(out.reason, (out.reason, out.reason))
    result = ScanResult(
        passage_id=0,  # filled in by the write
        status=out.status,
        reason=out.reason,
        rule=out.rule,
        detail=out.detail,
        direction=direction,
        checkpoint=ctx.checkpoint_code,
        lane=ctx.lane_code,
        cid=out.cid,
        accreditation_id=holder.accreditation_id if holder else None,
        person_id=holder.person_id if holder else None,
        name=holder.name if holder else "",
        category=holder.category if holder else "",
        photo_url=f"/api/screening/people/{holder.person_id}/photo" if holder else "",
        flags=_flags(out, p.device_time, now),
        text_zh=zh,
        text_en=en,
        server_time=now.isoformat(),
    )
    moves = out.status != "deny" and holder is not None and holder.accreditation_id is not None
    zones = (ctx.from_zone_id, ctx.to_zone_id)
    src, dst = zones if direction == Direction.ENTRY else zones[::-1]
    write = ScanWrite(
        out=out,
        ctx=ctx,
        direction=direction,
        device_id=p.device_id,
        operator_id=p.operator_id,
        manual=p.manual,
        device_time=p.device_time,
        now=now,
        nonce=p.nonce,
        source=p.source,
        receipt=result.as_json(),
        move=(src, dst) if moves else None,
    )
    return result, write


def prepare_scan(
    *,
    lane: Lane | LaneContext,
    direction: str,
    nonce: str,
    source: str,
    qr_text: str | None = None,
    accreditation_id: int | None = None,
    device: Device | None = None,
    operator: Any = None,
    device_time: datetime | None = None,
) -> tuple[ScanResult, ScanWrite]:
    """Validate and decide one scan without storing it: its answer and what it must store."""
    pending = begin_scan(
        lane=lane,
        direction=direction,
        nonce=nonce,
        source=source,
        qr_text=qr_text,
        accreditation_id=accreditation_id,
        device=device,
        operator=operator,
        device_time=device_time,
    )
    read_holders([pending])
    return finish_scan(pending)
