"""Roles and the capabilities each grants: the one table that every check reads."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A user's job at the event."""

    ADMIN = "admin", _("Administrator")
    ACCREDITATION_OFFICER = "accreditation_officer", _("Accreditation officer")
    CHECKPOINT_LEADER = "checkpoint_leader", _("Checkpoint leader")
    CHECKPOINT_OPERATOR = "checkpoint_operator", _("Checkpoint operator")
    ROSTER_MANAGER = "roster_manager", _("Roster manager")
    COMMANDER = "commander", _("Commander")
    POLICE_LIAISON = "police_liaison", _("Police liaison (read-only)")
    PLANNER = "planner", _("Planner")


class Cap(StrEnum):
    """A capability; views and API routes require one."""

    SITE_VIEW = "site.view"
    SITE_EDIT = "site.edit"
    DEVICE_VIEW = "device.view"
    DEVICE_MANAGE = "device.manage"
    AUDIT_VIEW = "audit.view"
    USER_MANAGE = "user.manage"
    ACCREDITATION_VIEW = "accreditation.view"
    ACCREDITATION_EDIT = "accreditation.edit"
    SCREENING_VIEW = "screening.view"
    SCREENING_OPERATE = "screening.operate"
    SCREENING_LEAD = "screening.lead"
    WORKFORCE_VIEW = "workforce.view"
    WORKFORCE_EDIT = "workforce.edit"
    WORKFORCE_DUTY = "workforce.duty"
    ALARMS_VIEW = "alarms.view"
    ALARMS_OPERATE = "alarms.operate"
    ALARMS_FORCE = "alarms.force"
    ALARMS_CONFIGURE = "alarms.configure"
    INCIDENTS_VIEW = "incidents.view"
    INCIDENTS_OPERATE = "incidents.operate"
    DASHBOARD_VIEW = "dashboard.view"
    PLANNING_VIEW = "planning.view"
    PLANNING_EDIT = "planning.edit"


_READ_PICTURE = {
    Cap.SITE_VIEW,
    Cap.DEVICE_VIEW,
    Cap.SCREENING_VIEW,
    Cap.ALARMS_VIEW,
    Cap.INCIDENTS_VIEW,
    Cap.DASHBOARD_VIEW,
    Cap.WORKFORCE_VIEW,
}

ROLE_CAPS: dict[str, frozenset[Cap]] = {
    Role.ADMIN: frozenset(Cap),
    Role.ACCREDITATION_OFFICER: frozenset(
        {Cap.SITE_VIEW, Cap.ACCREDITATION_VIEW, Cap.ACCREDITATION_EDIT}
    ),
    Role.CHECKPOINT_LEADER: frozenset(
        {
            Cap.SITE_VIEW,
            Cap.DEVICE_VIEW,
            Cap.SCREENING_VIEW,
            Cap.SCREENING_OPERATE,
            Cap.SCREENING_LEAD,
            Cap.WORKFORCE_VIEW,
            Cap.WORKFORCE_DUTY,
            Cap.ALARMS_VIEW,
            Cap.INCIDENTS_VIEW,
            Cap.DASHBOARD_VIEW,
        }
    ),
    Role.CHECKPOINT_OPERATOR: frozenset({Cap.SITE_VIEW, Cap.SCREENING_VIEW, Cap.SCREENING_OPERATE}),
    Role.ROSTER_MANAGER: frozenset(
        {Cap.SITE_VIEW, Cap.WORKFORCE_VIEW, Cap.WORKFORCE_EDIT, Cap.WORKFORCE_DUTY}
    ),
    Role.COMMANDER: frozenset(
        _READ_PICTURE
        | {
            Cap.ALARMS_OPERATE,
            Cap.ALARMS_FORCE,
            Cap.ALARMS_CONFIGURE,
            Cap.INCIDENTS_OPERATE,
            Cap.AUDIT_VIEW,
            Cap.PLANNING_VIEW,
        }
    ),
    Role.POLICE_LIAISON: frozenset(_READ_PICTURE),
    Role.PLANNER: frozenset(
        {Cap.SITE_VIEW, Cap.PLANNING_VIEW, Cap.PLANNING_EDIT, Cap.SCREENING_VIEW}
    ),
}


def caps_for(role: str) -> frozenset[Cap]:
    """Return the capabilities granted by ``role`` (none for an unknown role)."""
    return ROLE_CAPS.get(role, frozenset())
