"""The bundled Wuzhen demo site: it validates, and it has what the demo and the tests need."""

from __future__ import annotations

from collections import Counter

import pytest
from pyproj import Geod

from anbao.sites import services
from anbao.sites.demo import DEMO_SITE_PATH
from anbao.sites.models import Camera, Checkpoint, Device, Event, Lane, PerimeterSegment, Zone
from anbao.sites.siteio import read_site

pytestmark = pytest.mark.django_db


def demo() -> Event:
    return Event.objects.get(code="wic2026")


def test_demo_files_validate_without_a_database() -> None:
    site = read_site(DEMO_SITE_PATH)
    assert site.spec.event.code == "wic2026"
    assert site.spec.event.time_zone == "Asia/Shanghai"


def test_demo_meets_the_minimum_counts() -> None:
    counts = services.site_summary(demo())
    assert counts["venues"] >= 4
    assert counts["zones"] >= 8
    assert counts["checkpoints"] >= 15
    assert counts["lanes"] >= 60
    assert counts["perimeter_segments"] >= 6
    assert counts["airspace_volumes"] >= 1
    assert counts["cameras"] >= 20


def test_demo_event_and_phases() -> None:
    event = demo()
    assert event.name == "世界互联网大会乌镇峰会"
    assert event.name_en == "World Internet Conference Wuzhen Summit"
    assert {p.kind for p in event.phases.all()} == {"build_up", "rehearsal", "event", "tear_down"}


def test_demo_has_nested_zones_and_every_kind_of_checkpoint_and_lane() -> None:
    assert Zone.objects.filter(event=demo(), parent__isnull=False).count() >= 2
    assert Zone.objects.filter(event=demo(), parent__parent__isnull=False).exists()
    kinds = set(Checkpoint.objects.filter(event=demo()).values_list("kind", flat=True))
    assert kinds == {"pedestrian", "vehicle", "mixed"}
    lane_kinds = set(Lane.objects.filter(checkpoint__event=demo()).values_list("kind", flat=True))
    assert lane_kinds == {"wtmd_xray", "manual", "vehicle", "vip", "staff"}


def test_demo_perimeter_technologies_and_sections() -> None:
    segments = PerimeterSegment.objects.filter(event=demo()).prefetch_related("sections")
    tech = Counter(s.technology for s in segments)
    assert tech["leaky_cable"] >= 2
    assert tech["pulse_fence"] >= 1
    assert tech["fence_vibration"] >= 1
    assert tech["video_analytics"] >= 1
    assert all(s.sections.all() for s in segments)
    # The leaky cable runs along the canal bank, on the east side near 120.50 E.
    for s in segments:
        if s.technology == "leaky_cable":
            assert all(120.49 < p[0] < 120.51 for p in s.geometry["coordinates"])


def test_demo_cameras_include_a_high_one_with_intrinsics() -> None:
    cams = Camera.objects.filter(event=demo())
    assert {c.kind for c in cams} == {"fixed", "ptz"}
    high = [c for c in cams if c.height_m >= 60]
    assert high
    assert {"fx", "fy", "cx", "cy", "width", "height"} <= set(high[0].intrinsics)


def test_demo_devices() -> None:
    devices = Device.objects.filter(event=demo()).select_related("lane__checkpoint")
    kinds = Counter(d.kind for d in devices)
    lanes = Lane.objects.filter(checkpoint__event=demo()).count()
    assert kinds["gate_scanner"] == lanes
    for d in devices:
        if d.kind == "gate_scanner":
            assert d.external_id == f"GS-{d.lane.checkpoint.code}-{d.lane.code}"  # type: ignore[union-attr]
    leaky = PerimeterSegment.objects.filter(event=demo(), technology="leaky_cable").count()
    assert kinds["leaky_cable_processor"] == leaky
    assert kinds["fence_controller"] >= 1
    assert kinds["radar"] == kinds["rf_receiver"] == kinds["weather_station"] == 1


def test_demo_is_in_wuzhen() -> None:
    geod = Geod(ellps="WGS84")
    for cp in Checkpoint.objects.filter(event=demo()):
        _, _, dist = geod.inv(120.4855, 30.7495, cp.lon, cp.lat)
        assert dist < 3000, cp.code
