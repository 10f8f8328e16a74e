"""Template helpers of the accreditation pages."""

from __future__ import annotations

from django import template

from anbao.accreditation.models import AccreditationStatus

register = template.Library()
_LABELS = dict(AccreditationStatus.choices)


@register.filter
def status_label(value: str) -> str:
    """Return the translated label of a lifecycle status code (the code itself if unknown)."""
    return str(_LABELS.get(value, value))
