"""Store a validated site: upsert by natural key, then remove what the files no longer list.

Upserting (rather than replacing) keeps primary keys stable, so other domains' references to
checkpoints, lanes and devices, and a device's credential and online state, survive a reload.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet

from anbao.core.errors import DomainError, FieldProblem
from anbao.sites import siteio
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
from anbao.sites.siteio import spec as s

M = TypeVar("M", bound=models.Model)


@dataclass
class StoreOutcome:
    """What one store did, per entity label."""

    event: Event
    created: bool = False
    added: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)


def _changed(obj: models.Model, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(obj, name) != value]


class SiteStore:
    """Upsert one validated site into the database; remove what the files no longer list."""

    def __init__(self, site: siteio.Site | None, event: Event | None = None) -> None:
        """Prepare to store ``site``, or (with no site) to clear ``event``."""
        self.site = site
        self.event = event
        self.kept: dict[type[models.Model], set[int]] = {}
        self.added: dict[str, int] = {}
        self.changed: dict[str, int] = {}
        self.removed: dict[str, int] = {}

    def _event(self) -> Event:
        if self.event is None:
            raise ValueError("no event to store into")
        return self.event

    def _upsert(
        self,
        model: type[M],
        label: str,
        existing: dict[Any, M],
        rows: dict[Any, dict[str, Any]],
    ) -> dict[Any, M]:
        """Create or update one row per key; ``rows`` use attnames (``venue_id``) for FKs."""
        new: list[M] = []
        dirty: list[M] = []
        fields: set[str] = set()
        out: dict[Any, M] = {}
        for key, values in rows.items():
            obj = existing.get(key)
            if obj is None:
                obj = model(**values)
                new.append(obj)
            else:
                names = _changed(obj, values)
                if names:
                    for name in names:
                        setattr(obj, name, values[name])
                    dirty.append(obj)
                    fields.update(names)
            out[key] = obj
        if new:
            model._default_manager.bulk_create(new)
        if dirty:
            model._default_manager.bulk_update(dirty, sorted(fields))
        self.kept.setdefault(model, set()).update(o.pk for o in out.values())
        self.added[label] = self.added.get(label, 0) + len(new)
        self.changed[label] = self.changed.get(label, 0) + len(dirty)
        return out

    def run(self) -> StoreOutcome:
        """Store the site and return what changed."""
        if self.site is None:
            raise ValueError("SiteStore.run needs a site")
        spec, geometry = self.site.spec, self.site.geometry
        ev = spec.event
        event = Event.objects.filter(code=ev.code).first()
        created = event is None
        event_values = {
            "name": ev.name,
            "name_en": ev.name_en,
            "time_zone": ev.time_zone,
            "start_date": ev.start_date,
            "end_date": ev.end_date,
        }
        if event is None:
            event = Event.objects.create(code=ev.code, **event_values)
        elif _changed(event, event_values):
            for name, value in event_values.items():
                setattr(event, name, value)
            event.save()
        self.event = event
        eid = event.pk

        self._upsert(
            EventPhase,
            "phases",
            {p.kind: p for p in EventPhase.objects.filter(event=event)},
            {
                p.kind: {
                    "event_id": eid,
                    "kind": p.kind,
                    "start_date": p.start_date,
                    "end_date": p.end_date,
                }
                for p in ev.phases
            },
        )
        venues = self._upsert(
            Venue,
            "venues",
            {v.code: v for v in Venue.objects.filter(event=event)},
            {
                v.code: {
                    "event_id": eid,
                    "code": v.code,
                    "name": v.name,
                    "name_en": v.name_en,
                    "geometry": geometry.get(("venue", v.code)),
                }
                for v in spec.venues
            },
        )

        def venue_id(code: str | None) -> int | None:
            return venues[code].pk if code is not None else None

        zones = self._store_zones(spec, geometry, venue_id)
        checkpoints = self._upsert(
            Checkpoint,
            "checkpoints",
            {c.code: c for c in Checkpoint.objects.filter(event=event)},
            {
                c.code: {
                    "event_id": eid,
                    "venue_id": venue_id(c.venue),
                    "code": c.code,
                    "name": c.name,
                    "name_en": c.name_en,
                    "kind": c.kind,
                    "from_zone_id": zones[c.from_zone].pk if c.from_zone else None,
                    "to_zone_id": zones[c.to_zone].pk,
                    "lon": geometry[("checkpoint", c.code)]["coordinates"][0],
                    "lat": geometry[("checkpoint", c.code)]["coordinates"][1],
                }
                for c in spec.checkpoints
            },
        )
        lane_rows: dict[Any, dict[str, Any]] = {}
        for c in spec.checkpoints:
            for ln in c.lanes:
                ref = s.lane_ref(c.code, ln.code)
                point = geometry.get(("lane", ref))
                lane_rows[ref] = {
                    "checkpoint_id": checkpoints[c.code].pk,
                    "code": ln.code,
                    "name": ln.name,
                    "kind": ln.kind,
                    "lon": point["coordinates"][0] if point else None,
                    "lat": point["coordinates"][1] if point else None,
                }
        lanes = self._upsert(
            Lane,
            "lanes",
            {
                s.lane_ref(ln.checkpoint.code, ln.code): ln
                for ln in Lane.objects.filter(checkpoint__event=event).select_related("checkpoint")
            },
            lane_rows,
        )
        segments = self._store_segments(spec, geometry, venue_id)
        self._upsert(
            AirspaceVolume,
            "airspace_volumes",
            {a.code: a for a in AirspaceVolume.objects.filter(event=event)},
            {
                a.code: {
                    "event_id": eid,
                    "code": a.code,
                    "name": a.name,
                    "name_en": a.name_en,
                    "geometry": geometry[("airspace", a.code)],
                    "floor_m": a.floor_m,
                    "ceiling_m": a.ceiling_m,
                    "active_windows": [
                        {"start": w.start.isoformat(), "end": w.end.isoformat()}
                        for w in a.active_windows
                    ],
                }
                for a in spec.airspace
            },
        )
        self._upsert(
            Camera,
            "cameras",
            {c.code: c for c in Camera.objects.filter(event=event)},
            {c.code: _camera_row(eid, c, geometry, venue_id) for c in spec.cameras},
        )
        device_rows: dict[Any, dict[str, Any]] = {}
        for d in spec.devices:
            point = geometry.get(("device", d.external_id))
            device_rows[d.external_id] = {
                "event_id": eid,
                "external_id": d.external_id,
                "name": d.name,
                "kind": d.kind,
                "lon": point["coordinates"][0] if point else None,
                "lat": point["coordinates"][1] if point else None,
                "lane_id": lanes[d.lane].pk if d.lane else None,
                "segment_id": segments[d.segment].pk if d.segment else None,
            }
        self._upsert(
            Device,
            "devices",
            {d.external_id: d for d in Device.objects.filter(event=event)},
            device_rows,
        )
        self.remove_stale()
        return StoreOutcome(
            event=event,
            created=created,
            added=self.added,
            changed=self.changed,
            removed=self.removed,
        )

    def _store_zones(
        self, spec: s.SiteSpec, geometry: dict[s.FeatureKey, dict[str, Any]], venue_id: Any
    ) -> dict[Any, Zone]:
        event = self._event()
        zones = self._upsert(
            Zone,
            "zones",
            {z.number: z for z in Zone.objects.filter(event=event)},
            {
                z.number: {
                    "event_id": event.pk,
                    "venue_id": venue_id(z.venue),
                    "number": z.number,
                    "name": z.name,
                    "name_en": z.name_en,
                    "geometry": geometry[("zone", z.number)],
                }
                for z in spec.zones
            },
        )
        # Parents second: a zone may name a parent that is created in the same load.
        dirty = []
        for z in spec.zones:
            obj = zones[z.number]
            parent_id = zones[z.parent].pk if z.parent else None
            if obj.parent_id != parent_id:
                obj.parent_id = parent_id
                dirty.append(obj)
        if dirty:
            Zone.objects.bulk_update(dirty, ["parent"])
        return zones

    def _store_segments(
        self, spec: s.SiteSpec, geometry: dict[s.FeatureKey, dict[str, Any]], venue_id: Any
    ) -> dict[Any, PerimeterSegment]:
        event, lengths = self._event(), self.site.lengths_m if self.site else {}
        segments = self._upsert(
            PerimeterSegment,
            "perimeter_segments",
            {p.code: p for p in PerimeterSegment.objects.filter(event=event)},
            {
                p.code: {
                    "event_id": event.pk,
                    "venue_id": venue_id(p.venue),
                    "code": p.code,
                    "name": p.name,
                    "name_en": p.name_en,
                    "technology": p.technology,
                    "geometry": geometry[("segment", p.code)],
                    "length_m": lengths[p.code],
                }
                for p in spec.perimeter_segments
            },
        )
        self._upsert(
            AlarmSection,
            "alarm_sections",
            {
                (a.segment.code, a.code): a
                for a in AlarmSection.objects.filter(segment__event=event).select_related("segment")
            },
            {
                (p.code, sec.code): {
                    "segment_id": segments[p.code].pk,
                    "code": sec.code,
                    "name": sec.name,
                    "start_m": sec.start_m,
                    "end_m": sec.end_m,
                }
                for p in spec.perimeter_segments
                for sec in p.sections
            },
        )
        return segments

    def remove_stale(self) -> None:
        """Delete the event's objects that the load did not keep, dependants first."""
        event = self._event()
        blocked: list[FieldProblem] = []
        plan: list[tuple[str, QuerySet[Any]]] = [
            ("devices", Device.objects.filter(event=event)),
            ("lanes", Lane.objects.filter(checkpoint__event=event)),
            ("alarm_sections", AlarmSection.objects.filter(segment__event=event)),
            ("checkpoints", Checkpoint.objects.filter(event=event)),
            ("perimeter_segments", PerimeterSegment.objects.filter(event=event)),
            ("cameras", Camera.objects.filter(event=event)),
            ("airspace_volumes", AirspaceVolume.objects.filter(event=event)),
        ]
        for label, qs in plan:
            stale = qs.exclude(pk__in=self.kept.get(qs.model, set()))
            self._delete(label, list(stale), blocked)
        stale_zones = list(
            Zone.objects.filter(event=event).exclude(pk__in=self.kept.get(Zone, set()))
        )
        # Zones protect their parents, so delete the deepest first, a level at a time.
        by_pk = {z.pk: z for z in stale_zones}
        depth: dict[int, int] = {}
        for z in stale_zones:
            d, cur = 0, z
            while cur.parent_id in by_pk and d <= len(by_pk):
                d, cur = d + 1, by_pk[cur.parent_id]
            depth[z.pk] = d
        for level in sorted(set(depth.values()), reverse=True):
            self._delete("zones", [z for z in stale_zones if depth[z.pk] == level], blocked)
        for label, qs in [
            ("venues", Venue.objects.filter(event=event)),
            ("phases", EventPhase.objects.filter(event=event)),
        ]:
            stale = qs.exclude(pk__in=self.kept.get(qs.model, set()))
            self._delete(label, list(stale), blocked)
        if blocked:
            raise DomainError(
                "sites.removal_blocked",
                "Some objects that the site files no longer list are still used elsewhere; "
                "nothing was changed.",
                status=409,
                problems=blocked,
            )

    def _delete(self, label: str, objs: list[Any], blocked: list[FieldProblem]) -> None:
        if not objs:
            return
        manager = type(objs[0])._default_manager
        try:
            manager.filter(pk__in=[o.pk for o in objs]).delete()
        except (models.ProtectedError, models.RestrictedError):
            # The collector refuses before deleting anything; retry one by one to name the
            # culprits. The caller raises afterwards, so the transaction undoes the rest.
            for obj in objs:
                try:
                    manager.filter(pk=obj.pk).delete()
                except (models.ProtectedError, models.RestrictedError) as exc:
                    blocked.append(_blocked_problem(label, obj, exc))
            return
        self.removed[label] = self.removed.get(label, 0) + len(objs)


def _blocked_problem(
    label: str, obj: models.Model, exc: models.ProtectedError | models.RestrictedError
) -> FieldProblem:
    users = (
        exc.protected_objects if isinstance(exc, models.ProtectedError) else exc.restricted_objects
    )
    kinds = Counter(str(type(u)._meta.verbose_name) for u in users)
    what = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    return FieldProblem(
        field=label,
        message=f"{obj} is no longer in the site files but is still referenced by {what}",
        code="protected",
        location="database",
    )


def _camera_row(
    eid: int, c: s.CameraSpec, geometry: dict[s.FeatureKey, dict[str, Any]], venue_id: Any
) -> dict[str, Any]:
    point = geometry[("camera", c.code)]["coordinates"]
    return {
        "event_id": eid,
        "venue_id": venue_id(c.venue),
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "lon": point[0],
        "lat": point[1],
        "height_m": c.height_m,
        "heading_deg": c.heading_deg,
        "pan_min_deg": c.pan_min_deg,
        "pan_max_deg": c.pan_max_deg,
        "tilt_min_deg": c.tilt_min_deg,
        "tilt_max_deg": c.tilt_max_deg,
        "zoom_max": c.zoom_max,
        "intrinsics": c.intrinsics.model_dump() if c.intrinsics else {},
    }
