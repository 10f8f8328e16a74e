"""Who sees what on the big screen: the venue a user may watch and whether they may act."""

from __future__ import annotations

from dataclasses import dataclass

from anbao.accounts.models import User
from anbao.accounts.roles import Cap, Role
from anbao.core.errors import DomainError, FieldProblem
from anbao.dashboard import snapshot as snap
from anbao.sites.models import Event, Venue

__all__ = ["Scope", "resolve"]


@dataclass(frozen=True)
class Scope:
    """The venue shown (None: the whole event) and whether action controls are shown."""

    venue: Venue | None
    read_only: bool


def resolve(user: User, event: Event, venue_code: str | None, *, read_only: bool = False) -> Scope:
    """Return the scope for ``user``: a venue-scoped user sees only their own venues."""
    allowed = [] if user.is_superuser else list(user.venues.filter(event=event).order_by("code"))
    venue = snap.venue_or_none(event, venue_code)
    if allowed:
        if venue is None:
            venue = allowed[0]
        elif venue not in allowed:
            message = "This venue is outside your scope."
            raise DomainError(
                "dashboard.venue_out_of_scope",
                message,
                403,
                problems=[FieldProblem("venue", message, "dashboard.venue_out_of_scope")],
            )
    # The police liaison watches; only those who may handle alarms get controls.
    passive = user.role == Role.POLICE_LIAISON or not user.can(Cap.ALARMS_OPERATE)
    return Scope(venue=venue, read_only=read_only or passive)
