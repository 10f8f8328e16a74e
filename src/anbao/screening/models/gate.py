"""Offline gates: each gate's last known state, and double-entry conflicts found on sync."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["ConflictKind", "GateMode", "GateState", "OfflineConflict"]


class GateMode(models.TextChoices):
    """How a gate client decides: against the server, or alone from its bundle."""

    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline")
    FORCED_OFFLINE = "forced_offline", _("Offline (forced by operator)")


class GateState(models.Model):
    """The last state a gate client reported: mode, bundle, journal backlog and clock skew."""

    device = models.OneToOneField(
        "sites.Device", on_delete=models.CASCADE, related_name="gate_state"
    )
    mode = models.CharField(max_length=16, choices=GateMode.choices, default=GateMode.ONLINE)
    bundle_serial = models.PositiveIntegerField(default=0)
    bundle_at = models.DateTimeField(null=True, blank=True, help_text="when the bundle was built")
    last_sync_at = models.DateTimeField(null=True, blank=True)
    pending = models.PositiveIntegerField(default=0, help_text="journal entries not yet synced")
    clock_skew_s = models.FloatField(
        default=0.0, help_text="gate clock minus server clock, seconds"
    )
    uploaded = models.PositiveIntegerField(default=0, help_text="offline decisions accepted")

    class Meta:
        verbose_name = _("gate state")

    def __str__(self) -> str:
        return f"gate {self.device_id} {self.mode}"


class ConflictKind(models.TextChoices):
    """What the sync found wrong between two passages of one credential."""

    DOUBLE_ENTRY = "double_entry", _("Double entry")
    EXIT_WITHOUT_ENTRY = "exit_without_entry", _("Exit without entry")


class OfflineConflict(models.Model):
    """One credential allowed in twice (or out without entry) by gates that could not agree."""

    kind = models.CharField(max_length=20, choices=ConflictKind.choices)
    cid = models.CharField(max_length=32, db_index=True)
    accreditation = models.ForeignKey(
        "accreditation.Accreditation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checkpoint = models.ForeignKey(
        "sites.Checkpoint", on_delete=models.PROTECT, related_name="offline_conflicts"
    )
    first_passage = models.ForeignKey(
        "screening.Passage", on_delete=models.PROTECT, related_name="+"
    )
    second_passage = models.ForeignKey(
        "screening.Passage", on_delete=models.PROTECT, related_name="+"
    )
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["first_passage", "second_passage"], name="offline_conflict_unique"
            )
        ]
        verbose_name = _("offline conflict")

    def __str__(self) -> str:
        return f"{self.kind} {self.cid}"
