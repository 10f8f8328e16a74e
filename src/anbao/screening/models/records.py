"""Screening models: screening records and seizures (with deposit tickets)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.core.fields import EncryptedBinaryField

__all__ = [
    "Disposition",
    "ScreeningMethod",
    "ScreeningOutcome",
    "ScreeningRecord",
    "ScreeningSubject",
    "SearcherGender",
    "Seizure",
    "SeizureStatus",
]


class ScreeningSubject(models.TextChoices):
    """What was screened."""

    PERSON = "person", _("Person")
    BAG = "bag", _("Bag")
    VEHICLE = "vehicle", _("Vehicle")


class ScreeningMethod(models.TextChoices):
    """How it was screened; each method belongs to one subject (see ``METHODS_BY_SUBJECT``)."""

    WALK_THROUGH = "walk_through", _("Walk-through metal detector")
    HANDHELD = "handheld", _("Handheld metal detector")
    PAT_DOWN = "pat_down", _("Pat-down")
    XRAY = "xray", _("X-ray")
    OPENED = "opened", _("Bag opened")
    CREDENTIAL_PLATE = "credential_plate", _("Credential and plate check")
    UNDER_VEHICLE = "under_vehicle", _("Under-vehicle inspection")
    CANINE = "canine", _("Canine sweep")
    TRUNK_CARGO = "trunk_cargo", _("Trunk and cargo")


METHODS_BY_SUBJECT: dict[str, frozenset[str]] = {
    ScreeningSubject.PERSON: frozenset({"walk_through", "handheld", "pat_down"}),
    ScreeningSubject.BAG: frozenset({"xray", "opened"}),
    ScreeningSubject.VEHICLE: frozenset(
        {"credential_plate", "under_vehicle", "canine", "trunk_cargo"}
    ),
}


class ScreeningOutcome(models.TextChoices):
    """The outcome of one screening."""

    CLEAR = "clear", _("Clear")
    ALARM_RESOLVED = "alarm_resolved", _("Alarm resolved")
    ITEM_FOUND = "item_found", _("Item found")
    REFUSED = "refused", _("Refused")


class SearcherGender(models.TextChoices):
    """The searcher's gender (a pat-down is done by a searcher of the same gender)."""

    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class ScreeningRecord(models.Model):
    """One screening of a person, bag or vehicle at a lane."""

    checkpoint = models.ForeignKey(
        "sites.Checkpoint", on_delete=models.PROTECT, related_name="screenings"
    )
    lane = models.ForeignKey(
        "sites.Lane", on_delete=models.PROTECT, related_name="screenings", null=True, blank=True
    )
    # The passage this screening belongs to; a plain integer until the Passage model settles.
    passage_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    public = models.BooleanField(
        default=False, help_text="member of the public screened without a credential"
    )
    subject = models.CharField(max_length=10, choices=ScreeningSubject.choices)
    method = models.CharField(max_length=20, choices=ScreeningMethod.choices)
    outcome = models.CharField(max_length=16, choices=ScreeningOutcome.choices)
    searcher_gender = models.CharField(max_length=6, choices=SearcherGender.choices, blank=True)
    plate = models.CharField(max_length=20, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lane", "at"])]

    def __str__(self) -> str:
        return f"{self.subject}/{self.method} {self.outcome} @ {self.checkpoint_id}"


class Disposition(models.TextChoices):
    """What happened to a seized item."""

    DEPOSITED = "deposited", _("Deposited (returned on exit)")
    CONFISCATED = "confiscated", _("Confiscated")
    POLICE = "police", _("Handed to the police")
    REFUSED = "refused", _("Entry refused")


class SeizureStatus(models.TextChoices):
    """Where a seized item is now."""

    HELD = "held", _("Held")
    RETURNED = "returned", _("Returned")
    CLOSED = "closed", _("Closed")


class Seizure(models.Model):
    """A prohibited (禁) or restricted (限) item found at screening."""

    checkpoint = models.ForeignKey(
        "sites.Checkpoint", on_delete=models.PROTECT, related_name="seizures"
    )
    lane = models.ForeignKey(
        "sites.Lane", on_delete=models.PROTECT, related_name="seizures", null=True, blank=True
    )
    screening = models.ForeignKey(
        ScreeningRecord,
        on_delete=models.SET_NULL,
        related_name="seizures",
        null=True,
        blank=True,
    )
    item_code = models.CharField(max_length=40, db_index=True)
    item_zh = models.CharField(max_length=100)
    item_en = models.CharField(max_length=100)
    item_class = models.CharField(max_length=12, db_index=True)
    quantity = models.PositiveIntegerField(default=1)
    note = models.CharField(max_length=500, blank=True)
    disposition = models.CharField(max_length=12, choices=Disposition.choices)
    status = models.CharField(
        max_length=10, choices=SeizureStatus.choices, default=SeizureStatus.CLOSED
    )
    ticket = models.CharField(max_length=20, unique=True, null=True, blank=True)
    police_case = models.CharField(max_length=60, blank=True)
    photo = EncryptedBinaryField(null=True, blank=True, editable=False)
    photo_type = models.CharField(max_length=20, blank=True)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    at = models.DateTimeField(db_index=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_checkpoint = models.ForeignKey(
        "sites.Checkpoint",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.item_code} x{self.quantity} ({self.disposition})"
