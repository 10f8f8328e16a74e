"""Set-based lifecycle steps for thousands of accreditations at once (bulk approval).

The per-item ``services.transition`` costs a few milliseconds each; approving 3,000 delegates
before the gates open must not take minutes. This applies the same rules (``allowed_targets``)
with one UPDATE per chunk and bulk-inserted history and audit rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from anbao.accreditation import events
from anbao.accreditation.models import Accreditation, AccreditationStatus, AccreditationStep
from anbao.accreditation.services import BulkResult, allowed_targets
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem

S = AccreditationStatus
CHUNK = 500


def bulk_advance(ids: Iterable[int], *, to: str, note: str = "") -> BulkResult:
    """Move many accreditations to ``to`` in one transaction; refusals are listed, not applied."""
    if to not in S.values:
        raise DomainError("accreditation.unknown_status", f"Unknown status {to!r}.")
    wanted = list(dict.fromkeys(int(i) for i in ids))
    done: list[int] = []
    problems: list[FieldProblem] = []
    ctx = audit.current_context()
    with transaction.atomic():
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            rows = {
                a.pk: a
                for a in Accreditation.objects.select_for_update()
                .select_related("category", "person")
                .filter(pk__in=chunk)
            }
            now = clock.now()
            movable: list[Accreditation] = []
            for pk in chunk:
                acc = rows.get(pk)
                if acc is None:
                    problems.append(FieldProblem(str(pk), "no such accreditation", "not_found"))
                elif to not in allowed_targets(acc):
                    problems.append(
                        FieldProblem(
                            str(pk),
                            f"An accreditation cannot go from {acc.status} to {to}.",
                            "accreditation.illegal_transition",
                        )
                    )
                else:
                    movable.append(acc)
            by_status: dict[str, list[int]] = {}
            for acc in movable:
                by_status.setdefault(acc.status, []).append(acc.pk)
            for before, pks in by_status.items():
                changes: dict[str, object] = {"status": to, "updated_at": now}
                changes["suspended_from"] = before if to == S.SUSPENDED else ""
                if to in (S.VETTED, S.APPROVED):
                    changes["flag"], changes["flag_note"] = "", ""
                Accreditation.objects.filter(pk__in=pks).update(**changes)
            AccreditationStep.objects.bulk_create(
                AccreditationStep(
                    accreditation_id=acc.pk,
                    from_status=acc.status,
                    to_status=to,
                    actor_id=ctx.actor_id,
                    actor_label=ctx.actor_label[:150],
                    at=now,
                    note=note[:500],
                )
                for acc in movable
            )
            audit.record_many(
                audit.build(
                    f"accreditation.{to}",
                    obj=acc,
                    before={"status": acc.status},
                    after={"status": to, "note": note} if note else {"status": to},
                )
                for acc in movable
            )
            for acc in movable:
                bus.publish(
                    events.AccreditationTransitioned(
                        accreditation_id=acc.pk,
                        person_id=acc.person_id,
                        event_id=acc.event_id,
                        from_status=acc.status,
                        to_status=to,
                        note=note,
                    )
                )
                done.append(acc.pk)
    return BulkResult(done, problems)
