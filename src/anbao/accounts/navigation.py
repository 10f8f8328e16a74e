"""The menu: a place for every domain, shown only to roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anbao.accounts.roles import Cap


@dataclass(frozen=True)
class NavEntry:
    """One menu entry."""

    url_name: str
    label: str | Promise
    cap: Cap


NAV: list[NavEntry] = [
    NavEntry("dashboard:index", _("Command centre"), Cap.DASHBOARD_VIEW),
    NavEntry("dashboard:screen", _("Big screen"), Cap.DASHBOARD_VIEW),
    NavEntry("sites:map", _("Site map"), Cap.SITE_VIEW),
    NavEntry("accreditation:index", _("Accreditation"), Cap.ACCREDITATION_VIEW),
    NavEntry("screening:index", _("Checkpoints"), Cap.SCREENING_VIEW),
    NavEntry("workforce:index", _("Workforce"), Cap.WORKFORCE_VIEW),
    NavEntry("alarms:index", _("Alarms"), Cap.ALARMS_VIEW),
    NavEntry("incidents:index", _("Incidents"), Cap.INCIDENTS_VIEW),
    NavEntry("sites:devices", _("Devices"), Cap.DEVICE_VIEW),
    NavEntry("core:audit", _("Audit log"), Cap.AUDIT_VIEW),
]


def nav_for(user: Any, path: str) -> list[dict[str, Any]]:
    """Return the entries ``user`` may open, marking the current one."""
    out = []
    for entry in NAV:
        if not user.can(entry.cap):
            continue
        url = reverse(entry.url_name)
        out.append(
            {"url": url, "label": entry.label, "active": path.startswith(url) and url != "/"}
        )
    # Only the most specific entry is current (the big screen lives under the command centre).
    best = max((len(str(e["url"])) for e in out if e["active"]), default=0)
    for e in out:
        e["active"] = bool(e["active"]) and len(str(e["url"])) == best
    return out
