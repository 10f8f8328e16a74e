"""Incidents: types with their standard procedure (SOP), incidents, steps, dispatches, notices.

An incident's SOP steps and timer targets are copied from its type when it opens, so a later
change to a type never rewrites what an incident was asked to do.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IncidentKind(models.TextChoices):
    """The kinds of incident with a standard procedure."""

    INTRUSION = "intrusion", _("Intrusion")
    DRONE = "drone", _("Drone")
    PROHIBITED_ITEM = "prohibited_item", _("Prohibited item found")
    MEDICAL = "medical", _("Medical")
    CROWD = "crowd", _("Crowd")
    SUSPICIOUS_OBJECT = "suspicious_object", _("Suspicious object")
    VIP_MOVEMENT = "vip_movement", _("VIP movement")
    OTHER = "other", _("Other")


class IncidentState(models.TextChoices):
    """Where an incident is."""

    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESPONDING = "responding", _("Responding")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Disposition(models.TextChoices):
    """What the incident turned out to be; required to close."""

    REAL = "real", _("Real incident, handled")
    POLICE = "police", _("Handed over to the police")
    FALSE_ALARM = "false_alarm", _("False alarm")
    NUISANCE = "nuisance", _("Nuisance")
    EXERCISE = "exercise", _("Exercise")


class IncidentType(models.Model):
    """A kind of incident at one event: its timer targets, supervisor and escalation ladder."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=20, choices=IncidentKind.choices)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(default=2, help_text="1 is the most urgent")
    ack_s = models.PositiveIntegerField(help_text="target: acknowledged within")
    respond_s = models.PositiveIntegerField(help_text="target: first unit on scene within")
    resolve_s = models.PositiveIntegerField(help_text="target: resolved within")
    supervisor_role = models.CharField(max_length=30)
    escalation = models.JSONField(default=list, help_text="roles notified at level 1, 2, ...")
    unit_kinds = models.JSONField(default=list, help_text="reserve kinds proposed first")

    class Meta:
        ordering = ["event", "code"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="incident_type_unique"),
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="incident_type_priority"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class SopStep(models.Model):
    """One step of a type's standard procedure."""

    type = models.ForeignKey(IncidentType, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=300)
    text_en = models.CharField(max_length=300)
    mandatory = models.BooleanField(default=True)

    class Meta:
        ordering = ["type", "order"]
        constraints = [models.UniqueConstraint(fields=["type", "order"], name="sop_step_unique")]

    def __str__(self) -> str:
        return f"{self.type_id}.{self.order}"


class Incident(models.Model):
    """An operational case: opened from alarms or by hand, worked through its SOP."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(help_text="per event, shown to operators")
    type = models.ForeignKey(IncidentType, on_delete=models.PROTECT, related_name="incidents")
    title = models.CharField(max_length=200)
    priority = models.PositiveSmallIntegerField()
    state = models.CharField(
        max_length=12, choices=IncidentState.choices, default=IncidentState.OPEN
    )
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    checkpoint = models.ForeignKey(
        "sites.Checkpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.ForeignKey(
        "sites.PerimeterSegment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    venue = models.ForeignKey(
        "sites.Venue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_due_at = models.DateTimeField()
    respond_due_at = models.DateTimeField()
    resolve_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    responding_at = models.DateTimeField(null=True, blank=True, help_text="first unit on scene")
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=12, choices=Disposition.choices, blank=True)
    resolution = models.CharField(max_length=1000, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_timers = models.JSONField(default=list, blank=True, help_text="timers escalated")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="incident_number_unique"),
            models.CheckConstraint(
                condition=~models.Q(state="closed") | ~models.Q(disposition=""),
                name="incident_closed_has_disposition",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="incident_priority"
            ),
        ]
        indexes = [models.Index(fields=["event", "state"])]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"


class IncidentAlarm(models.Model):
    """An alarm attached to an incident; an alarm belongs to one incident at most."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alarm_links")
    alarm = models.OneToOneField("alarms.Alarm", on_delete=models.CASCADE, related_name="+")
    attached_at = models.DateTimeField()

    class Meta:
        ordering = ["attached_at", "id"]


class StepStatus(models.TextChoices):
    """Where an incident's SOP step is."""

    PENDING = "pending", _("To do")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


class IncidentStep(models.Model):
    """An SOP step as copied onto an incident, with who did or skipped it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=300)
    text_en = models.CharField(max_length=300)
    mandatory = models.BooleanField()
    status = models.CharField(max_length=8, choices=StepStatus.choices, default=StepStatus.PENDING)
    comment = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["incident", "order"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "order"], name="incident_step_unique"),
            models.CheckConstraint(
                condition=~models.Q(status="skipped") | ~models.Q(comment=""),
                name="incident_step_skip_has_comment",
            ),
        ]


class EntryAction(models.TextChoices):
    """A line of an incident's timeline."""

    OPENED = "opened", _("Opened")
    ALARM = "alarm", _("Alarm attached")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    STEP_DONE = "step_done", _("Step done")
    STEP_SKIPPED = "step_skipped", _("Step skipped")
    DISPATCHED = "dispatched", _("Unit dispatched")
    UNIT = "unit", _("Unit reported")
    RESPONDING = "responding", _("First unit on scene")
    ESCALATED = "escalated", _("Escalated")
    NOTE = "note", _("Note")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class IncidentEntry(models.Model):
    """One thing that happened to an incident: who (a user or a unit), what, when."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField()
    action = models.CharField(max_length=14, choices=EntryAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=60, blank=True, help_text="a unit, or the system")
    text = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["at", "id"]


class DispatchState(models.TextChoices):
    """Where a dispatched unit is on this incident."""

    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", _("Accepted")
    EN_ROUTE = "en_route", _("En route")
    ON_SCENE = "on_scene", _("On scene")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Recalled")


ACTIVE_DISPATCH = ("dispatched", "accepted", "en_route", "on_scene")


class Dispatch(models.Model):
    """A reserve unit sent to an incident, and how far it got."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="dispatches")
    unit = models.ForeignKey("workforce.ReserveUnit", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=10, choices=DispatchState.choices, default=DispatchState.DISPATCHED
    )
    distance_km = models.FloatField(null=True, blank=True)
    dispatched_at = models.DateTimeField()
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["dispatched_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit"],
                condition=models.Q(state__in=ACTIVE_DISPATCH),
                name="dispatch_one_active_per_unit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id}->{self.incident_id}"


class NoticeKind(models.TextChoices):
    """Why a supervisor is told."""

    STEP_SKIPPED = "step_skipped", _("Mandatory step skipped")
    ESCALATED = "escalated", _("Timer overdue: escalated")


class SupervisorNotice(models.Model):
    """A message to a role's supervisors, shown on their incident pages until read."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notices")
    at = models.DateTimeField()
    role = models.CharField(max_length=30)
    kind = models.CharField(max_length=14, choices=NoticeKind.choices)
    text = models.CharField(max_length=1000)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["role", "read_at"])]
