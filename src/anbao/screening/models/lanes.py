"""Lane operations: open/closed state, queue reports, arrival counts and lane equipment."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ArrivalCount",
    "EquipmentKind",
    "EquipmentStatus",
    "LaneEquipment",
    "LaneState",
    "QueueReport",
]


class LaneState(models.Model):
    """Whether a lane is open now, since when and by whom (a lane without a row is open)."""

    lane = models.OneToOneField("sites.Lane", on_delete=models.CASCADE, related_name="state")
    is_open = models.BooleanField(default=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("lane state")

    def __str__(self) -> str:
        return f"lane {self.lane_id} {'open' if self.is_open else 'closed'}"


class QueueReport(models.Model):
    """A queue length counted by eye at a lane and reported by a user."""

    lane = models.ForeignKey("sites.Lane", on_delete=models.CASCADE, related_name="queue_reports")
    length = models.PositiveIntegerField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lane", "at"])]
        verbose_name = _("queue report")

    def __str__(self) -> str:
        return f"queue {self.length} @ lane {self.lane_id}"


class ArrivalCount(models.Model):
    """People who joined a lane's queue during one minute (UTC, truncated), as counted."""

    lane = models.ForeignKey("sites.Lane", on_delete=models.CASCADE, related_name="arrivals")
    minute = models.DateTimeField(help_text="start of the minute, UTC")
    count = models.PositiveIntegerField()
    device = models.ForeignKey(
        "sites.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["lane", "minute"]
        constraints = [
            models.UniqueConstraint(fields=["lane", "minute"], name="arrival_count_unique")
        ]
        verbose_name = _("arrival count")

    def __str__(self) -> str:
        return f"{self.count} @ lane {self.lane_id} {self.minute:%H:%M}"


class EquipmentKind(models.TextChoices):
    """What a piece of lane equipment is."""

    XRAY = "xray", _("X-ray")
    WTMD = "wtmd", _("Walk-through metal detector")
    HANDHELD = "handheld", _("Handheld metal detector")
    UVSS = "uvss", _("Under-vehicle scanner")
    OTHER = "other", _("Other")


class EquipmentStatus(models.TextChoices):
    """Whether a piece of equipment works."""

    OK = "ok", _("OK")
    FAULT = "fault", _("Fault")
    MAINTENANCE = "maintenance", _("Maintenance")


class LaneEquipment(models.Model):
    """One piece of screening equipment at a lane, with its last reported status."""

    lane = models.ForeignKey("sites.Lane", on_delete=models.CASCADE, related_name="equipment")
    kind = models.CharField(max_length=12, choices=EquipmentKind.choices)
    label = models.CharField(max_length=60)
    status = models.CharField(
        max_length=12, choices=EquipmentStatus.choices, default=EquipmentStatus.OK
    )
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["lane", "kind", "label"]
        constraints = [
            models.UniqueConstraint(fields=["lane", "kind", "label"], name="lane_equipment_unique")
        ]
        verbose_name = _("lane equipment")
        verbose_name_plural = _("lane equipment")

    def __str__(self) -> str:
        return f"{self.kind} {self.label} {self.status}"
