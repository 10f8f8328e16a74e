"""The event site model. Geometry is stored as GeoJSON (WGS 84 lon/lat) in JSON fields."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One event (e.g. a conference edition) with its dates, time zone and phases."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(max_length=64, default="Asia/Shanghai")
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("event")

    def __str__(self) -> str:
        return self.name


class PhaseKind(models.TextChoices):
    """The phases of an event; demand for guards and lanes changes with them."""

    BUILD_UP = "build_up", _("Build-up")
    REHEARSAL = "rehearsal", _("Rehearsal")
    EVENT = "event", _("Event days")
    TEAR_DOWN = "tear_down", _("Tear-down")


class EventPhase(models.Model):
    """A dated phase of an event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(max_length=20, choices=PhaseKind.choices)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["start_date"]

    def __str__(self) -> str:
        return f"{self.event.code}:{self.kind}"


class Venue(models.Model):
    """One site of the event (convention centre, scenic area, hotel cluster...)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="venues")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    geometry = models.JSONField(null=True, blank=True, help_text="GeoJSON Polygon")

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["event", "code"], name="venue_code_unique")]
        verbose_name = _("venue")

    def __str__(self) -> str:
        return self.name


class Zone(models.Model):
    """A numbered access area, as in Olympic accreditation; zones may nest."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="zones")
    venue = models.ForeignKey(
        Venue, on_delete=models.CASCADE, related_name="zones", null=True, blank=True
    )
    number = models.CharField(max_length=10)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    geometry = models.JSONField(help_text="GeoJSON Polygon")

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["event", "number"], name="zone_number_unique")
        ]
        verbose_name = _("zone")

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class CheckpointKind(models.TextChoices):
    """What a checkpoint screens."""

    PEDESTRIAN = "pedestrian", _("Pedestrian")
    VEHICLE = "vehicle", _("Vehicle")
    MIXED = "mixed", _("Mixed")


class Checkpoint(models.Model):
    """A guarded way from one zone into another (卡口)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="checkpoints")
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="checkpoints")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=12, choices=CheckpointKind.choices)
    from_zone = models.ForeignKey(
        Zone,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exits",
        help_text="empty means from outside every zone",
    )
    to_zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="entrances")
    lon = models.FloatField()
    lat = models.FloatField()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="checkpoint_code_unique")
        ]
        verbose_name = _("checkpoint")

    def __str__(self) -> str:
        return self.name


class LaneKind(models.TextChoices):
    """How a lane screens."""

    WTMD_XRAY = "wtmd_xray", _("Walk-through metal detector + X-ray")
    MANUAL = "manual", _("Manual search")
    VEHICLE = "vehicle", _("Vehicle")
    VIP = "vip", _("VIP / fast")
    STAFF = "staff", _("Staff")


class Lane(models.Model):
    """One screening line at a checkpoint."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.CASCADE, related_name="lanes")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=LaneKind.choices)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["checkpoint__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["checkpoint", "code"], name="lane_code_unique")
        ]
        verbose_name = _("lane")

    def __str__(self) -> str:
        return f"{self.checkpoint.code}/{self.code}"


class SensorTechnology(models.TextChoices):
    """How a perimeter segment detects intrusion."""

    LEAKY_CABLE = "leaky_cable", _("Leaky coaxial cable")
    PULSE_FENCE = "pulse_fence", _("Pulse electronic fence")
    FENCE_VIBRATION = "fence_vibration", _("Fence vibration")
    VIDEO_ANALYTICS = "video_analytics", _("Video analytics")


class PerimeterSegment(models.Model):
    """A guarded polyline with one sensor technology; positions along it are in metres."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="perimeter_segments")
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="perimeter_segments"
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    technology = models.CharField(max_length=20, choices=SensorTechnology.choices)
    geometry = models.JSONField(help_text="GeoJSON LineString")
    length_m = models.FloatField(help_text="geodesic length of the line")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="segment_code_unique")
        ]
        verbose_name = _("perimeter segment")

    def __str__(self) -> str:
        return self.name


class AlarmSection(models.Model):
    """A named stretch of a perimeter segment, from ``start_m`` to ``end_m`` along it."""

    segment = models.ForeignKey(PerimeterSegment, on_delete=models.CASCADE, related_name="sections")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    start_m = models.FloatField()
    end_m = models.FloatField()

    class Meta:
        ordering = ["segment__code", "start_m"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "code"], name="section_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.segment.code}/{self.code}"


class AirspaceVolume(models.Model):
    """A no-fly volume: polygon, floor and ceiling in metres, active time windows."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="airspace_volumes")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200, blank=True)
    geometry = models.JSONField(help_text="GeoJSON Polygon")
    floor_m = models.FloatField(default=0)
    ceiling_m = models.FloatField()
    active_windows = models.JSONField(
        default=list, blank=True, help_text='list of {"start": ISO time, "end": ISO time}'
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="airspace_code_unique")
        ]
        verbose_name = _("airspace volume")

    def __str__(self) -> str:
        return self.name


class CameraKind(models.TextChoices):
    """Fixed or pan-tilt-zoom."""

    FIXED = "fixed", _("Fixed")
    PTZ = "ptz", _("PTZ")


class Camera(models.Model):
    """A camera: position, mounting height, PTZ limits and intrinsics (for the AR view)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="cameras")
    venue = models.ForeignKey(
        Venue, null=True, blank=True, on_delete=models.SET_NULL, related_name="cameras"
    )
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=CameraKind.choices)
    lon = models.FloatField()
    lat = models.FloatField()
    height_m = models.FloatField(help_text="mounting height above ground")
    heading_deg = models.FloatField(default=0, help_text="pan 0 direction, degrees from north")
    pan_min_deg = models.FloatField(default=0)
    pan_max_deg = models.FloatField(default=0)
    tilt_min_deg = models.FloatField(default=0)
    tilt_max_deg = models.FloatField(default=0)
    zoom_max = models.FloatField(default=1)
    intrinsics = models.JSONField(
        default=dict, blank=True, help_text="fx, fy, cx, cy, width, height, distortion"
    )

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["event", "code"], name="camera_code_unique")]
        verbose_name = _("camera")

    def __str__(self) -> str:
        return self.name


class DeviceKind(models.TextChoices):
    """What a device is."""

    GATE_SCANNER = "gate_scanner", _("Gate scanner")
    LEAKY_CABLE_PROCESSOR = "leaky_cable_processor", _("Leaky-cable processor")
    FENCE_CONTROLLER = "fence_controller", _("Electronic fence controller")
    RADAR = "radar", _("Radar")
    RF_RECEIVER = "rf_receiver", _("RF receiver")
    WEATHER_STATION = "weather_station", _("Weather station")
    REMOTE_ID_RECEIVER = "remote_id_receiver", _("Remote ID receiver")
    CAMERA = "camera", _("Camera analytics")
    PANIC_BUTTON = "panic_button", _("Panic button")
    DOOR_CONTROLLER = "door_controller", _("Door controller")
    QUEUE_SENSOR = "queue_sensor", _("Queue sensor")
    OTHER = "other", _("Other")


class Device(models.Model):
    """A gate scanner, sensor, radar or receiver, with the lane or segment it serves."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="devices")
    external_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=DeviceKind.choices)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lane = models.ForeignKey(
        Lane, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    segment = models.ForeignKey(
        PerimeterSegment, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    online = models.BooleanField(default=False)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "external_id"], name="device_external_id_unique"
            )
        ]
        verbose_name = _("device")

    def __str__(self) -> str:
        return f"{self.external_id} {self.name}"
