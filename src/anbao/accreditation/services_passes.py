"""Vehicle permits and temporary (day, guest) passes issued against host quotas."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from django.db import transaction

from anbao.accreditation import events
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    Organisation,
    PassKind,
    PassQuota,
    PermitStatus,
    TemporaryPass,
    VehiclePermit,
)
from anbao.accreditation.services import id_index
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.models import Event, Zone

# Mainland plates (浙A12345, new-energy 浙AD12345) and other plates of 4-10 letters/digits.
_PLATE = re.compile(r"[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}|[A-Z0-9]{4,10}")
_DRIVABLE = {
    AccreditationStatus.APPROVED,
    AccreditationStatus.ISSUED,
    AccreditationStatus.PRINTED,
    AccreditationStatus.COLLECTED,
}


def normalise_plate(plate: str) -> str:
    """Return a plate in canonical form: NFKC, upper case, no spaces, dots or dashes."""
    return re.sub(r"[\s.\-·]", "", unicodedata.normalize("NFKC", plate)).upper()


@transaction.atomic
def issue_vehicle_permit(
    *,
    event: Event,
    plate: str,
    vehicle_type: str,
    valid_from: datetime,
    valid_until: datetime,
    driver: Accreditation | None = None,
    zones: list[Zone] | None = None,
    routes: list[str] | None = None,
    parking: str = "",
) -> VehiclePermit:
    """Issue a vehicle permit; the driver, if any, must hold a live, approved accreditation."""
    canon = normalise_plate(plate)
    if not _PLATE.fullmatch(canon):
        raise DomainError(
            "accreditation.invalid_plate",
            f"{plate!r} is not a licence plate.",
            problems=[FieldProblem("plate", "not a licence plate", "invalid")],
        )
    if valid_until <= valid_from:
        raise DomainError("accreditation.invalid_validity", "valid_until must follow valid_from.")
    if driver is not None and (driver.event_id != event.pk or driver.status not in _DRIVABLE):
        raise DomainError(
            "accreditation.driver_not_accredited",
            "The driver needs an approved accreditation for this event.",
        )
    if VehiclePermit.objects.filter(event=event, plate=canon).exists():
        raise DomainError(
            "accreditation.duplicate_plate", f"{canon} already has a permit.", status=409
        )
    permit = VehiclePermit.objects.create(
        event=event,
        plate=canon,
        vehicle_type=vehicle_type,
        driver=driver,
        routes=list(routes or []),
        parking=parking,
        valid_from=valid_from,
        valid_until=valid_until,
        created_at=clock.now(),
    )
    permit.zones.set(zones or [])
    audit.record("accreditation.vehicle_permit_issued", obj=permit, after={"plate": canon})
    return permit


@transaction.atomic
def set_vehicle_permit_status(permit: VehiclePermit, *, status: str) -> VehiclePermit:
    """Suspend, reinstate or revoke a vehicle permit (revoked is terminal)."""
    if status not in PermitStatus.values:
        raise DomainError("accreditation.unknown_status", f"Unknown status {status!r}.")
    if permit.status == PermitStatus.REVOKED:
        raise DomainError(
            "accreditation.illegal_transition", "A revoked permit cannot change.", status=409
        )
    before = permit.status
    permit.status = status
    permit.save(update_fields=["status"])
    audit.record(
        "accreditation.vehicle_permit_status",
        obj=permit,
        before={"status": before},
        after={"status": status},
    )
    return permit


@transaction.atomic
def set_pass_quota(
    *, event: Event, organisation: Organisation, kind: str, per_day: int
) -> PassQuota:
    """Set how many passes of ``kind`` a host organisation may hold on one day."""
    if kind not in PassKind.values or per_day < 0:
        raise DomainError("accreditation.invalid_quota", "Unknown pass kind or negative quota.")
    quota, _created = PassQuota.objects.update_or_create(
        event=event, organisation=organisation, kind=kind, defaults={"per_day": per_day}
    )
    audit.record("accreditation.pass_quota_set", obj=quota, after={"per_day": per_day})
    return quota


def quota_left(*, event: Event, organisation: Organisation, kind: str, day: date) -> int:
    """Return how many more passes of ``kind`` the host may issue for ``day``."""
    quota = PassQuota.objects.filter(event=event, organisation=organisation, kind=kind).first()
    if quota is None:
        return 0
    used = TemporaryPass.objects.filter(event=event, host=organisation, kind=kind, day=day).exclude(
        status=PermitStatus.REVOKED
    )
    return max(0, quota.per_day - used.count())


@transaction.atomic
def issue_temporary_pass(
    *,
    event: Event,
    host: Organisation,
    kind: str,
    holder_name: str,
    day: date,
    holder_id_number: str = "",
    zones: list[Zone] | None = None,
) -> TemporaryPass:
    """Issue a day or guest pass for one day; refused past the host's quota."""
    if kind not in PassKind.values:
        raise DomainError("accreditation.invalid_pass_kind", f"Unknown pass kind {kind!r}.")
    if not event.start_date <= day <= event.end_date:
        raise DomainError("accreditation.outside_event", "The day is outside the event.")
    # Lock the quota row so that two desks cannot both take the last pass.
    quota = (
        PassQuota.objects.select_for_update()
        .filter(event=event, organisation=host, kind=kind)
        .first()
    )
    left = quota_left(event=event, organisation=host, kind=kind, day=day) if quota else 0
    if left <= 0:
        raise DomainError(
            "accreditation.quota_exceeded",
            f"{host} has no {kind} passes left for {day.isoformat()}.",
            status=409,
            detail={"quota": quota.per_day if quota else 0},
        )
    number = unicodedata.normalize("NFKC", holder_id_number).strip().upper()
    tp = TemporaryPass.objects.create(
        event=event,
        host=host,
        kind=kind,
        holder_name=holder_name.strip()[:100],
        holder_id_number=number,
        holder_id_index=id_index(number) if number else "",
        day=day,
        created_at=clock.now(),
    )
    tp.zones.set(zones or [])
    audit.record("accreditation.temporary_pass_issued", obj=tp, after={"kind": kind})
    bus.publish(events.TemporaryPassIssued(tp.pk, host.pk, kind, day.isoformat()))
    return tp


@transaction.atomic
def revoke_temporary_pass(tp: TemporaryPass) -> TemporaryPass:
    """Revoke a temporary pass; its place in the quota is freed."""
    tp.status = PermitStatus.REVOKED
    tp.save(update_fields=["status"])
    audit.record("accreditation.temporary_pass_revoked", obj=tp)
    return tp
