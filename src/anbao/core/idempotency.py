"""Replay protection for device input: the first answer to a message id is the only answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from anbao.core import clock
from anbao.core.models import ProcessedMessage


def seen(source: str, message_id: str) -> dict[str, Any] | None:
    """Return the stored answer if ``message_id`` from ``source`` was processed, else None."""
    row = ProcessedMessage.objects.filter(source=source, message_id=message_id).first()
    if row is None:
        return None
    return dict(row.result or {})


def remember(source: str, message_id: str, result: dict[str, Any]) -> bool:
    """Store the answer to a message; False if another worker stored one first."""
    try:
        with transaction.atomic():
            ProcessedMessage.objects.create(
                source=source, message_id=message_id, received_at=clock.now(), result=result
            )
    except IntegrityError:
        return False
    return True


def prune(*, source_prefix: str, before: datetime) -> int:
    """Forget receipts older than ``before`` from sources starting with ``source_prefix``."""
    deleted, _ = ProcessedMessage.objects.filter(
        source__startswith=source_prefix, received_at__lt=before
    ).delete()
    return deleted
