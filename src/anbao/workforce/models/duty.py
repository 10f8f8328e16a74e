"""Duty: check-in and check-out at the post, missed check-in alerts, and reserve units."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.workforce.models.posts import Post, Shift
from anbao.workforce.models.roster import Assignment
from anbao.workforce.models.staff import Guard, Squad

__all__ = [
    "CheckMethod",
    "DutyAlert",
    "DutyAlertKind",
    "DutyRecord",
    "ReserveKind",
    "ReserveState",
    "ReserveUnit",
]


class CheckMethod(models.TextChoices):
    """How a guard's presence at the post was recorded."""

    LEADER_DEVICE = "leader_device", _("Badge scanned by the leader's device")
    OWN_PHONE = "own_phone", _("Guard's own phone")
    MANUAL = "manual", _("Entered by hand")


class DutyRecord(models.Model):
    """When a guard actually started and ended a shift at a post."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="duty_records")
    guard = models.ForeignKey(Guard, on_delete=models.PROTECT, related_name="duty_records")
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="duty_records")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="duty_records")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="duty_records"
    )
    check_in_at = models.DateTimeField()
    check_in_method = models.CharField(max_length=14, choices=CheckMethod.choices)
    check_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    check_out_at = models.DateTimeField(null=True, blank=True)
    check_out_method = models.CharField(max_length=14, choices=CheckMethod.choices, blank=True)
    check_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-check_in_at"]
        verbose_name = _("duty record")
        constraints = [
            models.UniqueConstraint(fields=["guard", "shift"], name="duty_once_per_shift")
        ]

    def __str__(self) -> str:
        return f"{self.guard_id} {self.shift_id}"

    @property
    def hours(self) -> float:
        """Return the hours worked (0 while still on duty)."""
        if self.check_out_at is None:
            return 0.0
        return max(0.0, (self.check_out_at - self.check_in_at).total_seconds() / 3600)


class DutyAlertKind(models.TextChoices):
    """What went wrong with a rostered duty."""

    NOT_CHECKED_IN = "not_checked_in", _("Not checked in")


class DutyAlert(models.Model):
    """A rostered guard who has not checked in N minutes after the shift started."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="duty_alerts")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=DutyAlertKind.choices)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("duty alert")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "kind"], name="duty_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.assignment_id}"


class ReserveKind(models.TextChoices):
    """What a reserve (机动) unit brings."""

    FOOT = "foot", _("Foot team")
    VEHICLE = "vehicle", _("Vehicle team")
    CANINE = "canine", _("Canine team")
    MEDICAL = "medical", _("First-aid team")


class ReserveState(models.TextChoices):
    """Where a reserve unit is in its cycle."""

    AVAILABLE = "available", _("Available")
    DISPATCHED = "dispatched", _("Dispatched")
    ON_SCENE = "on_scene", _("On scene")
    OFF_DUTY = "off_duty", _("Off duty")


class ReserveUnit(models.Model):
    """A reserve force unit on call, with its position and state."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="reserve_units")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=8, choices=ReserveKind.choices)
    squad = models.ForeignKey(
        Squad, null=True, blank=True, on_delete=models.SET_NULL, related_name="reserve_units"
    )
    size = models.PositiveSmallIntegerField(default=4)
    lon = models.FloatField()
    lat = models.FloatField()
    state = models.CharField(
        max_length=10, choices=ReserveState.choices, default=ReserveState.AVAILABLE
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    task = models.CharField(max_length=200, blank=True, help_text="what it was dispatched to")

    class Meta:
        ordering = ["event", "code"]
        verbose_name = _("reserve unit")
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="reserve_unit_code_unique")
        ]

    def __str__(self) -> str:
        return self.code
