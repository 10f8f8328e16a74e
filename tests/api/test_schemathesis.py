"""Property-based API tests from our own OpenAPI: no client input may cause a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from anbao.accounts import services as accounts
from anbao.accounts.roles import Role
from anbao.api import api

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"))
schema.app = get_wsgi_application()


@pytest.fixture
def admin_token(db) -> str:  # type: ignore[no-untyped-def]
    user = accounts.create_user(
        username="fuzz-admin", role=Role.ADMIN, password="correct-horse-battery", superuser=True
    ).user
    return accounts.issue_api_token(user=user, name="fuzz")


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_has_no_server_errors(case, admin_token) -> None:  # type: ignore[no-untyped-def]
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code < 500, (
        f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400:
        body = response.json()
        assert "code" in body["error"], body
