"""Sites API (read side; the site files are the write side).

Every route reads the current event, or the one named by ``?event=CODE``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router

from anbao.accounts.auth import need
from anbao.accounts.roles import Cap
from anbao.sites import services
from anbao.sites.models import (
    AirspaceVolume,
    Camera,
    Checkpoint,
    Device,
    Event,
    Lane,
    PerimeterSegment,
    Venue,
    Zone,
)
from anbao.sites.schemas import (
    AirspaceOut,
    CameraOut,
    CheckpointOut,
    DeviceOut,
    EventOut,
    LaneOut,
    SegmentOut,
    SummaryOut,
    VenueOut,
    ZoneOut,
)

# Every route of the site model needs site.view; the capability is checked during auth.
router = Router(tags=["sites"], auth=need(Cap.SITE_VIEW))


@router.get("/event", response=EventOut, summary="The event and its phases")
def read_event(request: HttpRequest, event: str | None = None) -> Event:
    """Return the current event (or ``?event=CODE``) with its phases."""
    return services.get_event(event, with_phases=True)


@router.get("/venues", response=list[VenueOut], summary="Venues")
def list_venues(request: HttpRequest, event: str | None = None) -> QuerySet[Venue]:
    """List the event's venues."""
    return services.list_venues(services.get_event(event))


@router.get("/zones", response=list[ZoneOut], summary="Access zones")
def list_zones(request: HttpRequest, event: str | None = None) -> QuerySet[Zone]:
    """List the event's zones."""
    return services.list_zones(services.get_event(event))


@router.get("/checkpoints", response=list[CheckpointOut], summary="Checkpoints with lanes")
def list_checkpoints(request: HttpRequest, event: str | None = None) -> QuerySet[Checkpoint]:
    """List the event's checkpoints, each with its lanes."""
    return services.list_checkpoints(services.get_event(event))


@router.get("/checkpoints/{code}", response=CheckpointOut, summary="One checkpoint")
def read_checkpoint(request: HttpRequest, code: str, event: str | None = None) -> Checkpoint:
    """Return one checkpoint with its lanes; 404 ``sites.unknown_checkpoint`` if missing."""
    return services.get_checkpoint(services.get_event(event), code)


@router.get("/lanes", response=list[LaneOut], summary="Lanes")
def list_lanes(request: HttpRequest, event: str | None = None) -> QuerySet[Lane]:
    """List every lane of the event."""
    return services.list_lanes(services.get_event(event))


@router.get("/perimeter-segments", response=list[SegmentOut], summary="Perimeter segments")
def list_segments(request: HttpRequest, event: str | None = None) -> QuerySet[PerimeterSegment]:
    """List the perimeter segments, each with its alarm sections."""
    return services.list_segments(services.get_event(event))


@router.get("/airspace", response=list[AirspaceOut], summary="No-fly volumes")
def list_airspace(request: HttpRequest, event: str | None = None) -> QuerySet[AirspaceVolume]:
    """List the no-fly volumes."""
    return services.list_airspace(services.get_event(event))


@router.get("/cameras", response=list[CameraOut], summary="Cameras")
def list_cameras(request: HttpRequest, event: str | None = None) -> QuerySet[Camera]:
    """List the cameras."""
    return services.list_cameras(services.get_event(event))


@router.get("/devices", response=list[DeviceOut], summary="Devices")
def list_devices(request: HttpRequest, event: str | None = None) -> QuerySet[Device]:
    """List the devices with their online state."""
    return services.list_devices(services.get_event(event))


@router.get("/geojson", response=dict[str, Any], summary="The whole site as GeoJSON")
def site_geojson(request: HttpRequest, event: str | None = None) -> dict[str, Any]:
    """Return one FeatureCollection of every site entity, for drawing the map."""
    return services.site_geojson(services.get_event(event))


@router.get("/summary", response=SummaryOut, summary="Counts of each site entity")
def site_summary(request: HttpRequest, event: str | None = None) -> dict[str, Any]:
    """Return how many of each entity the event has."""
    ev = services.get_event(event)
    return {"event": ev.code, **services.site_summary(ev)}
