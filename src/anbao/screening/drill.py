"""Preparing a gate drill: lane scanners enrolled, and the badges their queues will show.

``anbao gate sim`` runs on a machine with access to the instance: it enrols the lane scanners
it drives (fresh device tokens, as at a real set-up) and reads the badge texts that the
simulated people carry. The gates themselves then talk to the server over HTTP only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from anbao.accounts import services as accounts
from anbao.accreditation import keystore
from anbao.accreditation.models import IssuedCredential
from anbao.core.errors import DomainError
from anbao.sites.models import CheckpointKind, Device, DeviceKind, Event

__all__ = ["GateSpec", "prepare_gates"]


@dataclass
class GateSpec:
    """One simulated lane: its scanner's identity and token, and who may pass there."""

    device: str
    checkpoint: str
    lane: str
    token: str
    eligible: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the spec as a JSON-ready dict."""
        return asdict(self)


def prepare_gates(
    *, gates: int, event: Event | None = None, checkpoints: list[str] | None = None
) -> tuple[bytes, list[GateSpec]]:
    """Enrol ``gates`` pedestrian lane scanners and return the root key and their specs."""
    if not 1 <= gates <= 200:
        raise DomainError("screening.bad_gates", "Drive 1 to 200 gates.")
    event = event or Event.objects.order_by("pk").first()
    if event is None:
        raise DomainError("sites.no_event", "Load a site first.")
    scanners = (
        Device.objects.filter(
            event=event,
            kind=DeviceKind.GATE_SCANNER,
            lane__isnull=False,
            lane__checkpoint__kind__in=[CheckpointKind.PEDESTRIAN, CheckpointKind.MIXED],
        )
        .exclude(lane__kind="vehicle")
        .select_related("lane__checkpoint__to_zone", "lane__checkpoint__venue")
        .order_by("lane__checkpoint__code", "lane__code")
    )
    if checkpoints:
        scanners = scanners.filter(lane__checkpoint__code__in=checkpoints)
    chosen = list(scanners[:gates])
    if len(chosen) < gates:
        raise DomainError(
            "screening.not_enough_lanes", f"Only {len(chosen)} lane scanners can be driven."
        )
    badges = list(
        IssuedCredential.objects.filter(
            purpose="badge", revoked_at__isnull=True, accreditation__event=event
        ).values_list("qr_text", "claims")
    )
    revoked = list(
        IssuedCredential.objects.filter(
            purpose="badge", revoked_at__isnull=False, accreditation__event=event
        ).values_list("qr_text", flat=True)[:200]
    )
    specs: list[GateSpec] = []
    for device in chosen:
        assert device.lane is not None  # noqa: S101  (filtered above)
        cp = device.lane.checkpoint
        zone, venue = cp.to_zone.number, cp.venue.code
        fits = [zone in c.get("zones", ()) and venue in c.get("venues", ()) for _qr, c in badges]
        code = accounts.start_enrolment(device_id=device.external_id)
        token = accounts.redeem_enrolment(device_id=device.external_id, code=code)
        specs.append(
            GateSpec(
                device=device.external_id,
                checkpoint=cp.code,
                lane=device.lane.code,
                token=token,
                eligible=[qr for (qr, _c), ok in zip(badges, fits, strict=True) if ok],
                others=[qr for (qr, _c), ok in zip(badges, fits, strict=True) if not ok][:300],
                revoked=revoked,
            )
        )
    return keystore.root_public_key(), specs
