"""``anbao serve``: serve an existing instance over ASGI (uvicorn)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def run_server(*, host: str, port: int, workers: int = 1) -> None:
    """Serve the ASGI application until interrupted."""
    import uvicorn

    uvicorn.run(
        "anbao.asgi:application",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        lifespan="off",
    )


class Command(BaseCommand):
    """Serve the UI and API."""

    help = "Serve the UI and API of an existing instance at http://HOST:PORT."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the options."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args: Any, **opts: Any) -> None:
        """Serve until interrupted, refusing an instance whose database is not migrated."""
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"the database has {len(pending)} unapplied migrations: run `anbao migrate` "
                "(or `anbao demo` for a demo instance) first"
            )
        run_server(host=opts["host"], port=opts["port"], workers=opts["workers"])
