"""Build small site folders for tests: a valid one, then break one thing at a time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

LON0, LAT0 = 120.40, 30.70
# Roughly metres per degree at 30.7 N; good enough to place test geometry.
M_LON, M_LAT = 95_700.0, 110_900.0


def ll(x: float, y: float) -> list[float]:
    """Return [lon, lat] of a point x metres east, y metres north of the test origin."""
    return [round(LON0 + x / M_LON, 7), round(LAT0 + y / M_LAT, 7)]


def rect(x0: float, x1: float, y0: float, y1: float) -> dict[str, Any]:
    ring = [ll(x0, y0), ll(x1, y0), ll(x1, y1), ll(x0, y1), ll(x0, y0)]
    return {"type": "Polygon", "coordinates": [ring]}


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": ll(x, y)}


def line(*pts: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [ll(x, y) for x, y in pts]}


def tiny_yaml(code: str = "tiny") -> dict[str, Any]:
    """The structure of a small valid site."""
    return {
        "event": {
            "code": code,
            "name": "测试活动",
            "name_en": "Test event",
            "time_zone": "Asia/Shanghai",
            "start_date": "2030-05-10",
            "end_date": "2030-05-12",
            "phases": [
                {"kind": "build_up", "start_date": "2030-05-01", "end_date": "2030-05-08"},
                {"kind": "event", "start_date": "2030-05-10", "end_date": "2030-05-12"},
            ],
        },
        "venues": [{"code": "hall", "name": "展馆", "name_en": "Hall"}],
        "zones": [
            {"number": "1", "name": "外围", "name_en": "Outer", "venue": "hall"},
            {"number": "2", "name": "内场", "name_en": "Inner", "venue": "hall", "parent": "1"},
        ],
        "checkpoints": [
            {
                "code": "gate-a",
                "name": "A门",
                "name_en": "Gate A",
                "kind": "pedestrian",
                "venue": "hall",
                "to_zone": "1",
                "lanes": [
                    {"code": "l1", "name": "1号通道", "kind": "wtmd_xray"},
                    {"code": "l2", "name": "2号通道", "kind": "vip"},
                ],
            },
            {
                "code": "gate-b",
                "name": "B门",
                "kind": "vehicle",
                "venue": "hall",
                "from_zone": "1",
                "to_zone": "2",
            },
        ],
        "lanes": [{"checkpoint": "gate-b", "code": "v1", "name": "车道1", "kind": "vehicle"}],
        "perimeter_segments": [
            {
                "code": "fence",
                "name": "围栏",
                "technology": "pulse_fence",
                "venue": "hall",
                "sections": [
                    {"code": "s1", "name": "一区", "start_m": 0, "end_m": 100},
                    {"code": "s2", "name": "二区", "start_m": 100, "end_m": 199},
                ],
            }
        ],
        "airspace": [
            {
                "code": "nfz",
                "name": "禁飞区",
                "floor_m": 0,
                "ceiling_m": 300,
                "active_windows": [
                    {"start": "2030-05-10T06:00:00+08:00", "end": "2030-05-10T22:00:00+08:00"}
                ],
            }
        ],
        "cameras": [
            {
                "code": "cam-1",
                "name": "高点",
                "kind": "ptz",
                "venue": "hall",
                "height_m": 70,
                "pan_min_deg": -180,
                "pan_max_deg": 180,
                "tilt_min_deg": -90,
                "tilt_max_deg": 10,
                "zoom_max": 20,
                "intrinsics": {
                    "fx": 1400,
                    "fy": 1400,
                    "cx": 960,
                    "cy": 540,
                    "width": 1920,
                    "height": 1080,
                },
            }
        ],
        "devices": [
            {
                "external_id": "GS-gate-a-l1",
                "name": "闸机",
                "kind": "gate_scanner",
                "lane": "gate-a/l1",
            },
            {
                "external_id": "FC-1",
                "name": "围栏主机",
                "kind": "fence_controller",
                "segment": "fence",
            },
            {"external_id": "WX-1", "name": "气象站", "kind": "weather_station"},
        ],
    }


def tiny_features() -> list[dict[str, Any]]:
    """The geometry of the small valid site (the fence is 200 m long)."""
    shapes = [
        ("venue", "hall", rect(-300, 300, -300, 300)),
        ("zone", "1", rect(-250, 250, -250, 250)),
        ("zone", "2", rect(-100, 100, -100, 100)),
        ("checkpoint", "gate-a", point(0, -250)),
        ("lane", "gate-a/l1", point(-2, -250)),
        ("lane", "gate-a/l2", point(2, -250)),
        ("checkpoint", "gate-b", point(0, 100)),
        ("segment", "fence", line((-100, 280), (100, 280))),
        ("airspace", "nfz", rect(-500, 500, -500, 500)),
        ("camera", "cam-1", point(0, 0)),
        ("device", "GS-gate-a-l1", point(-2, -250)),
    ]
    return [
        {
            "type": "Feature",
            "id": f"{kind}:{ref}",
            "properties": {"kind": kind, "ref": ref},
            "geometry": geom,
        }
        for kind, ref, geom in shapes
    ]


class SiteFolder:
    """A site folder under construction: edit ``data`` and ``features``, then ``write()``."""

    def __init__(self, root: Path, code: str = "tiny") -> None:
        self.root = root
        self.data = copy.deepcopy(tiny_yaml(code))
        self.features = tiny_features()

    def feature(self, fid: str) -> dict[str, Any]:
        return next(f for f in self.features if f["id"] == fid)

    def write(self, *, yaml_text: str | None = None, geojson_text: str | None = None) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        text = yaml_text
        if text is None:
            text = yaml.safe_dump(self.data, allow_unicode=True, sort_keys=False)
        (self.root / "site.yaml").write_text(text, encoding="utf-8")
        geo = geojson_text
        if geo is None:
            geo = json.dumps({"type": "FeatureCollection", "features": self.features}, indent=1)
        (self.root / "geometry.geojson").write_text(geo, encoding="utf-8")
        return self.root

    def yaml_text(self) -> str:
        return (self.root / "site.yaml").read_text(encoding="utf-8")

    def line_of(self, needle: str, after: str | None = None) -> int:
        """Return the 1-based line of the first ``needle`` (after the line holding ``after``)."""
        lines = self.yaml_text().splitlines()
        start = 0
        if after is not None:
            start = next(i for i, ln in enumerate(lines) if after in ln)
        return next(i for i, ln in enumerate(lines) if i >= start and needle in ln) + 1
