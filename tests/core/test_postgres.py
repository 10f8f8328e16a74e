"""Checks that only mean something on PostgreSQL; .ci/run reruns the suite there."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.conftest import require_service

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_suite_runs_on_postgresql() -> None:
    require_service(
        os.environ.get("ANBAO_TEST_POSTGRES") == "1",
        "PostgreSQL run not requested (set ANBAO_TEST_POSTGRES=1 and ANBAO_DATABASE_URL)",
    )
    assert connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute("select count(*) from sites_checkpoint")
        assert cur.fetchone()[0] >= 15
