"""The audit trail: every state change and every read of personal data writes one row."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import models

from anbao.core import clock
from anbao.core.models import AuditEntry, AuditSource


@dataclass(frozen=True)
class AuditContext:
    """Who is acting and from where, set once per request, CLI call or device message."""

    actor_id: int | None = None
    actor_label: str = "system"
    source: str = AuditSource.SYSTEM
    ip: str | None = None


# AuditContext is a frozen dataclass, so sharing the default instance is safe.
_context: contextvars.ContextVar[AuditContext] = contextvars.ContextVar(
    "anbao_audit_context",
    default=AuditContext(),  # noqa: B039
)


def current_context() -> AuditContext:
    """Return the audit context of the running request or command."""
    return _context.get()


@contextmanager
def acting_as(ctx: AuditContext) -> Iterator[AuditContext]:
    """Run a block with ``ctx`` as the audit context."""
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


def set_context(ctx: AuditContext) -> contextvars.Token[AuditContext]:
    """Set the audit context; the caller resets it with the returned token."""
    return _context.set(ctx)


def reset_context(token: contextvars.Token[AuditContext]) -> None:
    """Restore the audit context that was set before ``token``."""
    _context.reset(token)


def _describe(obj: models.Model | None, object_type: str, object_id: str) -> tuple[str, str, str]:
    if obj is None:
        return object_type, object_id, ""
    return obj._meta.label_lower, str(obj.pk), str(obj)[:200]


def build(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Return an unsaved audit row in the current context (for :func:`record_many`)."""
    ctx = _context.get()
    otype, oid, orepr = _describe(obj, object_type, object_id)
    return AuditEntry(
        at=clock.now(),
        actor_id=ctx.actor_id,
        actor_label=ctx.actor_label[:150],
        source=ctx.source,
        action=action,
        object_type=otype,
        object_id=oid,
        object_repr=orepr,
        before=before,
        after=after,
        ip=ctx.ip,
    )


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write an audit row for a state change in the current context."""
    entry = build(
        action, obj=obj, object_type=object_type, object_id=object_id, before=before, after=after
    )
    entry.save()
    return entry


def record_many(entries: Iterable[AuditEntry]) -> int:
    """Write many audit rows at once (bulk operations); return how many."""
    return len(AuditEntry.objects.bulk_create(list(entries), batch_size=500))


def record_read(
    what: str, *, obj: models.Model | None = None, object_type: str = "", object_id: str = ""
) -> AuditEntry:
    """Write an audit row for a read of personal data (``what`` names the fields seen)."""
    ctx = _context.get()
    otype, oid, orepr = _describe(obj, object_type, object_id)
    return AuditEntry.objects.create(
        at=clock.now(),
        actor_id=ctx.actor_id,
        actor_label=ctx.actor_label[:150],
        source=ctx.source,
        action=f"read:{what}",
        object_type=otype,
        object_id=oid,
        object_repr=orepr,
        is_read=True,
        ip=ctx.ip,
    )


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Return a JSON-ready dict of a model's concrete field values, for before/after."""
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if fields is not None and f.name not in fields:
            continue
        value = f.value_from_object(obj)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = str(value)
        out[f.attname if f.is_relation else f.name] = value
    return out
