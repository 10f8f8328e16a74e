"""Shared state of a site-file check: the problems found and the items seen so far."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anbao.core.errors import FieldProblem
from anbao.sites.siteio.sources import GEOMETRY_FILE, Path_, YamlDoc, field_name
from anbao.sites.siteio.spec import CheckpointSpec, SegmentSpec

FeatureMap = dict[tuple[str, str], dict[str, Any]]


class Index:
    """Items of one kind by key, with the YAML path of each, tolerant of items that failed."""

    def __init__(self, label: str) -> None:
        """Start an empty index of items called ``label`` in messages."""
        self.label = label
        self.paths: dict[str, Path_] = {}
        self.broken: set[str] = set()
        # Owners (checkpoints, for lanes) that failed their own checks: their items count as known.
        self.broken_owners: set[str] = set()

    def knows(self, key: str) -> bool:
        """Say whether ``key`` names an item, counting items that failed their own checks."""
        if key in self.paths or key in self.broken:
            return True
        return "/" in key and key.split("/", 1)[0] in self.broken_owners


class CheckerBase:
    """Problems and indexes shared by the YAML and the geometry rules."""

    def __init__(self, folder: Path) -> None:
        """Start a check of the site folder ``folder``."""
        self.folder = folder
        self.problems: list[FieldProblem] = []
        self.doc = YamlDoc(data=None)
        self.venues = Index("venue")
        self.zones = Index("zone")
        self.checkpoints = Index("checkpoint")
        self.lanes = Index("lane")
        self.segments = Index("segment")
        self.airspace = Index("airspace volume")
        self.cameras = Index("camera")
        self.devices = Index("device")
        self.yaml_ok = False
        self.present: set[tuple[str, str]] = set()
        self.feature_ids: dict[tuple[str, str], str] = {}
        self.checkpoint_items: list[CheckpointSpec] = []
        self.segment_items: list[tuple[Path_, SegmentSpec]] = []

    def at(self, path: Path_, message: str, code: str) -> None:
        """Report a problem at a YAML path."""
        self.problems.append(FieldProblem(field_name(path), message, code, self.doc.location(path)))

    def at_feature(self, fid: str, field: str, message: str, code: str) -> None:
        """Report a problem with a GeoJSON feature."""
        self.problems.append(FieldProblem(field, message, code, f"{GEOMETRY_FILE}#{fid}"))

    def line(self, path: Path_) -> int:
        """Return the YAML line of a path."""
        return self.doc.line_of(path)

    def index_for(self, kind: str) -> Index:
        """Return the index of a geometry kind's items."""
        return {
            "venue": self.venues,
            "zone": self.zones,
            "checkpoint": self.checkpoints,
            "lane": self.lanes,
            "segment": self.segments,
            "airspace": self.airspace,
            "camera": self.cameras,
            "device": self.devices,
        }[kind]
