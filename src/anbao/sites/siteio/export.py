"""Write a site as the two human-editable files; the same site always gives the same bytes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from anbao.sites.siteio.sources import GEOMETRY_FILE, SITE_YAML
from anbao.sites.siteio.spec import Site, SiteSpec, lane_ref

HEADER = """\
# anbao site file: {name} / {name_en} ({code})
#
# One event per folder. This file holds the structure; geometry.geojson holds the shapes
# (WGS 84 lon/lat). Each feature there has properties.kind and properties.ref, where ref
# is the item's code here: the number for zones, "checkpoint/lane" for lanes and the
# external_id for devices.
# Check and store with `anbao site load FOLDER`: it validates everything first and
# stores all or nothing. Loading the same event code again updates it in place.
"""

COMMENTS = {
    "event": "The event. Dates are local dates in its time zone.\n"
    "Phases: build_up, rehearsal, event, tear_down.",
    "venues": "Venues. Geometry (optional): a Polygon feature of kind venue.",
    "zones": "Access zones, numbered as on the badges. parent: the zone this one lies in.\n"
    "Geometry: a Polygon feature of kind zone (closed, not self-intersecting).",
    "checkpoints": "Checkpoints (卡口). kind: pedestrian | vehicle | mixed.\n"
    "from_zone: where people come from (leave it out for outside every zone); to_zone: the\n"
    "zone it guards. Its Point (kind checkpoint) lies inside or within 25 m of to_zone.\n"
    "Lane kinds: wtmd_xray | manual | vehicle | vip | staff; Points of kind lane are optional.",
    "perimeter_segments": "Perimeter segments. technology: leaky_cable | pulse_fence |\n"
    "fence_vibration | video_analytics. Geometry: a LineString of kind segment. Alarm\n"
    "sections are metres along the line from its first point; they may not overlap.",
    "airspace": "No-fly volumes: floor_m below ceiling_m (metres above ground), active\n"
    "windows with a UTC offset. Geometry: a Polygon of kind airspace.",
    "cameras": "Cameras. kind: fixed | ptz. Angles in degrees, heading from north;\n"
    "height_m above ground; intrinsics in pixels at zoom 1. Geometry: a Point of kind camera.",
    "devices": "Devices. lane: 'checkpoint/lane'; segment: a perimeter segment code.\n"
    "Geometry (optional): a Point of kind device.",
}

# Shown even when equal to the default, because a reader looks for them.
ALWAYS = {"name_en", "floor_m", "time_zone"}


class _Flow(dict[str, Any]):
    """A mapping written on one line: lanes, sections, phases, intrinsics."""


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key, which reads better than PyYAML's flush-left default."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Never emit indentless sequences."""
        super().increase_indent(flow, False)


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(data.items()), flow_style=True)


def _represent_datetime(dumper: yaml.SafeDumper, data: datetime) -> yaml.Node:
    # The ISO form with a "T" resolves back to a timestamp, so it needs neither quotes nor a tag.
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", data.isoformat())


_Dumper.add_representer(_Flow, _represent_flow)
_Dumper.add_representer(datetime, _represent_datetime)


def _tidy(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    return value


def _item(model: BaseModel, flow: tuple[str, ...] = ()) -> dict[str, Any]:
    """Dump a spec without defaults (bar ``ALWAYS``), with nested lists on one line each."""
    full = model.model_dump()
    lean = model.model_dump(exclude_defaults=True)
    out: dict[str, Any] = {}
    for key, value in full.items():
        if key not in lean and key not in ALWAYS:
            continue
        value = _tidy(value)
        if key in flow and isinstance(value, list):
            value = [_Flow(v) for v in value]
        elif key in flow and isinstance(value, dict):
            value = _Flow(value)
        out[key] = value
    return out


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        # Wide enough that a camera's intrinsics stay on one line.
        width=200,
    )


def _section(name: str, items: list[dict[str, Any]], *, compact: bool = False) -> str:
    comment = "".join(f"# {line}\n" for line in COMMENTS[name].splitlines())
    if not items:
        return f"{comment}{name}: []\n"
    if compact:
        lines = "".join(f"  {line}\n" for line in _dump([_Flow(i) for i in items]).splitlines())
        return f"{comment}{name}:\n{lines}"
    body = "\n".join(
        "".join(f"  {line}\n" if line else "\n" for line in _dump([item]).splitlines())
        for item in items
    )
    return f"{comment}{name}:\n{body}"


def render_site_yaml(spec: SiteSpec) -> str:
    """Return the text of ``site.yaml`` for a site: commented, one blank line between items."""
    event = _item(spec.event, flow=("phases",))
    parts = [
        HEADER.format(name=spec.event.name, name_en=spec.event.name_en, code=spec.event.code),
        "".join(f"# {line}\n" for line in COMMENTS["event"].splitlines())
        + "".join(f"{line}\n" for line in _dump({"event": event}).splitlines()),
        _section("venues", [_item(v) for v in spec.venues]),
        _section("zones", [_item(z) for z in spec.zones]),
        _section("checkpoints", [_item(c, flow=("lanes",)) for c in spec.checkpoints]),
        _section(
            "perimeter_segments", [_item(s, flow=("sections",)) for s in spec.perimeter_segments]
        ),
        _section("airspace", [_item(a) for a in spec.airspace]),
        _section("cameras", [_item(c, flow=("intrinsics",)) for c in spec.cameras]),
        # Devices are many and short: one line each.
        _section("devices", [_item(d) for d in spec.devices], compact=True),
    ]
    return "\n".join(parts)


def feature_id(kind: str, ref: str) -> str:
    """Return the id the exporter gives the feature of an item: ``kind:ref``."""
    return f"{kind}:{ref}"


def feature_order(spec: SiteSpec) -> list[tuple[str, str]]:
    """Return every ``(kind, ref)`` of a site in file order."""
    keys: list[tuple[str, str]] = [("venue", v.code) for v in spec.venues]
    keys += [("zone", z.number) for z in spec.zones]
    keys += [("checkpoint", c.code) for c in spec.checkpoints]
    keys += [("lane", lane_ref(c.code, ln.code)) for c in spec.checkpoints for ln in c.lanes]
    keys += [("segment", s.code) for s in spec.perimeter_segments]
    keys += [("airspace", a.code) for a in spec.airspace]
    keys += [("camera", c.code) for c in spec.cameras]
    keys += [("device", d.external_id) for d in spec.devices]
    return keys


def render_geometry(site: Site) -> str:
    """Return the text of ``geometry.geojson``: one feature per line, in file order."""
    lines = []
    for kind, ref in feature_order(site.spec):
        geometry = site.geometry.get((kind, ref))
        if geometry is None:
            continue
        feature = {
            "type": "Feature",
            "id": feature_id(kind, ref),
            "properties": {"kind": kind, "ref": ref},
            "geometry": geometry,
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(", ", ": ")))
    body = ",\n".join(lines)
    return f'{{"type": "FeatureCollection", "features": [\n{body}\n]}}\n'


def write_site(folder: Path, site: Site) -> list[Path]:
    """Write ``site.yaml`` and ``geometry.geojson`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in (
        (SITE_YAML, render_site_yaml(site.spec)),
        (GEOMETRY_FILE, render_geometry(site)),
    ):
        target = folder / name
        target.write_text(text, encoding="utf-8", newline="\n")
        out.append(target)
    return out
