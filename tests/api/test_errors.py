"""One error format: malformed, oversized and wrongly typed payloads get a clear, coded 4xx."""

from __future__ import annotations

import json

import pytest

from anbao.accounts.roles import Role


@pytest.mark.django_db
def test_malformed_json_names_the_problem(client_for) -> None:  # type: ignore[no-untyped-def]
    r = client_for(Role.ADMIN).post(
        "/api/accounts/users", data=b"{not json", content_type="application/json"
    )
    assert r.status_code in (400, 422)
    assert r.json()["error"]["code"].startswith("request.")


@pytest.mark.django_db
def test_wrong_types_name_the_field(client_for) -> None:  # type: ignore[no-untyped-def]
    payload = {"username": 12, "role": "pilot", "venues": "not-a-list"}
    r = client_for(Role.ADMIN).post(
        "/api/accounts/users", data=json.dumps(payload), content_type="application/json"
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "request.invalid"
    fields = {p["field"] for p in err["problems"]}
    assert {"username", "role", "venues"} <= fields


@pytest.mark.django_db
def test_oversized_payload_is_refused(client_for) -> None:  # type: ignore[no-untyped-def]
    big = json.dumps({"username": "x" * (3 * 1024 * 1024), "role": "planner"})
    r = client_for(Role.ADMIN).post(
        "/api/accounts/users", data=big, content_type="application/json"
    )
    assert r.status_code in (400, 413)
    assert r.json()["error"]["code"] in {
        "request.too_large",
        "request.rejected",
        "request.malformed",
    }


@pytest.mark.django_db
def test_domain_error_keeps_its_code(client_for) -> None:  # type: ignore[no-untyped-def]
    payload = {"username": "dup", "role": "planner"}
    client = client_for(Role.ADMIN)
    first = client.post(
        "/api/accounts/users", data=json.dumps(payload), content_type="application/json"
    )
    second = client.post(
        "/api/accounts/users", data=json.dumps(payload), content_type="application/json"
    )
    assert first.status_code == 201
    assert first.json()["password"]
    assert second.status_code == 400
    err = second.json()["error"]
    assert err["code"] == "accounts.invalid_user"
    assert err["problems"][0]["field"] == "username"


@pytest.mark.django_db
def test_unknown_api_path_is_a_coded_404(client_for) -> None:  # type: ignore[no-untyped-def]
    r = client_for(Role.ADMIN).get("/api/sites/checkpoints/NO-SUCH")
    assert r.status_code == 404
    assert "code" in r.json()["error"]


@pytest.mark.django_db
def test_openapi_and_docs_need_a_login(client, client_for) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/openapi.json").status_code in (302, 401, 403)
    planner = client_for(Role.PLANNER)
    assert planner.get("/api/openapi.json").status_code == 200
    assert planner.get("/api/docs").status_code == 200
