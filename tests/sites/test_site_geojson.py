"""The map's FeatureCollection: every entity, with the properties the map draws from."""

from __future__ import annotations

from collections import Counter

import pytest

from anbao.sites import services
from anbao.sites.models import Event
from anbao.sites.siteio import geo

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection() -> dict:
    return services.site_geojson(Event.objects.get(code="wic2026"))


def test_every_entity_is_a_feature(collection: dict) -> None:
    kinds = Counter(f["properties"]["kind"] for f in collection["features"])
    summary = services.site_summary(Event.objects.get(code="wic2026"))
    assert kinds["venue"] == summary["venues"]
    assert kinds["zone"] == summary["zones"]
    assert kinds["checkpoint"] == summary["checkpoints"]
    assert kinds["lane"] == summary["lanes"]
    assert kinds["segment"] == summary["perimeter_segments"]
    assert kinds["section"] == summary["alarm_sections"]
    assert kinds["airspace"] == summary["airspace_volumes"]
    assert kinds["camera"] == summary["cameras"]
    assert kinds["device"] == summary["devices"]
    ids = [f["id"] for f in collection["features"]]
    assert len(ids) == len(set(ids))


def test_features_carry_names_and_extras(collection: dict) -> None:
    for f in collection["features"]:
        p = f["properties"]
        assert {"kind", "ref", "name", "name_en"} <= set(p)
        assert f["geometry"] is not None
    by_kind = {f["properties"]["kind"]: f["properties"] for f in collection["features"]}
    assert "number" in by_kind["zone"]
    assert {"checkpoint_kind", "lane_count"} <= set(by_kind["checkpoint"])
    assert "online" in by_kind["device"]
    assert "technology" in by_kind["segment"]
    assert {"floor_m", "ceiling_m"} <= set(by_kind["airspace"])


def test_sections_are_cut_along_their_segment(collection: dict) -> None:
    for f in collection["features"]:
        p = f["properties"]
        if p["kind"] != "section":
            continue
        assert f["geometry"]["type"] == "LineString"
        length = geo.geodesic_length_m(f["geometry"]["coordinates"])
        assert length == pytest.approx(p["end_m"] - p["start_m"], rel=0.02, abs=1.0)
