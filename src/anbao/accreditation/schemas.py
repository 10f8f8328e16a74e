"""Schemas of the accreditation API. People are shown masked; only the reveal route unmasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from anbao.accreditation.models import Accreditation, Person


class PersonOut(Schema):
    """A person in lists: ID number and phone masked."""

    id: int
    ref: str
    name_zh: str
    family_name: str
    given_name: str
    gender: str
    birth_date: date
    nationality: str
    id_type: str
    id_number_masked: str
    phone_masked: str
    organisation: str | None
    has_photo: bool
    photo_sha256: str

    @staticmethod
    def resolve_id_number_masked(obj: Person) -> str:
        """Mask the ID number."""
        return obj.masked_id()

    @staticmethod
    def resolve_phone_masked(obj: Person) -> str:
        """Mask the phone."""
        return obj.masked_phone()

    @staticmethod
    def resolve_organisation(obj: Person) -> str | None:
        """Name the organisation."""
        return obj.organisation.name if obj.organisation_id and obj.organisation else None

    @staticmethod
    def resolve_has_photo(obj: Person) -> bool:
        """Say whether a photo is stored."""
        return bool(obj.photo_sha256)


class StepOut(Schema):
    """One lifecycle step."""

    from_status: str
    to_status: str
    actor_label: str
    at: datetime
    note: str


class AccreditationOut(Schema):
    """An accreditation with its privileges."""

    id: int
    person_id: int
    person_name: str
    event: str
    category: str
    function: str
    status: str
    flag: str
    valid_from: datetime | None
    valid_until: datetime | None
    zones: list[str]
    venues: list[str]

    @staticmethod
    def resolve_person_name(obj: Accreditation) -> str:
        """Display name of the person."""
        return obj.person.display_name()

    @staticmethod
    def resolve_event(obj: Accreditation) -> str:
        """Event code."""
        return obj.event.code

    @staticmethod
    def resolve_category(obj: Accreditation) -> str:
        """Category code."""
        return obj.category.code

    @staticmethod
    def resolve_zones(obj: Accreditation) -> list[str]:
        """Zone numbers."""
        return obj.zone_numbers()

    @staticmethod
    def resolve_venues(obj: Accreditation) -> list[str]:
        """Venue codes."""
        return obj.venue_codes()


class AccreditationDetailOut(AccreditationOut):
    """An accreditation with its history."""

    steps: list[StepOut]

    @staticmethod
    def resolve_steps(obj: Accreditation) -> list[Any]:
        """Return the lifecycle history, oldest first."""
        return list(obj.steps.all())


class PersonDetailOut(PersonOut):
    """A person with accreditations and history (still masked)."""

    accreditations: list[AccreditationDetailOut]

    @staticmethod
    def resolve_accreditations(obj: Person) -> list[Any]:
        """Return every accreditation of the person."""
        return list(
            obj.accreditations.select_related("event", "category", "person").prefetch_related(
                "zones", "venues", "steps"
            )
        )


class PersonIn(Schema):
    """A person to register, with the accreditation to apply for (same rules as an import)."""

    ref: str = ""
    name_zh: str = ""
    family_name: str = ""
    given_name: str = ""
    gender: str
    birth_date: str
    nationality: str
    id_type: str
    id_number: str
    phone: str = ""
    organisation: str
    category: str
    function: str = ""


class PersonPatch(Schema):
    """Fields of a person to change; missing ones stay as they are."""

    ref: str | None = None
    name_zh: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    nationality: str | None = None
    id_type: str | None = None
    id_number: str | None = None
    phone: str | None = None
    organisation: str | None = None


class RevealOut(Schema):
    """Unmasked personal data (every reveal is audited)."""

    id_number: str
    phone: str


class TransitionIn(Schema):
    """A lifecycle move."""

    to: str
    note: str = Field("", max_length=500)


class BulkTransitionIn(Schema):
    """A lifecycle move for many accreditations (bulk approval)."""

    ids: list[int] = Field(..., max_length=5000)
    to: str = "approved"
    note: str = Field("", max_length=500)


class ProblemOut(Schema):
    """One problem."""

    field: str
    code: str
    message: str


class BulkTransitionOut(Schema):
    """Which accreditations moved and which were refused."""

    done: list[int]
    problems: list[ProblemOut]


class RowProblemOut(Schema):
    """One import problem: row, column, reason."""

    row: int
    column: str
    code: str
    message: str
    severity: str


class ImportReportOut(Schema):
    """A preview or a commit; ``error_file_base64`` holds the error .xlsx in valid mode."""

    event: str
    rows: int
    valid: int
    photos: int
    committed: bool
    stored: int
    new_organisations: list[str]
    problems: list[RowProblemOut]
    error_file_base64: str | None = None


class VettingReportOut(Schema):
    """The outcome of a vetting file."""

    cleared: int
    refused: int
    pending: int
    unchanged: int
    problems: list[RowProblemOut]
