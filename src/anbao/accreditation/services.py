"""Accreditation registry and lifecycle rules: the only writers of people and accreditations.

Lifecycle (``transition``)::

    applied -> vetted -> approved -> issued -> printed -> collected
    applied -> approved            (only when the category needs no vetting)
    any live state -> suspended -> back to the state it was suspended from
    any state but revoked -> revoked (terminal)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet

from anbao.accounts.roles import Role
from anbao.accreditation import events
from anbao.accreditation.importing import name_key
from anbao.accreditation.importing_photos import normalise_photo
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    AccreditationStep,
    Attestation,
    Category,
    Organisation,
    Person,
)
from anbao.accreditation.presets import DEFAULT_CATEGORIES
from anbao.core import audit, bus, clock, crypto
from anbao.core.errors import DomainError, FieldProblem, Forbidden, NotFound
from anbao.sites.models import Event, Venue, Zone

S = AccreditationStatus
LIVE = (S.APPLIED, S.VETTED, S.APPROVED, S.ISSUED, S.PRINTED, S.COLLECTED)
FORWARD: dict[str, set[str]] = {
    S.APPLIED: {S.VETTED},
    S.VETTED: {S.APPROVED},
    S.APPROVED: {S.ISSUED},
    S.ISSUED: {S.PRINTED},
    S.PRINTED: {S.COLLECTED},
    S.COLLECTED: set(),
}
REVEAL_ROLES = frozenset({Role.ADMIN, Role.ACCREDITATION_OFFICER})


def id_index(number: str) -> str:
    """Return the blind index of a normalised ID number (unique across all events)."""
    return crypto.blind_index(number, purpose="person.id")


def phone_index(phone: str) -> str:
    """Return the blind index of a normalised phone number ('' for none)."""
    return crypto.blind_index(phone, purpose="person.phone") if phone else ""


def name_dob_index(values: dict[str, Any]) -> str:
    """Return the blind index of name + date of birth, for duplicate detection."""
    born = values["birth_date"]
    return crypto.blind_index(f"{name_key(values)}|{born.isoformat()}", purpose="person.name_dob")


def allowed_targets(acc: Accreditation) -> set[str]:
    """Return the statuses ``acc`` may move to now."""
    status = acc.status
    if status == S.REVOKED:
        return set()
    if status == S.SUSPENDED:
        return {acc.suspended_from or S.APPLIED, S.REVOKED}
    out = set(FORWARD[status]) | {S.SUSPENDED, S.REVOKED}
    if status == S.APPLIED and not acc.category.vetting_required:
        out.add(S.APPROVED)
    return out


def _step(acc: Accreditation, before: str, to: str, note: str, at: datetime) -> None:
    ctx = audit.current_context()
    AccreditationStep.objects.create(
        accreditation=acc,
        from_status=before,
        to_status=to,
        actor_id=ctx.actor_id,
        actor_label=ctx.actor_label[:150],
        at=at,
        note=note[:500],
    )


@transaction.atomic
def transition(accreditation: Accreditation, *, to: str, note: str = "") -> Accreditation:
    """Move an accreditation along its lifecycle; refuse illegal moves with a domain error."""
    acc = (
        Accreditation.objects.select_for_update()
        .select_related("category")
        .get(pk=accreditation.pk)
    )
    before = acc.status
    if to not in S.values:
        raise DomainError("accreditation.unknown_status", f"Unknown status {to!r}.")
    if to not in allowed_targets(acc):
        raise DomainError(
            "accreditation.illegal_transition",
            f"An accreditation cannot go from {before} to {to}.",
            status=409,
            detail={"from": before, "to": to, "allowed": sorted(allowed_targets(acc))},
        )
    now = clock.now()
    acc.suspended_from = before if to == S.SUSPENDED else ""
    acc.status = to
    if to in (S.VETTED, S.APPROVED):
        acc.flag, acc.flag_note = "", ""
    acc.updated_at = now
    acc.save(update_fields=["status", "suspended_from", "flag", "flag_note", "updated_at"])
    _step(acc, before, to, note, now)
    audit.record(
        f"accreditation.{to}",
        obj=acc,
        before={"status": before},
        after={"status": to, "note": note} if note else {"status": to},
    )
    bus.publish(
        events.AccreditationTransitioned(
            accreditation_id=acc.pk,
            person_id=acc.person_id,
            event_id=acc.event_id,
            from_status=before,
            to_status=to,
            note=note,
        )
    )
    accreditation.status, accreditation.suspended_from = acc.status, acc.suspended_from
    accreditation.updated_at = now
    return acc


@dataclass(frozen=True)
class BulkResult:
    """How a bulk transition went: ids moved, and a problem per id refused."""

    done: list[int]
    problems: list[FieldProblem]


def bulk_transition(ids: Iterable[int], *, to: str, note: str = "") -> BulkResult:
    """Move many accreditations (e.g. bulk approval); each is its own step, refusals listed."""
    done: list[int] = []
    problems: list[FieldProblem] = []
    for pk in ids:
        acc = Accreditation.objects.filter(pk=pk).first()
        if acc is None:
            problems.append(FieldProblem(str(pk), "no such accreditation", "not_found"))
            continue
        try:
            transition(acc, to=to, note=note)
        except DomainError as exc:
            problems.append(FieldProblem(str(pk), exc.message, exc.code))
        else:
            done.append(pk)
    return BulkResult(done, problems)


def event_window(event: Event) -> tuple[datetime, datetime]:
    """Return the default validity of an event's accreditations (local midnight to midnight)."""
    tz = ZoneInfo(event.time_zone)
    start = datetime.combine(event.start_date, time.min, tzinfo=tz)
    end = datetime.combine(event.end_date + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


@transaction.atomic
def ensure_categories(event: Event) -> list[Category]:
    """Create the default categories for ``event`` where missing; return all of them."""
    existing = {c.code for c in Category.objects.filter(event=event)}
    all_zones = list(Zone.objects.filter(event=event))
    all_venues = list(Venue.objects.filter(event=event))
    for preset in DEFAULT_CATEGORIES:
        if preset.code in existing:
            continue
        cat = Category.objects.create(
            event=event,
            code=preset.code,
            name_zh=preset.name_zh,
            name_en=preset.name_en,
            colour=preset.colour,
            vetting_required=preset.vetting_required,
        )
        cat.venues.set(all_venues)
        if preset.code in {"VIP", "G"}:
            cat.zones.set(all_zones)
        audit.record("accreditation.category_created", obj=cat)
    return list(Category.objects.filter(event=event).order_by("code"))


def organisation_by_name(name: str, *, create: bool = True) -> Organisation | None:
    """Return the organisation named ``name`` (case-insensitive), creating it if allowed."""
    org = Organisation.objects.filter(name__iexact=name).first()
    if org is None and create:
        org = Organisation.objects.create(name=name)
        audit.record("accreditation.organisation_created", obj=org)
    return org


PERSON_FIELDS = (
    "ref",
    "name_zh",
    "family_name",
    "given_name",
    "gender",
    "birth_date",
    "nationality",
    "id_type",
    "id_number",
    "phone",
)


def _set_person_values(person: Person, values: dict[str, Any]) -> None:
    for key in PERSON_FIELDS:
        if key in values:
            setattr(person, key, values[key])
    person.id_index = id_index(person.id_number)
    person.phone_index = phone_index(person.phone)
    person.name_dob_index = name_dob_index(
        {
            "name_zh": person.name_zh,
            "family_name": person.family_name,
            "given_name": person.given_name,
            "birth_date": person.birth_date,
        }
    )


def _check_unique(person: Person) -> None:
    clash = Person.objects.filter(id_index=person.id_index).exclude(pk=person.pk).exists()
    if clash:
        raise DomainError(
            "accreditation.duplicate_person",
            "A person with this ID number is already registered.",
            status=409,
            problems=[FieldProblem("id_number", "already registered", "duplicate")],
        )


@transaction.atomic
def create_person(*, values: dict[str, Any], organisation: Organisation | None = None) -> Person:
    """Register one person from validated values (see ``importing.validate_rows``)."""
    now = clock.now()
    person = Person(organisation=organisation, created_at=now, updated_at=now)
    _set_person_values(person, values)
    _check_unique(person)
    person.save()
    audit.record("accreditation.person_created", obj=person, after={"ref": person.ref})
    return person


@transaction.atomic
def update_person(person: Person, *, values: dict[str, Any]) -> Person:
    """Change a person's registered values; personal fields are audited by name only."""
    changed = sorted(k for k in values if k in PERSON_FIELDS and getattr(person, k) != values[k])
    if "organisation" in values and values["organisation"] != person.organisation:
        person.organisation = values["organisation"]
        changed.append("organisation")
    _set_person_values(person, values)
    _check_unique(person)
    person.updated_at = clock.now()
    person.save()
    audit.record("accreditation.person_updated", obj=person, after={"fields": changed})
    return person


@transaction.atomic
def set_photo(person: Person, *, data: bytes) -> Person:
    """Validate, normalise and store a person's photo (encrypted)."""
    try:
        photo = normalise_photo(data)
    except ValueError as exc:
        raise DomainError(
            "accreditation.invalid_photo",
            str(exc),
            problems=[FieldProblem("photo", str(exc), "invalid")],
        ) from exc
    person.photo = photo.jpeg
    person.photo_sha256 = photo.sha256
    person.updated_at = clock.now()
    person.save(update_fields=["photo", "photo_sha256", "updated_at"])
    audit.record("accreditation.photo_set", obj=person, after={"sha256": photo.sha256})
    return person


@transaction.atomic
def create_accreditation(
    *,
    person: Person,
    event: Event,
    category: Category,
    function: str = "",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Accreditation:
    """Apply for an accreditation with the category's default venues and zones."""
    if category.event_id != event.pk:
        raise DomainError("accreditation.unknown_category", "The category is not of this event.")
    if Accreditation.objects.filter(person=person, event=event).exists():
        raise DomainError(
            "accreditation.already_accredited",
            "This person already has an accreditation for the event.",
            status=409,
        )
    start, end = event_window(event)
    now = clock.now()
    acc = Accreditation.objects.create(
        person=person,
        event=event,
        category=category,
        function=function,
        valid_from=valid_from or start,
        valid_until=valid_until or end,
        created_at=now,
        updated_at=now,
    )
    acc.zones.set(category.zones.all())
    acc.venues.set(category.venues.all())
    _step(acc, "", S.APPLIED, "", now)
    audit.record("accreditation.applied", obj=acc, after={"category": category.code})
    bus.publish(events.AccreditationTransitioned(acc.pk, person.pk, event.pk, "", S.APPLIED))
    return acc


@transaction.atomic
def change_privileges(
    accreditation: Accreditation,
    *,
    category: Category | None = None,
    zones: list[Zone] | None = None,
    venues: list[Venue] | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Accreditation:
    """Change signed fields (category, zones, venues, validity); announces the change."""
    acc = accreditation
    if acc.status == S.REVOKED:
        raise DomainError("accreditation.revoked", "A revoked accreditation cannot change.")
    changed: list[str] = []
    if category is not None and category.pk != acc.category_id:
        acc.category = category
        changed.append("category")
    if valid_from is not None and valid_from != acc.valid_from:
        acc.valid_from = valid_from
        changed.append("valid_from")
    if valid_until is not None and valid_until != acc.valid_until:
        acc.valid_until = valid_until
        changed.append("valid_until")
    if acc.valid_from and acc.valid_until and acc.valid_until <= acc.valid_from:
        raise DomainError("accreditation.invalid_validity", "valid_until must follow valid_from.")
    if zones is not None and {z.pk for z in zones} != {z.pk for z in acc.zones.all()}:
        acc.zones.set(zones)
        changed.append("zones")
    if venues is not None and {v.pk for v in venues} != {v.pk for v in acc.venues.all()}:
        acc.venues.set(venues)
        changed.append("venues")
    if changed:
        acc.updated_at = clock.now()
        acc.save()
        audit.record("accreditation.privileges_changed", obj=acc, after={"fields": changed})
        bus.publish(events.AccreditationChanged(acc.pk, tuple(changed)))
    return acc


@transaction.atomic
def record_attestation(
    *,
    person: Person,
    kind: str,
    value: dict[str, Any],
    observed_at: datetime,
    source: str,
    valid_until: datetime | None = None,
) -> Attestation:
    """Store a time-bounded fact about a person (the policy engine judges it)."""
    if observed_at.tzinfo is None or (valid_until is not None and valid_until.tzinfo is None):
        raise DomainError("accreditation.naive_time", "Attestation times must be aware.")
    att = Attestation.objects.create(
        person=person,
        kind=kind,
        value=value,
        observed_at=observed_at,
        valid_until=valid_until,
        source=source[:100],
        recorded_at=clock.now(),
    )
    audit.record(f"accreditation.attestation.{kind}", obj=person, after={"source": source})
    return att


def may_reveal(user: Any) -> bool:
    """Return whether ``user``'s role may see unmasked ID numbers and phones."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in REVEAL_ROLES


def reveal_person(person: Person, *, user: Any) -> dict[str, str]:
    """Return the unmasked ID number and phone, for roles that may; audit every reveal."""
    if not may_reveal(user):
        raise Forbidden("accreditation.reveal_forbidden", "Your role may not reveal personal data.")
    audit.record_read("id_number,phone", obj=person)
    return {"id_number": person.id_number, "phone": person.phone}


def get_person(pk: int) -> Person:
    """Return a person by id, or a 404 domain error."""
    person = Person.objects.select_related("organisation").filter(pk=pk).first()
    if person is None:
        raise NotFound("accreditation.unknown_person", f"No person {pk}.")
    return person


def get_accreditation(pk: int) -> Accreditation:
    """Return an accreditation by id, or a 404 domain error."""
    acc = (
        Accreditation.objects.select_related("person", "category", "event")
        .prefetch_related("zones", "venues", "steps")
        .filter(pk=pk)
        .first()
    )
    if acc is None:
        raise NotFound("accreditation.unknown_accreditation", f"No accreditation {pk}.")
    return acc


def search_people(*, q: str = "", organisation: str = "", category: str = "") -> QuerySet[Person]:
    """Search people by name, reference, organisation, exact ID number or exact phone."""
    qs = Person.objects.select_related("organisation")
    text = q.strip()
    if text:
        from anbao.accreditation.importing import normalise_id

        flt = (
            Q(name_zh__icontains=text)
            | Q(family_name__icontains=text)
            | Q(given_name__icontains=text)
            | Q(ref__iexact=text)
            | Q(id_index=id_index(normalise_id("", text)))
        )
        try:
            from anbao.accreditation.importing import normalise_phone

            flt |= Q(phone_index=phone_index(normalise_phone(text)))
        except ValueError:
            pass
        qs = qs.filter(flt)
    if organisation:
        qs = qs.filter(organisation__name__icontains=organisation)
    if category:
        qs = qs.filter(accreditations__category__code=category.upper()).distinct()
    return qs.order_by("family_name", "given_name", "id")


def search_accreditations(
    *, event: Event, status: str = "", category: str = "", q: str = ""
) -> QuerySet[Accreditation]:
    """List an event's accreditations, filtered by status, category code or name."""
    qs = Accreditation.objects.filter(event=event).select_related(
        "person", "category", "event", "person__organisation"
    )
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category__code=category.upper())
    if q.strip():
        ids = search_people(q=q).values("pk")
        qs = qs.filter(person__in=ids)
    return qs.order_by("id")


def photo_digest(data: bytes) -> str:
    """Return the hex SHA-256 of stored photo bytes (the credential's photo hash)."""
    return hashlib.sha256(data).hexdigest()


def today_in(event: Event) -> date:
    """Return today's date in the event's time zone."""
    return clock.now().astimezone(ZoneInfo(event.time_zone)).date()
