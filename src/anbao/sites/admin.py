"""Back-office views of the site model; the site files stay the normal way to change it."""

from __future__ import annotations

from django.contrib import admin

from anbao.core.admin import AuditedModelAdmin
from anbao.sites.models import (
    AirspaceVolume,
    AlarmSection,
    Camera,
    Checkpoint,
    Device,
    Event,
    EventPhase,
    Lane,
    PerimeterSegment,
    Venue,
    Zone,
)


class EventPhaseInline(admin.TabularInline):
    """The event's phases, edited on the event page."""

    model = EventPhase
    extra = 0


@admin.register(Event)
class EventAdmin(AuditedModelAdmin):
    """Events with their phases."""

    list_display = ("code", "name", "name_en", "start_date", "end_date", "time_zone")
    search_fields = ("code", "name", "name_en")
    inlines = [EventPhaseInline]


@admin.register(Venue)
class VenueAdmin(AuditedModelAdmin):
    """Venues."""

    list_display = ("code", "name", "name_en", "event")
    list_filter = ("event",)
    search_fields = ("code", "name", "name_en")


@admin.register(Zone)
class ZoneAdmin(AuditedModelAdmin):
    """Access zones."""

    list_display = ("number", "name", "name_en", "venue", "parent", "event")
    list_filter = ("event", "venue")
    search_fields = ("number", "name", "name_en")
    list_select_related = ("venue", "parent", "event")
    raw_id_fields = ("parent",)


class LaneInline(admin.TabularInline):
    """A checkpoint's lanes."""

    model = Lane
    extra = 0
    fields = ("code", "name", "kind", "lon", "lat")


@admin.register(Checkpoint)
class CheckpointAdmin(AuditedModelAdmin):
    """Checkpoints with their lanes."""

    list_display = ("code", "name", "kind", "venue", "from_zone", "to_zone", "event")
    list_filter = ("event", "kind", "venue")
    search_fields = ("code", "name", "name_en")
    list_select_related = ("venue", "from_zone", "to_zone", "event")
    inlines = [LaneInline]


@admin.register(Lane)
class LaneAdmin(AuditedModelAdmin):
    """Lanes."""

    list_display = ("__str__", "name", "kind", "checkpoint")
    list_filter = ("kind", "checkpoint__event")
    search_fields = ("code", "name", "checkpoint__code")
    list_select_related = ("checkpoint",)


class AlarmSectionInline(admin.TabularInline):
    """A segment's alarm sections."""

    model = AlarmSection
    extra = 0
    fields = ("code", "name", "start_m", "end_m")


@admin.register(PerimeterSegment)
class PerimeterSegmentAdmin(AuditedModelAdmin):
    """Perimeter segments with their alarm sections."""

    list_display = ("code", "name", "technology", "length_m", "venue", "event")
    list_filter = ("event", "technology", "venue")
    search_fields = ("code", "name", "name_en")
    list_select_related = ("venue", "event")
    readonly_fields = ("length_m",)
    inlines = [AlarmSectionInline]


@admin.register(AirspaceVolume)
class AirspaceVolumeAdmin(AuditedModelAdmin):
    """No-fly volumes."""

    list_display = ("code", "name", "floor_m", "ceiling_m", "event")
    list_filter = ("event",)
    search_fields = ("code", "name", "name_en")


@admin.register(Camera)
class CameraAdmin(AuditedModelAdmin):
    """Cameras."""

    list_display = ("code", "name", "kind", "height_m", "venue", "event")
    list_filter = ("event", "kind", "venue")
    search_fields = ("code", "name")
    list_select_related = ("venue", "event")


@admin.register(Device)
class DeviceAdmin(AuditedModelAdmin):
    """Devices and their presence."""

    list_display = ("external_id", "name", "kind", "lane", "segment", "online", "last_seen")
    list_filter = ("event", "kind", "online")
    search_fields = ("external_id", "name")
    list_select_related = ("lane__checkpoint", "segment")
    raw_id_fields = ("lane", "segment")
    readonly_fields = ("online", "last_seen")
