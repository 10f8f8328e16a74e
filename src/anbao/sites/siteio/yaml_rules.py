"""Rules that ``site.yaml`` alone decides: types, duplicates, references, ranges."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from anbao.sites.siteio.base import CheckerBase, Index
from anbao.sites.siteio.sources import Path_
from anbao.sites.siteio.spec import (
    AirspaceSpec,
    CameraSpec,
    CheckpointSpec,
    DeviceSpec,
    EventSpec,
    LaneSpec,
    LooseLaneSpec,
    SegmentSpec,
    SiteSpec,
    VenueSpec,
    ZoneSpec,
    lane_ref,
)

M = TypeVar("M", bound=BaseModel)

SECTIONS = (
    "event",
    "venues",
    "zones",
    "checkpoints",
    "lanes",
    "perimeter_segments",
    "airspace",
    "cameras",
    "devices",
)

_PYDANTIC_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "string_pattern_mismatch": "invalid_code",
    "timezone_aware": "naive_datetime",
}


def _pydantic_code(kind: str) -> str:
    if kind in _PYDANTIC_CODES:
        return _PYDANTIC_CODES[kind]
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return "invalid_type"
    return "invalid_value"


class YamlRules(CheckerBase):
    """The checks of ``site.yaml``."""

    def _validate(self, model: type[M], raw: Any, path: Path_) -> M | None:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
                self.at((*path, *loc), str(err["msg"]), _pydantic_code(str(err["type"])))
            return None

    def _items(
        self, data: dict[str, Any], section: str, model: type[M], key: str, index: Index
    ) -> Iterator[tuple[Path_, M]]:
        raw = data.get(section)
        if raw is None:
            return
        if not isinstance(raw, list):
            self.at((section,), f"{section} must be a list of items", "invalid_type")
            return
        for i, item in enumerate(raw):
            path: Path_ = (section, i)
            parsed = self._validate(model, item, path)
            if parsed is None:
                if isinstance(item, dict) and item.get(key) is not None:
                    index.broken.add(str(item[key]))
                continue
            yield path, parsed

    def _register(self, index: Index, key: str, path: Path_, key_field: str) -> bool:
        first = index.paths.get(key)
        if first is not None:
            self.at(
                (*path, key_field),
                f"duplicate {index.label} {key!r} (first at line {self.line(first)})",
                "duplicate",
            )
            return False
        index.paths[key] = path
        return True

    def _ref(self, index: Index, key: str | None, path: Path_, owner: str) -> None:
        if key is not None and not index.knows(key):
            self.at(path, f"{owner}: unknown {index.label} {key!r}", "unknown_reference")

    def _check_yaml(self, data: Any) -> SiteSpec | None:
        if not isinstance(data, dict):
            self.at((), "site.yaml must be a mapping with an 'event' key", "invalid_type")
            return None
        self.yaml_ok = True
        for key in data:
            if key not in SECTIONS:
                self.at((str(key),), f"unknown section {key!r}", "unknown_field")
        event = self._check_event(data)
        venues = self._collect(data, "venues", VenueSpec, "code", self.venues)
        zones = self._collect(data, "zones", ZoneSpec, "number", self.zones)
        checkpoints = self._collect(data, "checkpoints", CheckpointSpec, "code", self.checkpoints)
        self.lanes.broken_owners = self.checkpoints.broken
        loose = list(self._items(data, "lanes", LooseLaneSpec, "code", self.lanes))
        segments = self._collect(data, "perimeter_segments", SegmentSpec, "code", self.segments)
        airspace = self._collect(data, "airspace", AirspaceSpec, "code", self.airspace)
        cameras = self._collect(data, "cameras", CameraSpec, "code", self.cameras)
        devices = self._collect(data, "devices", DeviceSpec, "external_id", self.devices)

        for path, zone in zones:
            self._ref(self.venues, zone.venue, (*path, "venue"), f"zone {zone.number}")
            self._ref(self.zones, zone.parent, (*path, "parent"), f"zone {zone.number}")
        self._check_zone_cycles(zones)
        lanes_by_cp = self._check_checkpoints(checkpoints, loose)
        self.checkpoint_items = [cp for _, cp in checkpoints]
        self.segment_items = segments
        for path, seg in segments:
            self._ref(self.venues, seg.venue, (*path, "venue"), f"segment {seg.code}")
            self._check_sections_listed(path, seg)
        for path, vol in airspace:
            if vol.floor_m >= vol.ceiling_m:
                self.at(
                    (*path, "floor_m"),
                    f"airspace {vol.code}: floor {vol.floor_m} m must be below ceiling "
                    f"{vol.ceiling_m} m",
                    "floor_not_below_ceiling",
                )
            for w, window in enumerate(vol.active_windows):
                if window.start >= window.end:
                    self.at(
                        (*path, "active_windows", w),
                        f"airspace {vol.code}: window ends before it starts",
                        "invalid_range",
                    )
        for path, cam in cameras:
            self._check_camera(path, cam)
        for path, dev in devices:
            self._check_device(path, dev)

        if event is None:
            return None
        merged = [
            cp.model_copy(update={"lanes": lanes_by_cp.get(cp.code, [])}) for _, cp in checkpoints
        ]
        return SiteSpec(
            event=event,
            venues=[v for _, v in venues],
            zones=[z for _, z in zones],
            checkpoints=merged,
            perimeter_segments=[s for _, s in segments],
            airspace=[a for _, a in airspace],
            cameras=[c for _, c in cameras],
            devices=[d for _, d in devices],
        )

    def _collect(
        self, data: dict[str, Any], section: str, model: type[M], key: str, index: Index
    ) -> list[tuple[Path_, M]]:
        out = []
        for path, item in self._items(data, section, model, key, index):
            if self._register(index, str(getattr(item, key)), path, key):
                out.append((path, item))
        return out

    def _check_event(self, data: dict[str, Any]) -> EventSpec | None:
        if "event" not in data:
            self.at((), "site.yaml needs an 'event' section", "missing_field")
            return None
        event = self._validate(EventSpec, data["event"], ("event",))
        if event is None:
            return None
        try:
            zoneinfo.ZoneInfo(event.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.at(
                ("event", "time_zone"),
                f"unknown time zone {event.time_zone!r}",
                "unknown_time_zone",
            )
        if event.start_date > event.end_date:
            self.at(("event", "end_date"), "the event ends before it starts", "invalid_range")
        seen: dict[str, int] = {}
        for i, phase in enumerate(event.phases):
            path: Path_ = ("event", "phases", i)
            if phase.start_date > phase.end_date:
                self.at(path, f"phase {phase.kind} ends before it starts", "invalid_range")
            if phase.kind in seen:
                self.at((*path, "kind"), f"phase {phase.kind} is listed twice", "duplicate")
            seen[phase.kind] = i
        return event

    def _check_zone_cycles(self, zones: list[tuple[Path_, ZoneSpec]]) -> None:
        parents = {z.number: z.parent for _, z in zones}
        for path, zone in zones:
            seen = {zone.number}
            cur = zone.parent
            while cur is not None and cur in parents:
                if cur in seen:
                    self.at(
                        (*path, "parent"),
                        f"zone {zone.number}: parent chain loops back through zone {cur}",
                        "reference_cycle",
                    )
                    break
                seen.add(cur)
                cur = parents[cur]

    def _check_checkpoints(
        self,
        checkpoints: list[tuple[Path_, CheckpointSpec]],
        loose: list[tuple[Path_, LooseLaneSpec]],
    ) -> dict[str, list[LaneSpec]]:
        lanes_by_cp: dict[str, list[LaneSpec]] = {}
        for path, cp in checkpoints:
            owner = f"checkpoint {cp.code}"
            self._ref(self.venues, cp.venue, (*path, "venue"), owner)
            self._ref(self.zones, cp.from_zone, (*path, "from_zone"), owner)
            self._ref(self.zones, cp.to_zone, (*path, "to_zone"), owner)
            if cp.from_zone is not None and cp.from_zone == cp.to_zone:
                self.at(
                    (*path, "to_zone"),
                    f"{owner} leads from zone {cp.to_zone} into itself",
                    "same_zone",
                )
            for j, lane in enumerate(cp.lanes):
                lpath: Path_ = (*path, "lanes", j)
                if self._register(self.lanes, lane_ref(cp.code, lane.code), lpath, "code"):
                    lanes_by_cp.setdefault(cp.code, []).append(lane)
        for path, loose_lane in loose:
            if loose_lane.checkpoint is None:
                self.at(
                    path,
                    f"lane {loose_lane.code} has no checkpoint: list it under one, or add "
                    "'checkpoint: CODE'",
                    "lane_without_checkpoint",
                )
                continue
            if not self.checkpoints.knows(loose_lane.checkpoint):
                self._ref(
                    self.checkpoints,
                    loose_lane.checkpoint,
                    (*path, "checkpoint"),
                    f"lane {loose_lane.code}",
                )
                continue
            ref = lane_ref(loose_lane.checkpoint, loose_lane.code)
            if self._register(self.lanes, ref, path, "code"):
                lane = LaneSpec(code=loose_lane.code, name=loose_lane.name, kind=loose_lane.kind)
                lanes_by_cp.setdefault(loose_lane.checkpoint, []).append(lane)
        return lanes_by_cp

    def _check_sections_listed(self, path: Path_, seg: SegmentSpec) -> None:
        seen: dict[str, int] = {}
        for k, sec in enumerate(seg.sections):
            spath: Path_ = (*path, "sections", k)
            if sec.code in seen:
                self.at(
                    (*spath, "code"),
                    f"segment {seg.code}: duplicate section {sec.code!r}",
                    "duplicate",
                )
            seen[sec.code] = k
            if sec.start_m >= sec.end_m:
                self.at(
                    spath,
                    f"section {seg.code}/{sec.code}: start_m {sec.start_m} must be below "
                    f"end_m {sec.end_m}",
                    "invalid_range",
                )

    def _check_camera(self, path: Path_, cam: CameraSpec) -> None:
        self._ref(self.venues, cam.venue, (*path, "venue"), f"camera {cam.code}")
        if cam.pan_min_deg > cam.pan_max_deg:
            self.at(
                (*path, "pan_min_deg"),
                f"camera {cam.code}: pan_min_deg > pan_max_deg",
                "invalid_range",
            )
        if cam.tilt_min_deg > cam.tilt_max_deg:
            self.at(
                (*path, "tilt_min_deg"),
                f"camera {cam.code}: tilt_min_deg > tilt_max_deg",
                "invalid_range",
            )

    def _check_device(self, path: Path_, dev: DeviceSpec) -> None:
        owner = f"device {dev.external_id}"
        if dev.lane is not None and dev.segment is not None:
            self.at(path, f"{owner} serves either a lane or a segment, not both", "invalid_value")
        if dev.lane is not None:
            if dev.lane.count("/") != 1:
                self.at(
                    (*path, "lane"), f"{owner}: a lane is named 'checkpoint/lane'", "invalid_value"
                )
            else:
                self._ref(self.lanes, dev.lane, (*path, "lane"), owner)
        self._ref(self.segments, dev.segment, (*path, "segment"), owner)
