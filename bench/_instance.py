"""A demo instance for the benchmarks: migrated, with the site, people and issued credentials."""

from __future__ import annotations

import os
from pathlib import Path


def demo_instance(home: Path) -> None:
    """Set Django up on a fresh ``home`` and fill it as ``anbao demo`` does (no simulation)."""
    os.environ["ANBAO_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anbao.settings")
    import django

    django.setup()
    from anbao.demo import setup

    state = setup.DemoState()
    setup.migrate()
    setup.ensure_site(state)
    setup.ensure_demo_data(state)
    setup.ensure_accreditations(state)


def fresh_postgres(url: str) -> None:
    """Drop and create the benchmark database named in ``url``, and point anbao at it."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["ANBAO_DATABASE_URL"] = url
