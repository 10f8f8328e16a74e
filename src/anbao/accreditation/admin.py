"""Back office for accreditation; people and accreditations are read-only here.

The lifecycle and the personal-data rules live in the services, the API and the import.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from anbao.accreditation.models import (
    Accreditation,
    AccreditationStep,
    Attestation,
    Category,
    Organisation,
    PassQuota,
    Person,
    TemporaryPass,
    VehiclePermit,
)
from anbao.core.admin import AuditedModelAdmin, ReadOnlyAdmin


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    """Organisations and their contact person."""

    list_display = ("name", "kind", "contact_name")
    list_filter = ("kind",)
    search_fields = ("name", "name_en", "contact_name")


@admin.register(Category)
class CategoryAdmin(AuditedModelAdmin):
    """Accreditation categories per event."""

    list_display = ("code", "name_zh", "name_en", "colour", "vetting_required", "event")
    list_filter = ("event", "vetting_required")
    filter_horizontal = ("venues", "zones")


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    """People, masked: ID numbers and phones are never shown in the back office."""

    list_display = ("__str__", "ref", "gender", "nationality", "id_type", "masked", "organisation")
    list_filter = ("id_type", "gender", "nationality")
    search_fields = ("name_zh", "family_name", "given_name", "ref")
    fields = (
        "ref",
        "name_zh",
        "family_name",
        "given_name",
        "gender",
        "birth_date",
        "nationality",
        "id_type",
        "masked",
        "organisation",
        "photo_sha256",
    )
    readonly_fields = fields

    @admin.display(description="ID number")
    def masked(self, obj: Person) -> str:
        """Show the masked ID number."""
        return obj.masked_id()


class StepInline(admin.TabularInline):
    """The lifecycle history."""

    model = AccreditationStep
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "actor_label", "at", "note")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """History is written by the services only."""
        return False


@admin.register(Accreditation)
class AccreditationAdmin(ReadOnlyAdmin):
    """Accreditations with their history (change them through the office screens or API)."""

    list_display = ("id", "person", "category", "status", "flag", "event")
    list_filter = ("event", "status", "category__code", "flag")
    search_fields = ("person__name_zh", "person__family_name", "person__ref")
    list_select_related = ("person", "category", "event")
    inlines = [StepInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Viewable (so that the history inline shows), never saved."""
        return request.method in ("GET", "HEAD")


@admin.register(Attestation)
class AttestationAdmin(ReadOnlyAdmin):
    """Attestations (health, tests, vetting...)."""

    list_display = ("person", "kind", "observed_at", "valid_until", "source")
    list_filter = ("kind", "source")
    list_select_related = ("person",)


@admin.register(VehiclePermit)
class VehiclePermitAdmin(ReadOnlyAdmin):
    """Vehicle permits."""

    list_display = ("plate", "vehicle_type", "status", "valid_from", "valid_until", "event")
    list_filter = ("status", "vehicle_type")
    search_fields = ("plate",)


@admin.register(PassQuota)
class PassQuotaAdmin(AuditedModelAdmin):
    """Temporary-pass quotas per host organisation."""

    list_display = ("organisation", "kind", "per_day", "event")
    list_filter = ("kind", "event")


@admin.register(TemporaryPass)
class TemporaryPassAdmin(ReadOnlyAdmin):
    """Day and guest passes."""

    list_display = ("holder_name", "kind", "host", "day", "status")
    list_filter = ("kind", "status", "day")
