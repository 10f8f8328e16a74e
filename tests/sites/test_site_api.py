"""The sites read API: shapes, errors, and a bounded number of queries per list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from anbao.accounts.roles import Role

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/sites/venues",
    "/api/sites/zones",
    "/api/sites/checkpoints",
    "/api/sites/lanes",
    "/api/sites/perimeter-segments",
    "/api/sites/airspace",
    "/api/sites/cameras",
    "/api/sites/devices",
]
ALL = [*LISTS, "/api/sites/event", "/api/sites/geojson", "/api/sites/summary"]
# Session + user for the login, the current event, the list and at most two prefetches.
MAX_QUERIES = 7
# The map reads nine tables (two of them prefetches) after the login and the current event.
MAX_MAP_QUERIES = 13


@pytest.fixture
def operator(client_for: Callable[[str], Client]) -> Client:
    return client_for(Role.CHECKPOINT_OPERATOR)


@pytest.mark.parametrize("url", ALL)
def test_every_route_answers_a_role_with_site_view(operator: Client, url: str) -> None:
    response = operator.get(url)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("url", [*ALL, "/api/sites/checkpoints/wicc-n"])
def test_anonymous_callers_are_refused(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.unauthenticated"


@pytest.mark.parametrize("url", [*LISTS, "/api/sites/geojson", "/api/sites/event"])
def test_lists_use_a_fixed_number_of_queries(
    operator: Client, url: str, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    operator.get(url)  # warm the session
    limit = MAX_MAP_QUERIES if url.endswith("geojson") else MAX_QUERIES
    with django_assert_max_num_queries(limit):
        assert operator.get(url).status_code == 200


def test_checkpoints_nest_their_lanes(operator: Client) -> None:
    body = operator.get("/api/sites/checkpoints").json()
    assert len(body) == 15
    assert sum(len(c["lanes"]) for c in body) == 60
    gate = next(c for c in body if c["code"] == "wicc-n")
    assert gate["to_zone"] == "1"
    assert gate["from_zone"] is None
    assert gate["lane_count"] == len(gate["lanes"]) == 6
    assert gate["venue"] == "wicc"


def test_one_checkpoint(operator: Client) -> None:
    body = operator.get("/api/sites/checkpoints/hall-main").json()
    assert (body["from_zone"], body["to_zone"]) == ("1", "2")
    assert [ln["code"] for ln in body["lanes"]] == ["l1", "l2", "l3", "l4", "l5", "l6"]


def test_unknown_checkpoint_is_a_404_with_a_code(operator: Client) -> None:
    response = operator.get("/api/sites/checkpoints/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "sites.unknown_checkpoint"


@pytest.mark.parametrize("code", ["nope", "bad%00code", "x" * 300])
def test_unknown_event_is_a_404_with_a_code(operator: Client, code: str) -> None:
    response = operator.get(f"/api/sites/zones?event={code}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "sites.unknown_event"


def test_event_summary_and_segments(operator: Client) -> None:
    event = operator.get("/api/sites/event").json()
    assert event["code"] == "wic2026"
    assert [p["kind"] for p in event["phases"]] == ["build_up", "rehearsal", "event", "tear_down"]
    summary = operator.get("/api/sites/summary").json()
    assert summary["event"] == "wic2026"
    assert summary["lanes"] == 60
    segments = operator.get("/api/sites/perimeter-segments").json()
    assert all(s["sections"] and s["length_m"] > 0 for s in segments)


def test_devices_and_lanes_name_what_they_serve(operator: Client) -> None:
    devices = {d["external_id"]: d for d in operator.get("/api/sites/devices").json()}
    assert devices["GS-wicc-n-l1"]["lane"] == "wicc-n/l1"
    assert devices["LCP-canal-n"]["segment"] == "canal-n"
    lanes = operator.get("/api/sites/lanes").json()
    assert {"ref": "wicc-n/l1", "checkpoint": "wicc-n"}.items() <= lanes[
        [ln["ref"] for ln in lanes].index("wicc-n/l1")
    ].items()


def test_geojson_is_a_feature_collection(operator: Client) -> None:
    body = operator.get("/api/sites/geojson").json()
    assert body["type"] == "FeatureCollection"
    assert {f["properties"]["kind"] for f in body["features"]} >= {"zone", "checkpoint", "section"}
