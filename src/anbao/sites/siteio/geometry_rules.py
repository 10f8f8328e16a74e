"""Rules about ``geometry.geojson``: features, their shapes, and what needs both files."""

from __future__ import annotations

from typing import Any

from anbao.core.errors import FieldProblem
from anbao.sites.siteio import geo
from anbao.sites.siteio.base import CheckerBase, FeatureMap
from anbao.sites.siteio.sources import GEOMETRY_FILE, SITE_YAML, Path_
from anbao.sites.siteio.spec import SegmentSpec

# A gate sits on the fence line; surveyed points drift a little either side of it.
CHECKPOINT_TOLERANCE_M = 25.0
# Section ends are typed by people from survey notes; a metre of slack beats false alarms.
SECTION_TOLERANCE_M = 1.0
# Kinds whose items must have a geometry feature; venues, lanes and devices may go without.
GEOMETRY_REQUIRED = {"zone", "checkpoint", "segment", "airspace", "camera"}


class GeometryRules(CheckerBase):
    """The checks of ``geometry.geojson`` and of the rules that need both files."""

    def _check_features(self, data: Any) -> FeatureMap:
        features: FeatureMap = {}
        fids: dict[tuple[str, str], str] = {}
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            self.problems.append(
                FieldProblem(
                    "type", "must be a GeoJSON FeatureCollection", "invalid_type", GEOMETRY_FILE
                )
            )
            return features
        raw = data.get("features")
        if not isinstance(raw, list):
            self.problems.append(
                FieldProblem(
                    "features", "must be a list of features", "invalid_type", GEOMETRY_FILE
                )
            )
            return features
        seen_ids: set[str] = set()
        for i, feat in enumerate(raw):
            key_fid = self._check_feature(i, feat, seen_ids)
            if key_fid is None:
                continue
            key, fid = key_fid
            if key in features:
                self.at_feature(
                    fid,
                    "properties.ref",
                    f"a second feature for {key[0]} {key[1]!r} (first is {fids[key]})",
                    "duplicate",
                )
                continue
            features[key] = feat["geometry"]
            fids[key] = fid
        self.feature_ids = fids
        if self.yaml_ok:
            self._check_missing_geometry()
        return features

    def _check_feature(
        self, i: int, feat: Any, seen_ids: set[str]
    ) -> tuple[tuple[str, str], str] | None:
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            self.at_feature(
                f"features[{i}]", "type", "each item must be a GeoJSON Feature", "invalid_type"
            )
            return None
        raw_id = feat.get("id")
        if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or raw_id == "":
            fid = f"features[{i}]"
            self.at_feature(fid, "id", "each feature needs an id (a string)", "missing_field")
        else:
            fid = str(raw_id)
            if fid in seen_ids:
                self.at_feature(fid, "id", f"duplicate feature id {fid!r}", "duplicate")
            seen_ids.add(fid)
        props = feat.get("properties")
        if not isinstance(props, dict):
            self.at_feature(
                fid, "properties", "needs properties with kind and ref", "missing_field"
            )
            return None
        kind, ref = props.get("kind"), props.get("ref")
        if kind not in geo.GEOMETRY_TYPES:
            kinds = ", ".join(sorted(geo.GEOMETRY_TYPES))
            self.at_feature(
                fid, "properties.kind", f"kind {kind!r} is not one of {kinds}", "invalid_choice"
            )
            return None
        if not isinstance(ref, str | int) or isinstance(ref, bool) or ref == "":
            self.at_feature(
                fid, "properties.ref", "needs a ref (the item's code or number)", "missing_field"
            )
            return None
        ref = str(ref)
        self.present.add((kind, ref))
        ok = True
        for problem in geo.check_geometry(kind, feat.get("geometry")):
            self.at_feature(fid, problem.field, problem.message, problem.code)
            ok = False
        if self.yaml_ok and not self.index_for(kind).knows(ref):
            self.at_feature(
                fid,
                "properties.ref",
                f"no {self.index_for(kind).label} {ref!r} in {SITE_YAML}",
                "unknown_reference",
            )
            return None
        return ((kind, ref), fid) if ok else None

    def _check_missing_geometry(self) -> None:
        for kind in sorted(GEOMETRY_REQUIRED):
            index = self.index_for(kind)
            for key, path in index.paths.items():
                if (kind, key) in self.present:
                    continue
                self.at(
                    path,
                    f"{index.label} {key!r} has no feature in {GEOMETRY_FILE}",
                    "missing_geometry",
                )

    # -- rules that need both files ------------------------------------------------------------

    def _check_geometry_rules(self, features: FeatureMap) -> dict[str, float]:
        fids = self.feature_ids
        for cp in self.checkpoint_items:
            point, zone = features.get(("checkpoint", cp.code)), features.get(("zone", cp.to_zone))
            if point is None or zone is None:
                continue
            lon, lat = point["coordinates"][:2]
            dist = geo.distance_m(lon, lat, geo.to_shape(zone))
            if dist > CHECKPOINT_TOLERANCE_M:
                self.at_feature(
                    fids[("checkpoint", cp.code)],
                    "geometry",
                    f"checkpoint {cp.code} is {dist:.0f} m outside zone {cp.to_zone}, which it "
                    f"guards (at most {CHECKPOINT_TOLERANCE_M:.0f} m)",
                    "checkpoint_outside_zone",
                )
        lengths: dict[str, float] = {}
        for path, seg in self.segment_items:
            line = features.get(("segment", seg.code))
            if line is None:
                continue
            length = geo.geodesic_length_m(line["coordinates"])
            lengths[seg.code] = length
            self._check_sections_along(path, seg, length)
        return lengths

    def _check_sections_along(self, path: Path_, seg: SegmentSpec, length: float) -> None:
        ordered = sorted(enumerate(seg.sections), key=lambda kv: (kv[1].start_m, kv[1].end_m))
        previous = None
        for k, sec in ordered:
            spath: Path_ = (*path, "sections", k)
            if sec.start_m < 0 or sec.end_m > length + SECTION_TOLERANCE_M:
                self.at(
                    spath,
                    f"section {seg.code}/{sec.code} ({sec.start_m:g}..{sec.end_m:g} m) lies "
                    f"outside the segment, which is {length:.1f} m long",
                    "section_out_of_range",
                )
            if previous is not None and sec.start_m < previous.end_m:
                self.at(
                    spath,
                    f"section {seg.code}/{sec.code} overlaps section {previous.code} "
                    f"({sec.start_m:g} m < {previous.end_m:g} m)",
                    "section_overlap",
                )
            if previous is None or sec.end_m > previous.end_m:
                previous = sec
