"""Reactions of the credential scheme to accreditation events (subscribed by ``register``).

- a signed field changed (category, zones, venues, validity) → reissue: new id, old revoked;
- the accreditation was suspended or revoked → its credentials are revoked;
- a suspension was lifted → a fresh badge credential is issued.
"""

from __future__ import annotations

from anbao.accreditation import events, issuance
from anbao.accreditation.models import Accreditation, AccreditationStatus
from anbao.core import bus

S = AccreditationStatus


def on_accreditation_changed(event: events.AccreditationChanged) -> None:
    """Reissue the badge when a signed field changes."""
    acc = Accreditation.objects.filter(pk=event.accreditation_id).first()
    if acc is None or acc.status not in issuance.ISSUABLE:
        return
    if issuance.active_credential(acc) is None:
        return
    issuance.reissue_credential(accreditation=acc, reason="changed: " + ", ".join(event.fields))


def on_accreditation_transitioned(event: events.AccreditationTransitioned) -> None:
    """Revoke credentials on suspension or revocation; issue afresh when a suspension ends."""
    lifting = event.from_status == S.SUSPENDED and event.to_status in issuance.ISSUABLE
    if event.to_status not in (S.SUSPENDED, S.REVOKED) and not lifting:
        return  # most steps (vetted, approved, printed...) touch no credential: no queries
    acc = Accreditation.objects.filter(pk=event.accreditation_id).first()
    if acc is None:
        return
    live = acc.credentials.filter(revoked_at__isnull=True).exists()
    if event.to_status in (S.SUSPENDED, S.REVOKED):
        if live:
            issuance.cancel_credential(accreditation=acc, reason=f"accreditation {event.to_status}")
    elif lifting and not live:
        issuance.issue_credential(accreditation=acc, reason="suspension lifted")


def register() -> None:
    """Subscribe the handlers (call once from the app's ``ready``)."""
    bus.subscribe(events.AccreditationChanged, on_accreditation_changed)  # type: ignore[arg-type]
    bus.subscribe(events.AccreditationTransitioned, on_accreditation_transitioned)  # type: ignore[arg-type]
