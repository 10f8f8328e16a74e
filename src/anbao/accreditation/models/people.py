"""Accreditation models: people, organisations, categories, accreditations, permits, passes.

Personal data (ID numbers, phones, photos) is encrypted at rest; each searchable value has a
blind index next to it. The ID index is unique across all events: one person row per ID
document, however many events the person is accredited for.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.core import crypto
from anbao.core.fields import EncryptedBinaryField, EncryptedTextField

__all__ = [
    "Accreditation",
    "AccreditationStatus",
    "AccreditationStep",
    "Attestation",
    "AttestationKind",
    "Category",
    "Gender",
    "IdType",
    "Organisation",
    "OrganisationKind",
    "PassKind",
    "PassQuota",
    "PermitStatus",
    "Person",
    "TemporaryPass",
    "VehiclePermit",
]


class OrganisationKind(models.TextChoices):
    """What kind of body an organisation is."""

    DELEGATION = "delegation", _("Delegation")
    MEDIA = "media", _("Media outlet")
    CONTRACTOR = "contractor", _("Contractor")
    GOVERNMENT = "government", _("Government body")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """A delegation, media outlet, contractor or government body, with a contact person."""

    name = models.CharField(max_length=200, unique=True)
    name_en = models.CharField(max_length=200, blank=True)
    kind = models.CharField(
        max_length=20, choices=OrganisationKind.choices, default=OrganisationKind.OTHER
    )
    contact_name = models.CharField(max_length=100, blank=True)
    contact_phone = EncryptedTextField(blank=True, default="")
    contact_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """An accreditation category of one event (VIP, D, E, S, G, C, T, ...)."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="categories")
    code = models.CharField(max_length=10)
    name_zh = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    colour = models.CharField(max_length=7, default="#888888", help_text="hex, e.g. #c8102e")
    venues = models.ManyToManyField("sites.Venue", blank=True, related_name="+")
    zones = models.ManyToManyField("sites.Zone", blank=True, related_name="+")
    vetting_required = models.BooleanField(default=True)

    class Meta:
        ordering = ["event", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="category_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class Gender(models.TextChoices):
    """Gender as written on the ID document."""

    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    OTHER = "X", _("Unspecified")


class IdType(models.TextChoices):
    """The ID document a person registers with."""

    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAU_PERMIT = "hk_macau_permit", _("Hong Kong/Macau permit")
    TAIWAN_PERMIT = "taiwan_permit", _("Taiwan permit")


class Person(models.Model):
    """A person who may be accredited; ID number, phone and photo are encrypted at rest."""

    ref = models.CharField(max_length=40, blank=True, help_text="the registrant's own reference")
    name_zh = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    gender = models.CharField(max_length=1, choices=Gender.choices)
    birth_date = models.DateField()
    nationality = models.CharField(max_length=3, help_text="ISO 3166-1 alpha-3")
    id_type = models.CharField(max_length=20, choices=IdType.choices)
    id_number = EncryptedTextField()
    id_index = models.CharField(max_length=64, unique=True, editable=False)
    phone = EncryptedTextField(blank=True, default="")
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    name_dob_index = models.CharField(max_length=64, db_index=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    photo = EncryptedBinaryField(null=True, blank=True, editable=False)
    photo_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self) -> str:
        """Return the Chinese name if any, else the Latin one."""
        return self.name_zh or self.latin_name()

    def latin_name(self) -> str:
        """Return the Latin-script name, family name in capitals first."""
        return f"{self.family_name.upper()} {self.given_name}".strip()

    def masked_id(self) -> str:
        """Return the ID number with its middle hidden (for screens)."""
        return crypto.mask(self.id_number or "", keep_start=3, keep_end=4)

    def masked_phone(self) -> str:
        """Return the phone number with its middle hidden (for screens)."""
        return crypto.mask(self.phone or "", keep_start=3, keep_end=4) if self.phone else ""


class AccreditationStatus(models.TextChoices):
    """The lifecycle of an accreditation (see ``services.transition``)."""

    APPLIED = "applied", _("Applied")
    VETTED = "vetted", _("Vetted")
    APPROVED = "approved", _("Approved")
    ISSUED = "issued", _("Credential issued")
    PRINTED = "printed", _("Printed")
    COLLECTED = "collected", _("Collected")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")


class Accreditation(models.Model):
    """A person's right to be at one event for a function: category, venues, zones, validity."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="accreditations")
    event = models.ForeignKey("sites.Event", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="accreditations")
    function = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=12,
        choices=AccreditationStatus.choices,
        default=AccreditationStatus.APPLIED,
        db_index=True,
    )
    suspended_from = models.CharField(max_length=12, blank=True, help_text="status to return to")
    flag = models.CharField(max_length=40, blank=True, help_text="e.g. vetting_pending")
    flag_note = models.CharField(max_length=200, blank=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    zones = models.ManyToManyField("sites.Zone", blank=True, related_name="+")
    venues = models.ManyToManyField("sites.Venue", blank=True, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["event", "id"]
        verbose_name = _("accreditation")
        constraints = [
            models.UniqueConstraint(fields=["person", "event"], name="accreditation_person_event")
        ]

    def __str__(self) -> str:
        return f"{self.category.code} {self.person} ({self.status})"

    def zone_numbers(self) -> list[str]:
        """Return the numbers of the zones granted, sorted."""
        return sorted(z.number for z in self.zones.all())

    def venue_codes(self) -> list[str]:
        """Return the codes of the venues granted, sorted."""
        return sorted(v.code for v in self.venues.all())


class AccreditationStep(models.Model):
    """One lifecycle step of an accreditation: from, to, who, when, why."""

    accreditation = models.ForeignKey(Accreditation, on_delete=models.CASCADE, related_name="steps")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class AttestationKind(models.TextChoices):
    """The kinds of time-bounded facts about a person."""

    HEALTH_CODE = "health_code", _("Health code")
    NAT_TEST = "nat_test", _("Nucleic-acid test")
    VACCINATION = "vaccination", _("Vaccination")
    TRAINING = "training", _("Training certificate")
    VETTING = "vetting", _("Background vetting")


class Attestation(models.Model):
    """A time-bounded fact about a person (health code, test, vetting, ...)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="attestations")
    kind = models.CharField(max_length=20, choices=AttestationKind.choices)
    value = models.JSONField(default=dict)
    observed_at = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=100)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-observed_at", "-id"]
        indexes = [models.Index(fields=["person", "kind", "observed_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.observed_at:%Y-%m-%d %H:%M}"


class PermitStatus(models.TextChoices):
    """State of a vehicle permit or a temporary pass."""

    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")


class VehiclePermit(models.Model):
    """A vehicle's permit: plate, type, driver, zones, routes, parking and validity."""

    event = models.ForeignKey("sites.Event", on_delete=models.PROTECT, related_name="+")
    plate = models.CharField(max_length=16)
    vehicle_type = models.CharField(max_length=40)
    driver = models.ForeignKey(
        Accreditation, null=True, blank=True, on_delete=models.PROTECT, related_name="vehicles"
    )
    zones = models.ManyToManyField("sites.Zone", blank=True, related_name="+")
    routes = models.JSONField(default=list, blank=True)
    parking = models.CharField(max_length=100, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=PermitStatus.choices, default=PermitStatus.ACTIVE
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["plate"]
        constraints = [
            models.UniqueConstraint(fields=["event", "plate"], name="vehicle_permit_plate_unique")
        ]

    def __str__(self) -> str:
        return self.plate

    def zone_numbers(self) -> list[str]:
        """Return the numbers of the zones allowed, sorted."""
        return sorted(z.number for z in self.zones.all())


class PassKind(models.TextChoices):
    """A temporary pass: a day pass (worker) or a guest pass."""

    DAY = "day", _("Day pass")
    GUEST = "guest", _("Guest pass")


class PassQuota(models.Model):
    """How many temporary passes of a kind a host organisation may hold per day."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="quotas")
    kind = models.CharField(max_length=10, choices=PassKind.choices)
    per_day = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "organisation", "kind"], name="pass_quota_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.kind} x{self.per_day}"


class TemporaryPass(models.Model):
    """A day or guest pass for one day, issued against its host organisation's quota."""

    event = models.ForeignKey("sites.Event", on_delete=models.PROTECT, related_name="+")
    host = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="passes")
    kind = models.CharField(max_length=10, choices=PassKind.choices)
    holder_name = models.CharField(max_length=100)
    holder_id_number = EncryptedTextField(blank=True, default="")
    holder_id_index = models.CharField(max_length=64, blank=True, db_index=True)
    day = models.DateField()
    zones = models.ManyToManyField("sites.Zone", blank=True, related_name="+")
    status = models.CharField(
        max_length=10, choices=PermitStatus.choices, default=PermitStatus.ACTIVE
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "id"]
        indexes = [models.Index(fields=["event", "host", "kind", "day"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.holder_name} {self.day}"
