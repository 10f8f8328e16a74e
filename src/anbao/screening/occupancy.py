"""Live occupancy per zone: automatic check-out, annulling wrong passages, checkpoint rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count

from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, NotFound
from anbao.screening.decisions import clear_cache, move_presence
from anbao.screening.events import PassageAnnulled, PresencesEnded
from anbao.screening.models import (
    DEFAULT_AUTO_CHECKOUT_HOUR,
    CheckpointRules,
    Direction,
    Passage,
    Presence,
)
from anbao.sites.models import Checkpoint

__all__ = ["annul_passage", "auto_checkout", "occupancy", "set_rules"]


def occupancy(event_id: int) -> dict[str, int]:
    """Return how many people are inside each zone of an event, by zone number."""
    rows = (
        Presence.objects.filter(zone__event_id=event_id)
        .values("zone__number")
        .annotate(n=Count("id"))
    )
    return {r["zone__number"]: r["n"] for r in rows}


@transaction.atomic
def set_rules(
    checkpoint: Checkpoint, *, anti_passback: bool, auto_checkout_hour: int
) -> CheckpointRules:
    """Store a checkpoint's scan rules, auditing the change."""
    if not 0 <= auto_checkout_hour <= 23:
        raise DomainError("screening.bad_hour", "auto_checkout_hour must be 0 to 23.")
    row, _ = CheckpointRules.objects.get_or_create(checkpoint=checkpoint)
    before = {"anti_passback": row.anti_passback, "auto_checkout_hour": row.auto_checkout_hour}
    row.anti_passback = anti_passback
    row.auto_checkout_hour = auto_checkout_hour
    row.updated_at = clock.now()
    row.save()
    clear_cache()  # the scan path caches rules per lane; clear again once others can read
    transaction.on_commit(clear_cache)
    audit.record(
        "screening.rules_set",
        obj=checkpoint,
        before=before,
        after={"anti_passback": anti_passback, "auto_checkout_hour": auto_checkout_hour},
    )
    return row


@transaction.atomic
def annul_passage(passage_id: int, reason: str, *, user: Any = None) -> Passage:
    """Annul a wrong passage: mark it, undo the presence it made, and audit it."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("screening.reason_required", "Say why the passage is annulled.")
    passage = (
        Passage.objects.select_for_update()
        .select_related("checkpoint")
        .filter(pk=passage_id)
        .first()
    )
    if passage is None:
        raise NotFound("screening.unknown_passage", f"No passage {passage_id}.")
    if passage.annulled:
        raise DomainError("screening.already_annulled", "The passage is already annulled.")
    cp = passage.checkpoint
    if passage.status != "deny":
        if passage.direction == Direction.ENTRY:
            move_presence(passage, zone_from=cp.to_zone_id, zone_to=cp.from_zone_id)
        else:
            move_presence(passage, zone_from=cp.from_zone_id, zone_to=cp.to_zone_id)
    now = clock.now()
    passage.annulled = True
    passage.annulled_at = now
    passage.annulled_by = user if getattr(user, "pk", None) else None
    passage.annul_reason = reason[:200]
    passage.save(update_fields=["annulled", "annulled_at", "annulled_by", "annul_reason"])
    audit.record(
        "screening.passage_annulled",
        obj=passage,
        before={"annulled": False},
        after={"annulled": True, "reason": passage.annul_reason},
    )
    bus.publish(PassageAnnulled(passage_id=passage.pk, checkpoint=cp.code, at=now.isoformat()))
    return passage


def _last_cutoff(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    cut = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if cut > local:
        cut -= timedelta(days=1)
    return cut


@transaction.atomic
def auto_checkout(now: datetime | None = None) -> int:
    """End each presence begun before its checkpoint's last check-out hour; return how many."""
    when = now or clock.now()
    ended: list[int] = []
    rows = Presence.objects.select_related(
        "zone__event", "passage__checkpoint__scan_rules"
    ).order_by("id")
    for p in rows:
        rules = getattr(p.passage.checkpoint, "scan_rules", None) if p.passage else None
        hour = rules.auto_checkout_hour if rules else DEFAULT_AUTO_CHECKOUT_HOUR
        if p.since < _last_cutoff(when, hour, ZoneInfo(p.zone.event.time_zone)):
            ended.append(p.pk)
    if ended:
        Presence.objects.filter(pk__in=ended).delete()
        audit.record(
            "screening.auto_checkout", object_type="screening.presence", after={"ended": len(ended)}
        )
        bus.publish(PresencesEnded(count=len(ended), at=when.isoformat()))
    return len(ended)
