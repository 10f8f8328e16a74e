"""Training that grants or renews qualifications, equipment inventory, and commendations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.workforce.models.staff import Guard, Qualification, Skill

__all__ = [
    "Attendance",
    "AttendanceResult",
    "Commendation",
    "Course",
    "EquipmentEvent",
    "EquipmentItem",
    "InventoryKind",
    "InventoryStatus",
    "TrainingSession",
]


class Course(models.Model):
    """A training course; passing it grants or renews ``grants`` for ``validity_days``."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120, blank=True)
    grants = models.CharField(max_length=12, choices=Skill.choices, blank=True)
    validity_days = models.PositiveIntegerField(null=True, blank=True, help_text="empty: no expiry")
    pass_mark = models.PositiveSmallIntegerField(default=60)

    class Meta:
        ordering = ["code"]
        verbose_name = _("course")

    def __str__(self) -> str:
        return self.name


class TrainingSession(models.Model):
    """One dated session of a course."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    start = models.DateTimeField()
    end = models.DateTimeField()
    place = models.CharField(max_length=120, blank=True)
    trainer = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("training session")

    def __str__(self) -> str:
        return f"{self.course.code} {self.start:%Y-%m-%d}"


class AttendanceResult(models.TextChoices):
    """How a guard did at a session."""

    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
    ABSENT = "absent", _("Absent")


class Attendance(models.Model):
    """A guard's attendance and result at a session, and the qualification it granted."""

    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="attendance"
    )
    guard = models.ForeignKey(Guard, on_delete=models.PROTECT, related_name="training")
    result = models.CharField(max_length=8, choices=AttendanceResult.choices)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    granted = models.ForeignKey(
        Qualification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["session", "guard"]
        verbose_name = _("attendance")
        constraints = [models.UniqueConstraint(fields=["session", "guard"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.guard_id} {self.result}"


class InventoryKind(models.TextChoices):
    """Kinds of equipment the contractor owns."""

    XRAY = "xray", _("X-ray machine")
    WTMD = "wtmd", _("Walk-through metal detector")
    HANDHELD = "handheld", _("Handheld wand")
    UVSS = "uvss", _("Under-vehicle scanner")
    BARRIER = "barrier", _("Barrier")
    RADIO = "radio", _("Radio")


class InventoryStatus(models.TextChoices):
    """Whether an item can be used."""

    OK = "ok", _("OK")
    FAULT = "fault", _("Fault")
    MAINTENANCE = "maintenance", _("Maintenance")
    RETIRED = "retired", _("Retired")


class EquipmentItem(models.Model):
    """One item of equipment, the lane it is assigned to, and its state."""

    asset_no = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=10, choices=InventoryKind.choices)
    model = models.CharField(max_length=100, blank=True)
    serial_no = models.CharField(max_length=60, blank=True)
    lane = models.ForeignKey(
        "sites.Lane", null=True, blank=True, on_delete=models.SET_NULL, related_name="inventory"
    )
    status = models.CharField(
        max_length=12, choices=InventoryStatus.choices, default=InventoryStatus.OK
    )
    note = models.CharField(max_length=200, blank=True)
    next_maintenance = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "asset_no"]
        verbose_name = _("equipment item")

    def __str__(self) -> str:
        return self.asset_no


class EquipmentEvent(models.Model):
    """A line in an item's log: assigned, fault, maintenance, repaired, retired."""

    item = models.ForeignKey(EquipmentItem, on_delete=models.CASCADE, related_name="log")
    what = models.CharField(max_length=12)
    lane_code = models.CharField(max_length=90, blank=True)
    status = models.CharField(max_length=12, choices=InventoryStatus.choices)
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("equipment log entry")

    def __str__(self) -> str:
        return f"{self.item_id} {self.what}"


class Commendation(models.Model):
    """A good deed (好人好事): who, what, when and where."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="commendations")
    guard = models.ForeignKey(Guard, on_delete=models.PROTECT, related_name="commendations")
    what = models.TextField()
    when = models.DateTimeField()
    where = models.CharField(max_length=120)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-when"]
        verbose_name = _("commendation")

    def __str__(self) -> str:
        return f"{self.guard_id} {self.when:%Y-%m-%d}"
