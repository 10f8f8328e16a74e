"""The site-file validator, without a database: each bad input is reported with its place."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.siteio import read_site, render_geometry, render_site_yaml, write_site
from anbao.sites.siteio import spec as s
from tests.sites.sitefiles import SiteFolder, ll, point


def problems_of(folder: Path) -> list[FieldProblem]:
    with pytest.raises(DomainError) as info:
        read_site(folder)
    assert info.value.code == "sites.invalid_site_files"
    return info.value.problems


def only(problems: list[FieldProblem], code: str) -> FieldProblem:
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


@pytest.fixture
def site(tmp_path: Path) -> SiteFolder:
    return SiteFolder(tmp_path / "site")


def test_valid_site_reads_with_lanes_merged_and_geodesic_lengths(site: SiteFolder) -> None:
    result = read_site(site.write())
    gate_b = next(c for c in result.spec.checkpoints if c.code == "gate-b")
    assert [ln.code for ln in gate_b.lanes] == ["v1"]
    assert result.lengths_m["fence"] == pytest.approx(200, abs=1.5)
    assert ("lane", "gate-a/l1") in result.geometry


def test_unknown_zone_reference_is_reported_at_its_line(site: SiteFolder) -> None:
    site.data["checkpoints"][0]["to_zone"] = "9"
    site.write()
    problem = only(problems_of(site.root), "unknown_reference")
    assert problem.location == f"site.yaml:{site.line_of('to_zone', after='gate-a')}"
    assert problem.field == "checkpoints[0].to_zone"
    assert "'9'" in problem.message


@pytest.mark.parametrize(
    ("section", "index", "key", "value"),
    [
        ("zones", 0, "venue", "nowhere"),
        ("zones", 1, "parent", "7"),
        ("checkpoints", 1, "from_zone", "8"),
        ("checkpoints", 0, "venue", "nowhere"),
        ("devices", 0, "lane", "gate-a/l9"),
        ("devices", 1, "segment", "nowhere"),
        ("cameras", 0, "venue", "nowhere"),
    ],
)
def test_every_kind_of_unknown_reference_is_reported(
    site: SiteFolder, section: str, index: int, key: str, value: str
) -> None:
    site.data[section][index][key] = value
    site.write()
    problem = only(problems_of(site.root), "unknown_reference")
    assert problem.field == f"{section}[{index}].{key}"
    assert problem.location.startswith("site.yaml:")


def test_feature_with_unknown_ref_is_reported_by_feature_id(site: SiteFolder) -> None:
    site.features.append(
        {
            "type": "Feature",
            "id": "stray",
            "properties": {"kind": "camera", "ref": "cam-9"},
            "geometry": point(5, 5),
        }
    )
    site.write()
    problem = only(problems_of(site.root), "unknown_reference")
    assert problem.location == "geometry.geojson#stray"
    assert problem.field == "properties.ref"


def test_item_without_geometry_is_reported_at_its_line(site: SiteFolder) -> None:
    site.features = [f for f in site.features if f["id"] != "camera:cam-1"]
    site.write()
    problem = only(problems_of(site.root), "missing_geometry")
    assert problem.location == f"site.yaml:{site.line_of('code: cam-1')}"


def test_duplicate_zone_number_is_reported_at_the_second(site: SiteFolder) -> None:
    site.data["zones"][1]["number"] = "1"
    site.data["zones"][1].pop("parent")
    site.data["checkpoints"][1]["to_zone"] = "1"
    site.data["checkpoints"][1].pop("from_zone")
    site.write()
    problems = problems_of(site.root)
    problem = only(problems, "duplicate")
    assert problem.field == "zones[1].number"
    assert problem.location == f"site.yaml:{site.line_of('name: 内场') - 1}"
    assert "first at line" in problem.message


def test_duplicate_codes_of_checkpoints_lanes_and_devices(site: SiteFolder) -> None:
    site.data["checkpoints"][1]["code"] = "gate-a"
    site.data["checkpoints"][0]["lanes"][1]["code"] = "l1"
    site.data["devices"][2]["external_id"] = "FC-1"
    site.write()
    dupes = [p.field for p in problems_of(site.root) if p.code == "duplicate"]
    assert "checkpoints[1].code" in dupes
    assert "checkpoints[0].lanes[1].code" in dupes
    assert "devices[2].external_id" in dupes


def test_polygon_that_does_not_close(site: SiteFolder) -> None:
    site.feature("zone:2")["geometry"]["coordinates"][0][-1] = ll(-100, 90)
    site.write()
    problem = only(problems_of(site.root), "polygon_not_closed")
    assert problem.location == "geometry.geojson#zone:2"


def test_self_intersecting_polygon_is_explained(site: SiteFolder) -> None:
    bowtie = [ll(-100, -100), ll(100, 100), ll(100, -100), ll(-100, 100), ll(-100, -100)]
    site.feature("zone:2")["geometry"]["coordinates"] = [bowtie]
    site.write()
    problem = only(problems_of(site.root), "invalid_polygon")
    assert problem.location == "geometry.geojson#zone:2"
    assert "Self-intersection" in problem.message


def test_checkpoint_far_outside_the_zone_it_guards(site: SiteFolder) -> None:
    site.feature("checkpoint:gate-b")["geometry"] = point(0, 160)
    site.write()
    problem = only(problems_of(site.root), "checkpoint_outside_zone")
    assert problem.location == "geometry.geojson#checkpoint:gate-b"
    assert "60 m outside zone 2" in problem.message


def test_checkpoint_a_little_outside_its_zone_is_accepted(site: SiteFolder) -> None:
    site.feature("checkpoint:gate-b")["geometry"] = point(0, 118)
    read_site(site.write())


def test_lane_without_checkpoint(site: SiteFolder) -> None:
    del site.data["lanes"][0]["checkpoint"]
    site.write()
    problem = only(problems_of(site.root), "lane_without_checkpoint")
    assert problem.location == f"site.yaml:{site.line_of('code: v1')}"
    assert problem.field == "lanes[0]"


def test_lane_naming_an_unknown_checkpoint(site: SiteFolder) -> None:
    site.data["lanes"][0]["checkpoint"] = "gate-z"
    site.write()
    problem = only(problems_of(site.root), "unknown_reference")
    assert problem.field == "lanes[0].checkpoint"


def test_coordinates_out_of_range(site: SiteFolder) -> None:
    site.feature("camera:cam-1")["geometry"]["coordinates"] = [200.0, 30.7]
    site.feature("zone:1")["geometry"]["coordinates"][0][1] = [120.4, 95.0]
    site.write()
    problems = [p for p in problems_of(site.root) if p.code == "coordinate_out_of_range"]
    assert {p.location for p in problems} == {
        "geometry.geojson#camera:cam-1",
        "geometry.geojson#zone:1",
    }


def test_invalid_yaml_syntax_gives_the_line(site: SiteFolder) -> None:
    text = "event:\n  code: x\n  name: [unclosed\nvenues: []\n"
    site.write(yaml_text=text)
    problem = only(problems_of(site.root), "yaml_syntax")
    assert problem.location in {"site.yaml:3", "site.yaml:4"}


def test_invalid_json_gives_the_line(site: SiteFolder) -> None:
    site.write(geojson_text='{"type": "FeatureCollection",\n "features": [\n  {oops}\n]}')
    problem = only(problems_of(site.root), "json_syntax")
    assert problem.location == "geometry.geojson:3"


def test_wrong_types_and_missing_fields(site: SiteFolder) -> None:
    site.data["cameras"][0]["height_m"] = "tall"
    del site.data["zones"][0]["name"]
    site.data["venues"][0]["colour"] = "red"
    site.write()
    problems = problems_of(site.root)
    by_field = {p.field: p.code for p in problems}
    assert by_field["cameras[0].height_m"] == "invalid_type"
    assert by_field["zones[0].name"] == "missing_field"
    assert by_field["venues[0].colour"] == "unknown_field"
    height = next(p for p in problems if p.field == "cameras[0].height_m")
    assert height.location == f"site.yaml:{site.line_of('height_m')}"


def test_invalid_enum_values(site: SiteFolder) -> None:
    site.data["checkpoints"][0]["kind"] = "boat"
    site.data["perimeter_segments"][0]["technology"] = "laser"
    site.data["checkpoints"][1]["lanes"] = [{"code": "x", "name": "x", "kind": "teleport"}]
    site.write()
    fields = {p.field for p in problems_of(site.root) if p.code == "invalid_choice"}
    assert fields == {
        "checkpoints[0].kind",
        "perimeter_segments[0].technology",
        "checkpoints[1].lanes[0].kind",
    }


def test_alarm_section_beyond_the_segment(site: SiteFolder) -> None:
    site.data["perimeter_segments"][0]["sections"][1]["end_m"] = 260
    site.write()
    problem = only(problems_of(site.root), "section_out_of_range")
    assert problem.field == "perimeter_segments[0].sections[1]"
    assert "200.2 m long" in problem.message


def test_overlapping_alarm_sections(site: SiteFolder) -> None:
    site.data["perimeter_segments"][0]["sections"][1]["start_m"] = 80
    site.write()
    problem = only(problems_of(site.root), "section_overlap")
    assert problem.field == "perimeter_segments[0].sections[1]"


def test_floor_not_below_ceiling(site: SiteFolder) -> None:
    site.data["airspace"][0]["floor_m"] = 300
    site.write()
    problem = only(problems_of(site.root), "floor_not_below_ceiling")
    assert problem.location == f"site.yaml:{site.line_of('floor_m')}"


def test_window_without_offset(site: SiteFolder) -> None:
    site.data["airspace"][0]["active_windows"][0]["start"] = "2030-05-10T06:00:00"
    site.write()
    only(problems_of(site.root), "naive_datetime")


def test_duplicate_yaml_key(site: SiteFolder) -> None:
    site.write()
    text = site.yaml_text().replace(
        "  name_en: Hall\n", "  name_en: Hall\n  name_en: Hall again\n", 1
    )
    site.write(yaml_text=text)
    problem = only(problems_of(site.root), "duplicate_key")
    assert problem.location == f"site.yaml:{site.line_of('Hall again')}"


def test_zone_parent_cycle(site: SiteFolder) -> None:
    site.data["zones"][0]["parent"] = "2"
    site.write()
    assert any(p.code == "reference_cycle" for p in problems_of(site.root))


def test_missing_files(tmp_path: Path) -> None:
    problems = problems_of(tmp_path)
    assert {(p.location, p.code) for p in problems} == {
        ("site.yaml", "missing_file"),
        ("geometry.geojson", "missing_file"),
    }


def test_every_problem_is_listed_not_just_the_first(site: SiteFolder) -> None:
    site.data["checkpoints"][0]["to_zone"] = "9"
    site.data["airspace"][0]["floor_m"] = 900
    site.data["perimeter_segments"][0]["sections"][1]["start_m"] = 50
    site.feature("camera:cam-1")["geometry"]["coordinates"] = [0.0, 100.0]
    site.write()
    codes = {p.code for p in problems_of(site.root)}
    assert {
        "unknown_reference",
        "floor_not_below_ceiling",
        "section_overlap",
        "coordinate_out_of_range",
    } <= codes


def test_yaml_problems_come_in_line_order(site: SiteFolder) -> None:
    site.data["devices"][0]["kind"] = "toaster"
    site.data["zones"][0]["venue"] = "nowhere"
    site.write()
    problems = problems_of(site.root)
    lines = [int(p.location.split(":")[1]) for p in problems if p.location[:9] == "site.yaml"]
    assert lines == sorted(lines)


def test_enums_match_the_model_choices() -> None:
    from typing import get_args

    from anbao.sites import models

    pairs = [
        (s.PhaseKind, models.PhaseKind),
        (s.CheckpointKind, models.CheckpointKind),
        (s.LaneKind, models.LaneKind),
        (s.Technology, models.SensorTechnology),
        (s.CameraKind, models.CameraKind),
        (s.DeviceKind, models.DeviceKind),
    ]
    for literal, choices in pairs:
        assert set(get_args(literal)) == set(choices.values)


def test_write_then_read_gives_the_same_site_and_the_same_bytes(
    site: SiteFolder, tmp_path: Path
) -> None:
    first = read_site(site.write())
    write_site(tmp_path / "out", first)
    second = read_site(tmp_path / "out")
    assert second.spec == first.spec
    assert second.geometry == first.geometry
    assert render_site_yaml(second.spec) == (tmp_path / "out" / "site.yaml").read_text("utf-8")
    assert render_geometry(second) == (tmp_path / "out" / "geometry.geojson").read_text("utf-8")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lon=st.one_of(
        st.floats(min_value=180.0, exclude_min=True, allow_infinity=False),
        st.floats(max_value=-180.0, exclude_max=True, allow_infinity=False),
        st.floats(min_value=-180, max_value=180),
    ),
    lat=st.one_of(
        st.floats(min_value=90.0, exclude_min=True, allow_infinity=False),
        st.floats(max_value=-90.0, exclude_max=True, allow_infinity=False),
    ),
    kind=st.sampled_from(["camera:cam-1", "checkpoint:gate-a", "device:GS-gate-a-l1"]),
)
def test_any_coordinate_out_of_range_is_reported(
    tmp_path: Path, lon: float, lat: float, kind: str
) -> None:
    folder = SiteFolder(tmp_path / f"h{abs(hash((lon, lat, kind)))}")
    folder.feature(kind)["geometry"]["coordinates"] = [lon, lat]
    folder.write()
    problems = problems_of(folder.root)
    assert any(
        p.code == "coordinate_out_of_range" and p.location == f"geometry.geojson#{kind}"
        for p in problems
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(yaml_text=st.text(max_size=200), features=st.lists(json_values, max_size=4))
def test_any_input_gives_problems_never_a_crash(
    tmp_path: Path, yaml_text: str, features: list[object]
) -> None:
    folder = SiteFolder(tmp_path / f"f{abs(hash((yaml_text, repr(features))))}")
    folder.features = features  # type: ignore[assignment]
    folder.write(yaml_text=yaml_text)
    assert problems_of(folder.root)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    section=st.sampled_from(["zones", "checkpoints", "cameras", "devices", "airspace"]),
    key=st.sampled_from(["name", "kind", "venue", "number", "code", "ceiling_m", "lanes"]),
    value=json_values,
)
def test_any_bad_field_value_is_a_problem_or_accepted(
    tmp_path: Path, section: str, key: str, value: object
) -> None:
    folder = SiteFolder(tmp_path / f"v{abs(hash((section, key, repr(value))))}")
    folder.data[section][0][key] = value
    folder.write()
    error: DomainError | None = None
    try:
        read_site(folder.root)
    except DomainError as exc:
        error = exc
    if error is not None:
        assert error.code == "sites.invalid_site_files"
        assert all(p.location for p in error.problems)
