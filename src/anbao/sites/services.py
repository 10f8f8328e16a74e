"""Site services: load and export the site files, and the read queries of the site model.

``load_site`` is the one writer of the site model. It validates the whole folder first
(:mod:`anbao.sites.siteio`), then upserts everything by natural key in one transaction,
so that other domains' references to checkpoints, lanes and devices survive a reload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from anbao.core import audit, clock
from anbao.core.errors import NotFound
from anbao.sites import mapdata, siteio
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
from anbao.sites.serialize import SiteRows, site_files
from anbao.sites.store import SiteStore

# What a code may look like; anything else cannot exist, so it is not worth a query (and a NUL
# byte would make PostgreSQL refuse the query outright).
_CODE = re.compile(r"[-A-Za-z0-9_]{1,40}")

# Entities in the order the summary, the CLI table and the audit row list them.
ENTITIES = (
    "venues",
    "zones",
    "checkpoints",
    "lanes",
    "perimeter_segments",
    "alarm_sections",
    "airspace_volumes",
    "cameras",
    "devices",
)


@dataclass(frozen=True)
class LoadResult:
    """What a load did: the event, whether it was new, the counts now and the changes made."""

    event: Event
    created: bool
    counts: dict[str, int]
    added: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)


# -- loading -----------------------------------------------------------------------------------


def load_site(path: Path) -> LoadResult:
    """Validate the site folder at ``path`` and store it all or nothing, updating by code."""
    site = siteio.read_site(Path(path))
    with transaction.atomic():
        outcome = SiteStore(site).run()
        # Phases are part of the event, not an entity the summary counts.
        result = LoadResult(
            event=outcome.event,
            created=outcome.created,
            counts=site_summary(outcome.event),
            added={k: v for k, v in outcome.added.items() if k != "phases"},
            changed={k: v for k, v in outcome.changed.items() if k != "phases"},
            removed={k: v for k, v in outcome.removed.items() if k != "phases"},
        )
        audit.record(
            "sites.site_loaded",
            obj=result.event,
            after={
                "source": Path(path).name,
                "created": result.created,
                "counts": result.counts,
                "added": result.added,
                "changed": result.changed,
                "removed": result.removed,
            },
        )
    return result


def delete_site(*, event_code: str) -> dict[str, int]:
    """Delete an event and everything on its site; refused while other records point at it."""
    with transaction.atomic():
        event = Event.objects.filter(code=event_code).first()
        if event is None:
            raise NotFound("sites.unknown_event", f"No event {event_code!r}.")
        counts = site_summary(event)
        SiteStore(None, event=event).remove_stale()
        pk, label = event.pk, str(event)
        event.delete()
        audit.record(
            "sites.site_deleted",
            object_type="sites.event",
            object_id=str(pk),
            before={"code": event_code, "name": label, "counts": counts},
        )
    return counts


def export_site(path: Path, event_code: str | None = None) -> list[Path]:
    """Write the event's ``site.yaml`` and ``geometry.geojson`` into the folder ``path``."""
    event = get_event(event_code)
    return siteio.write_site(Path(path), site_files(site_rows(event, with_phases=True)))


# -- reading -----------------------------------------------------------------------------------


def _today() -> date:
    return clock.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def current_event() -> Event | None:
    """Return the event whose dates or phases cover today, else the latest one, else None."""
    today = _today()
    covering = (
        Event.objects.filter(
            Q(start_date__lte=today, end_date__gte=today)
            | Q(phases__start_date__lte=today, phases__end_date__gte=today)
        )
        .order_by("-start_date", "code")
        .first()
    )
    return covering or Event.objects.order_by("-start_date", "code").first()


def get_event(code: str | None = None, *, with_phases: bool = False) -> Event:
    """Return the event with ``code``, or the current one; raise a 404 DomainError if none."""
    if code:
        event = Event.objects.filter(code=code).first() if _CODE.fullmatch(code) else None
        if event is None:
            raise NotFound("sites.unknown_event", f"No event {code!r}.")
    else:
        event = current_event()
        if event is None:
            raise NotFound("sites.no_event", "No event is loaded; load a site first.")
    if with_phases:
        prefetch_related_objects(
            [event], Prefetch("phases", EventPhase.objects.order_by("start_date"))
        )
    return event


def site_summary(event: Event) -> dict[str, int]:
    """Return how many of each site entity the event has."""
    # One small COUNT per table: a single query joining them all multiplies the rows instead.
    querysets: dict[str, QuerySet[Any]] = {
        "venues": Venue.objects.filter(event=event),
        "zones": Zone.objects.filter(event=event),
        "checkpoints": Checkpoint.objects.filter(event=event),
        "lanes": Lane.objects.filter(checkpoint__event=event),
        "perimeter_segments": PerimeterSegment.objects.filter(event=event),
        "alarm_sections": AlarmSection.objects.filter(segment__event=event),
        "airspace_volumes": AirspaceVolume.objects.filter(event=event),
        "cameras": Camera.objects.filter(event=event),
        "devices": Device.objects.filter(event=event),
    }
    counts = {key: querysets[key].count() for key in ENTITIES}
    counts["devices_online"] = querysets["devices"].filter(online=True).count()
    return counts


def _checkpoints(event: Event) -> QuerySet[Checkpoint]:
    return (
        Checkpoint.objects.filter(event=event)
        .select_related("venue", "from_zone", "to_zone")
        .prefetch_related(Prefetch("lanes", queryset=Lane.objects.order_by("code")))
        .order_by("code")
    )


def _segments(event: Event) -> QuerySet[PerimeterSegment]:
    return (
        PerimeterSegment.objects.filter(event=event)
        .select_related("venue")
        .prefetch_related(Prefetch("sections", queryset=AlarmSection.objects.order_by("start_m")))
        .order_by("code")
    )


def _devices(event: Event) -> QuerySet[Device]:
    return (
        Device.objects.filter(event=event)
        .select_related("lane__checkpoint", "segment")
        .order_by("external_id")
    )


def site_rows(event: Event, *, with_phases: bool = False) -> SiteRows:
    """Load every row of the event's site, related rows included, in a fixed number of queries."""
    return SiteRows(
        event=event,
        phases=list(event.phases.order_by("start_date", "kind")) if with_phases else [],
        venues=list(list_venues(event)),
        zones=list(list_zones(event)),
        checkpoints=list(_checkpoints(event)),
        segments=list(_segments(event)),
        airspace=list(list_airspace(event)),
        cameras=list(list_cameras(event)),
        devices=list(_devices(event)),
    )


def site_geojson(event: Event) -> dict[str, Any]:
    """Return one FeatureCollection of the whole site (every entity, alarm sections too)."""
    return mapdata.build_geojson(site_rows(event))


def list_venues(event: Event) -> QuerySet[Venue]:
    """Return the event's venues."""
    return Venue.objects.filter(event=event).order_by("code")


def list_zones(event: Event) -> QuerySet[Zone]:
    """Return the event's zones with venue and parent."""
    return Zone.objects.filter(event=event).select_related("venue", "parent").order_by("number")


def list_checkpoints(event: Event) -> QuerySet[Checkpoint]:
    """Return the event's checkpoints with their zones, venue and lanes."""
    return _checkpoints(event)


def get_checkpoint(event: Event, code: str) -> Checkpoint:
    """Return one checkpoint with its lanes; ``sites.unknown_checkpoint`` (404) if missing."""
    cp = _checkpoints(event).filter(code=code).first() if _CODE.fullmatch(code) else None
    if cp is None:
        raise NotFound("sites.unknown_checkpoint", f"No checkpoint {code!r} in {event.code}.")
    return cp


def list_lanes(event: Event) -> QuerySet[Lane]:
    """Return the event's lanes with their checkpoint."""
    return (
        Lane.objects.filter(checkpoint__event=event)
        .select_related("checkpoint")
        .order_by("checkpoint__code", "code")
    )


def list_segments(event: Event) -> QuerySet[PerimeterSegment]:
    """Return the event's perimeter segments with their alarm sections."""
    return _segments(event)


def list_airspace(event: Event) -> QuerySet[AirspaceVolume]:
    """Return the event's no-fly volumes."""
    return AirspaceVolume.objects.filter(event=event).order_by("code")


def list_cameras(event: Event) -> QuerySet[Camera]:
    """Return the event's cameras with their venue."""
    return Camera.objects.filter(event=event).select_related("venue").order_by("code")


def list_devices(event: Event) -> QuerySet[Device]:
    """Return the event's devices with the lane or segment they serve."""
    return _devices(event)


# -- the map ---------------------------------------------------------------------------------
