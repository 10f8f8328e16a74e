"""Template helpers of the web shell: the current event, names in the page's language."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from anbao.sites import services as sites

register = template.Library()

_MISSING = object()


@register.simple_tag(takes_context=True)
def current_event(context: template.Context) -> Any:
    """Return the view's ``event``, else the site service's current event (once per request)."""
    event = context.get("event", _MISSING)
    if event is not _MISSING:
        return event
    request = context.get("request")
    cached = getattr(request, "_anbao_event", _MISSING) if request is not None else _MISSING
    if cached is not _MISSING:
        return cached
    event = sites.current_event()
    if request is not None:
        request._anbao_event = event
    return event


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


@register.filter
def loc(obj: Any, field: str = "name") -> str:
    """Return ``obj.<field>_en`` on English pages when set, else ``obj.<field>``."""
    if obj is None:
        return ""
    lang = translation.get_language() or ""
    if lang.startswith("en"):
        english = _get(obj, f"{field}_en")
        if english:
            return str(english)
    value = _get(obj, field)
    return "" if value is None else str(value)


@register.filter
def minutes(value: Any) -> int:
    """Return a duration (timedelta or hours as a number) in whole minutes."""
    if isinstance(value, timedelta):
        return round(value.total_seconds() / 60)
    try:
        return round(float(value) * 60)
    except (TypeError, ValueError):
        return 0


@register.filter
def of_kind(features: Any, kind: str) -> list[dict[str, Any]]:
    """Return the GeoJSON features whose ``properties.kind`` is ``kind``."""
    return [f for f in features or [] if (f.get("properties") or {}).get("kind") == kind]


@register.filter
def parse_iso(value: Any) -> datetime | None:
    """Return the aware datetime written as ISO 8601 text in ``value`` (None if it is not)."""
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@register.filter
def prop(feature: Any, key: str) -> Any:
    """Return ``feature.properties[key]`` (None when absent)."""
    return ((feature or {}).get("properties") or {}).get(key)


# The site summary's counts in the order shown, each under the keys it may carry.
_SUMMARY = [
    (("venues",), _("Venues")),
    (("zones",), _("Zones")),
    (("checkpoints",), _("Checkpoints")),
    (("lanes",), _("Lanes")),
    (("perimeter_segments", "segments"), _("Perimeter segments")),
    (("alarm_sections", "sections"), _("Alarm sections")),
    (("airspace_volumes", "airspace"), _("No-fly volumes")),
    (("cameras",), _("Cameras")),
]


@register.simple_tag
def summary_items(summary: dict[str, int] | None, devices: Any = None) -> list[dict[str, Any]]:
    """Return the site summary as labelled tiles, devices as online of total.

    The online count comes from the summary's ``devices_online`` when it has one, else from
    counting ``devices``.
    """
    if not summary:
        return []
    items: list[dict[str, Any]] = []
    for keys, label in _SUMMARY:
        for key in keys:
            if key in summary:
                items.append({"key": keys[0], "label": label, "value": summary[key]})
                break
    if "devices" in summary:
        online = summary.get("devices_online")
        if online is None:
            online = sum(1 for d in devices or [] if d.online)
        items.append(
            {
                "key": "devices",
                "label": _("Devices online"),
                "value": f"{online} / {summary['devices']}",
            }
        )
    return items


@register.simple_tag
def device_status(devices: Any) -> list[dict[str, Any]]:
    """Return per device kind: its label, how many devices there are and how many are online."""
    groups: dict[str, dict[str, Any]] = {}
    for d in devices or []:
        g = groups.setdefault(
            d.kind, {"kind": d.kind, "label": d.get_kind_display(), "total": 0, "online": 0}
        )
        g["total"] += 1
        g["online"] += 1 if d.online else 0
    out = sorted(groups.values(), key=lambda g: str(g["label"]))
    for g in out:
        g["offline"] = g["total"] - g["online"]
    return out
