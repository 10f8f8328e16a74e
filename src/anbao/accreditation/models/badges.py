"""Accreditation models: badge templates, print jobs, the print log and badge collection."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "BadgeTemplate",
    "Collection",
    "IdCheckMethod",
    "PrintJob",
    "PrintJobStatus",
    "PrintLogEntry",
]


class BadgeTemplate(models.Model):
    """A badge layout (JSON, see ``accreditation.badges``) with its logo and background."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    layout = models.JSONField(help_text="the layout document; checked on every save")
    size = models.CharField(max_length=8, default="CR80", editable=False)
    sides = models.PositiveSmallIntegerField(default=2, editable=False)
    logo = models.BinaryField(null=True, blank=True, help_text="PNG or JPEG, asset 'logo'")
    background_pdf = models.BinaryField(null=True, blank=True, help_text="as uploaded")
    # The background PDF's pages rasterised once at save (reportlab cannot draw PDF pages).
    background_front = models.BinaryField(null=True, blank=True, editable=False)
    background_back = models.BinaryField(null=True, blank=True, editable=False)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("badge template")

    def __str__(self) -> str:
        return self.name

    def assets(self) -> dict[str, bytes]:
        """Return the template's images by the asset names layouts use."""
        out: dict[str, bytes] = {}
        for name, value in (
            ("logo", self.logo),
            ("background-front", self.background_front),
            ("background-back", self.background_back),
        ):
            if value:
                out[name] = bytes(value)
        return out


class PrintJobStatus(models.TextChoices):
    """Where a print job is."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PrintJob(models.Model):
    """One run of badge printing: who asked, what for, how far it got, and its PDF."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=150)
    template = models.ForeignKey(
        BadgeTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    template_name = models.CharField(max_length=80)
    filters = models.JSONField(default=dict)
    imposition = models.CharField(max_length=8, default="single")
    status = models.CharField(
        max_length=8, choices=PrintJobStatus.choices, default=PrintJobStatus.QUEUED, db_index=True
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    output = models.CharField(max_length=300, blank=True, help_text="under ANBAO_HOME/media/")
    output_bytes = models.PositiveBigIntegerField(default=0)
    skipped = models.JSONField(default=list, help_text="[{id, reason}] left out of the job")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("print job")

    def __str__(self) -> str:
        return f"print job {self.pk} ({self.status} {self.done}/{self.total})"

    def progress(self) -> dict[str, Any]:
        """Return the progress as a JSON-ready dict."""
        return {"status": self.status, "done": self.done, "total": self.total}


class PrintLogEntry(models.Model):
    """One printed badge: which accreditation, which credential, which job, which reprint."""

    accreditation = models.ForeignKey(
        "accreditation.Accreditation", on_delete=models.PROTECT, related_name="prints"
    )
    credential = models.ForeignKey(
        "accreditation.IssuedCredential",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="prints",
    )
    cid = models.CharField(max_length=32, help_text="the credential id printed as QR")
    job = models.ForeignKey(
        PrintJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="log"
    )
    printed_at = models.DateTimeField()
    printed_by_label = models.CharField(max_length=150)
    reprint = models.PositiveIntegerField(default=0, help_text="0 for the first print")

    class Meta:
        ordering = ["-printed_at", "-id"]
        verbose_name = _("print log entry")
        verbose_name_plural = _("print log")
        indexes = [models.Index(fields=["accreditation", "reprint"])]

    def __str__(self) -> str:
        return f"{self.accreditation_id} print {self.reprint}"


class IdCheckMethod(models.TextChoices):
    """How the desk checked the collector's identity."""

    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    PERMIT = "permit", _("HK/Macau or Taiwan permit")
    FACE = "face", _("Face against the enrolled photo")
    OTHER = "other", _("Other document")


class Collection(models.Model):
    """A badge handed over at the desk after an ID check."""

    accreditation = models.ForeignKey(
        "accreditation.Accreditation", on_delete=models.PROTECT, related_name="collections"
    )
    collected_at = models.DateTimeField()
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    collected_by_label = models.CharField(max_length=150, help_text="the desk officer")
    id_check_method = models.CharField(max_length=12, choices=IdCheckMethod.choices)
    id_checked = models.BooleanField()
    note = models.CharField(max_length=300, blank=True, help_text="result of the check")

    class Meta:
        ordering = ["-collected_at", "-id"]
        verbose_name = _("badge collection")

    def __str__(self) -> str:
        return f"{self.accreditation_id} collected {self.collected_at:%Y-%m-%d %H:%M}"
