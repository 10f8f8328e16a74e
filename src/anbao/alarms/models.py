"""Alarms: definitions, alarms with separate condition and workflow states, and their records.

Also the timeline, sensor events, dead letters, walk tests, overrides and drone tracks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SourceType(models.TextChoices):
    """What raised an alarm."""

    INTRUSION = "intrusion", _("Perimeter intrusion")
    FENCE_CUT = "fence_cut", _("Fence cut")
    FENCE_SHORT = "fence_short", _("Fence short circuit")
    FENCE_VOLTAGE = "fence_voltage", _("Fence voltage drop")
    FENCE_TAMPER = "fence_tamper", _("Fence tamper")
    LINE_CROSSING = "line_crossing", _("Line crossing (video)")
    VIDEO_INTRUSION = "video_intrusion", _("Intrusion (video)")
    LOITERING = "loitering", _("Loitering (video)")
    PANIC = "panic", _("Panic button")
    DOOR_FORCED = "door_forced", _("Door forced")
    DOOR_HELD = "door_held", _("Door held open")
    DEVICE_OFFLINE = "device_offline", _("Device offline")
    DRONE = "drone", _("Drone")


class Priority(models.IntegerChoices):
    """1 is the most urgent."""

    CRITICAL = 1, _("Critical")
    HIGH = 2, _("High")
    MEDIUM = 3, _("Medium")
    LOW = 4, _("Low")


class AutoAck(models.TextChoices):
    """When an alarm acknowledges itself."""

    NEVER = "never", _("Never")
    ON_CLEAR = "on_clear", _("When the source clears")


class AlarmDefinition(models.Model):
    """How alarms of one source type behave, for the whole event or one perimeter segment."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    segment = models.ForeignKey(
        "sites.PerimeterSegment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    colour = models.CharField(max_length=9, default="#d32f2f")
    sound = models.CharField(max_length=40, default="alarm-high")
    suppression_s = models.PositiveIntegerField(
        default=60, help_text="re-triggers from the same source within this window fold in"
    )
    momentary_clear_s = models.PositiveIntegerField(
        default=0, help_text="clear the condition this long after the last trigger (0: on restore)"
    )
    auto_ack = models.CharField(max_length=10, choices=AutoAck.choices, default=AutoAck.NEVER)
    arming = models.JSONField(
        default=list,
        blank=True,
        help_text='local-time windows when armed, e.g. [{"start": "18:00", "end": "06:00"}]; '
        "empty: always armed",
    )
    ack_within_s = models.PositiveIntegerField(default=120)

    class Meta:
        ordering = ["source_type", "segment_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "source_type", "segment"], name="alarm_definition_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="alarm_def_priority"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_type} {self.segment_id or '*'}"


class OverrideMode(models.TextChoices):
    """A temporary change to how a source's alarms are handled."""

    BYPASS = "bypass", _("Bypassed for maintenance")
    TEST = "test", _("Test mode: record, page nobody")


class SourceOverride(models.Model):
    """Bypass or test mode for a section, a segment or a device, for a time window."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    source_key = models.CharField(
        max_length=120, help_text="segment:CODE, section:SEGMENT/CODE or device:EXTERNAL_ID"
    )
    mode = models.CharField(max_length=8, choices=OverrideMode.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["event", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="override_window"
            )
        ]


class Condition(models.TextChoices):
    """Whether the source is still alarming."""

    ACTIVE = "active", _("Active")
    CLEARED = "cleared", _("Cleared")


class Workflow(models.TextChoices):
    """Where the operators are with the alarm."""

    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", _("Closed")


class Disposition(models.TextChoices):
    """What the alarm turned out to be; required to close."""

    REAL = "real", _("Real")
    NUISANCE = "nuisance", _("Nuisance (environment)")
    FALSE = "false", _("False (equipment)")
    TEST = "test", _("Test")


class Alarm(models.Model):
    """One alarm: its source, where it is, its condition and its workflow, kept apart."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(help_text="per event, shown to operators")
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source_key = models.CharField(max_length=120)
    device = models.ForeignKey(
        "sites.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.ForeignKey(
        "sites.PerimeterSegment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    section = models.ForeignKey(
        "sites.AlarmSection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    colour = models.CharField(max_length=9)
    sound = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    test = models.BooleanField(default=False, help_text="raised in test mode: pages nobody")
    condition = models.CharField(max_length=8, choices=Condition.choices)
    workflow = models.CharField(max_length=12, choices=Workflow.choices, default=Workflow.NEW)
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)
    raised_at = models.DateTimeField()
    last_trigger_at = models.DateTimeField()
    trigger_count = models.PositiveIntegerField(default=1)
    cleared_at = models.DateTimeField(null=True, blank=True)
    ack_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True, help_text="reasons, weather, sensor data")

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="alarm_number_unique"),
            models.CheckConstraint(
                condition=~models.Q(workflow="closed") | ~models.Q(disposition=""),
                name="alarm_closed_has_disposition",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "source_key", "source_type", "-last_trigger_at"]),
            models.Index(fields=["event", "workflow", "condition"]),
            models.Index(fields=["event", "raised_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.source_type} {self.source_key}"


class AlarmAction(models.TextChoices):
    """A line of an alarm's timeline."""

    RAISED = "raised", _("Raised")
    RETRIGGERED = "retriggered", _("Triggered again")
    CLEARED = "cleared", _("Source cleared")
    REACTIVATED = "reactivated", _("Source active again")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    FORCED_ACK = "forced_ack", _("Acknowledged while active (forced)")
    AUTO_ACK = "auto_ack", _("Acknowledged automatically")
    OWNED = "owned", _("Taken")
    NOTE = "note", _("Note")
    CAMERAS = "cameras", _("Cameras called up")
    UPDATED = "updated", _("Updated by the sensor engine")
    CLOSED = "closed", _("Closed")
    OVERDUE = "overdue", _("Not acknowledged in time")


class AlarmEntry(models.Model):
    """One thing that happened to an alarm: who, what, when."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField()
    action = models.CharField(max_length=12, choices=AlarmAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["at", "id"]


class SensorEvent(models.Model):
    """A device message that can raise or clear an alarm, kept once per (device, message id)."""

    device = models.ForeignKey("sites.Device", on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=20)
    device_time = models.DateTimeField()
    received_at = models.DateTimeField()
    body = models.JSONField()
    alarm = models.ForeignKey(
        Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="sensor_events"
    )
    outcome = models.CharField(max_length=40, help_text="raised, folded, below_threshold, ...")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["device", "message_id"], name="sensor_event_once")
        ]


class DeadLetter(models.Model):
    """A device message that could not be taken, with the reason; never stops the worker."""

    received_at = models.DateTimeField()
    topic = models.CharField(max_length=300)
    payload = models.BinaryField(help_text="the first 4 KiB")
    size = models.PositiveIntegerField()
    code = models.CharField(max_length=60)
    reason = models.CharField(max_length=500)
    message_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["code", "received_at"])]


class WeatherReading(models.Model):
    """A weather-station report, the context of perimeter alarms."""

    device = models.ForeignKey("sites.Device", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    wind_mps = models.FloatField()
    gust_mps = models.FloatField()
    wind_dir_deg = models.FloatField()
    rain_mmph = models.FloatField()

    class Meta:
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["device", "at"], name="weather_once")]


class WalkTest(models.Model):
    """One recorded pass of a walk test over a perimeter section: detected or not."""

    section = models.ForeignKey("sites.AlarmSection", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    detected = models.BooleanField()
    method = models.CharField(max_length=40, default="walk")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["section", "-at"])]


class DroneTrack(models.Model):
    """The latest state of a tracked aircraft, with its explainable threat score."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    track_id = models.CharField(max_length=40)
    serial = models.CharField(max_length=40, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    status = models.CharField(max_length=20)
    lon = models.FloatField()
    lat = models.FloatField()
    alt_m = models.FloatField()
    score = models.FloatField(default=0)
    level = models.CharField(max_length=10, blank=True)
    authorised = models.BooleanField(default=False)
    snapshot = models.JSONField(default=dict)
    trail = models.JSONField(default=list, help_text="recent [lon, lat, alt_m, iso time]")
    alarm = models.ForeignKey(
        Alarm, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["event", "track_id"], name="drone_track_unique")
        ]


class DroneActionKind(models.TextChoices):
    """An operator's decision on a drone; the system records it and transmits nothing."""

    OBSERVE = "observe", _("Observe")
    WARN = "warn", _("Warn")
    LOCATE_PILOT = "locate_pilot", _("Locate the pilot")
    REQUEST_COUNTERMEASURE = "request_countermeasure", _("Request a countermeasure")


class DroneAction(models.Model):
    """A recorded operator decision on a drone track."""

    track = models.ForeignKey(DroneTrack, on_delete=models.CASCADE, related_name="actions")
    at = models.DateTimeField()
    action = models.CharField(max_length=24, choices=DroneActionKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]


class DroneWhitelist(models.Model):
    """An authorised drone (organiser, media, police) by Remote ID serial."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    serial = models.CharField(max_length=40)
    owner = models.CharField(max_length=200)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["serial"]
        constraints = [
            models.UniqueConstraint(fields=["event", "serial"], name="drone_whitelist_unique")
        ]


class Unconfirmed(models.TextChoices):
    """What a section does with an alarm that no second source has confirmed yet."""

    LOWER = "lower", _("Raise one priority lower")
    HOLD = "hold", _("Hold until confirmed or the window closes")


class SectionSettings(models.Model):
    """Nuisance control for a perimeter segment, or one of its sections."""

    segment = models.ForeignKey(
        "sites.PerimeterSegment", on_delete=models.CASCADE, related_name="+"
    )
    section = models.ForeignKey(
        "sites.AlarmSection", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sensitivity_offset = models.FloatField(
        default=0, help_text="added to the processor's threshold before an alarm counts"
    )
    unconfirmed = models.CharField(
        max_length=6, choices=Unconfirmed.choices, default=Unconfirmed.LOWER
    )
    swinger_limit = models.PositiveIntegerField(
        null=True, blank=True, default=5, help_text="alarms per arming period before downgrading"
    )
    wind_sensitive = models.BooleanField(default=False)
    gust_threshold_mps = models.FloatField(default=12.0)
    base_priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "section"], name="section_settings_once")
        ]
