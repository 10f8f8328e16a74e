"""Screening models: passages through checkpoints, live presence per zone, checkpoint rules."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "DEFAULT_AUTO_CHECKOUT_HOUR",
    "CheckpointRules",
    "Direction",
    "Passage",
    "Presence",
]

#: Local hour (event time zone) at which presences end when a checkpoint sets nothing.
DEFAULT_AUTO_CHECKOUT_HOUR = 4


class Direction(models.TextChoices):
    """Which way a person passes a checkpoint: into its ``to_zone`` or back out of it."""

    ENTRY = "entry", _("Entry")
    EXIT = "exit", _("Exit")


class CheckpointRules(models.Model):
    """Per-checkpoint scan rules: anti-passback and the automatic check-out hour."""

    checkpoint = models.OneToOneField(
        "sites.Checkpoint", on_delete=models.CASCADE, related_name="scan_rules"
    )
    anti_passback = models.BooleanField(default=True)
    auto_checkout_hour = models.PositiveSmallIntegerField(
        default=DEFAULT_AUTO_CHECKOUT_HOUR, help_text="local hour (0-23) when presences end"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("checkpoint rules")
        verbose_name_plural = _("checkpoint rules")

    def __str__(self) -> str:
        return f"rules {self.checkpoint_id}"


class Passage(models.Model):
    """One decided scan at a lane: the decision, its reason and rule, and both clocks."""

    # Indexed in Meta rather than with db_index: on PostgreSQL db_index adds a second,
    # pattern-matching index that nothing uses, one more B-tree insert on every scan.
    cid = models.CharField(max_length=32, blank=True, help_text="credential id hex")
    accreditation = models.ForeignKey(
        "accreditation.Accreditation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="passages",
    )
    # No index of its own: (checkpoint, server_time) below serves every lookup by checkpoint,
    # and each index is one more B-tree insert on the hottest write of the system.
    checkpoint = models.ForeignKey(
        "sites.Checkpoint", on_delete=models.PROTECT, related_name="passages", db_index=False
    )
    lane = models.ForeignKey("sites.Lane", on_delete=models.PROTECT, related_name="passages")
    device = models.ForeignKey(
        "sites.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="passages"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # only read with the passage; never looked up by operator
    )
    manual = models.BooleanField(default=False, help_text="looked up by accreditation id")
    direction = models.CharField(max_length=5, choices=Direction.choices)
    status = models.CharField(max_length=10)
    reason = models.CharField(max_length=40)
    rule = models.CharField(max_length=100, blank=True, help_text="the policy rule that refused")
    detail = models.CharField(max_length=200, blank=True)
    device_time = models.DateTimeField(null=True, blank=True)
    server_time = models.DateTimeField(db_index=True)
    nonce = models.CharField(max_length=100)
    offline = models.BooleanField(
        default=False, help_text="decided by a gate alone and uploaded on sync"
    )
    annulled = models.BooleanField(default=False)
    annulled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # only read with the passage
    )
    annulled_at = models.DateTimeField(null=True, blank=True)
    annul_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-server_time", "-id"]
        indexes = [
            models.Index(fields=["checkpoint", "server_time"]),
            models.Index(fields=["cid"], name="screening_passage_cid"),
        ]
        verbose_name = _("passage")

    def __str__(self) -> str:
        return f"{self.direction} {self.status}/{self.reason} @ {self.checkpoint_id}"


class Presence(models.Model):
    """Who is inside which zone now, since when, and through which passage."""

    accreditation = models.ForeignKey(
        "accreditation.Accreditation", on_delete=models.CASCADE, related_name="presences"
    )
    zone = models.ForeignKey("sites.Zone", on_delete=models.CASCADE, related_name="presences")
    since = models.DateTimeField()
    passage = models.ForeignKey(
        Passage, null=True, blank=True, on_delete=models.SET_NULL, related_name="presences"
    )

    class Meta:
        ordering = ["zone", "since"]
        constraints = [
            models.UniqueConstraint(fields=["accreditation", "zone"], name="presence_unique")
        ]
        verbose_name = _("presence")

    def __str__(self) -> str:
        return f"{self.accreditation_id} in {self.zone_id}"
