"""``anbao serve``: serve an existing instance over ASGI (uvicorn)."""

from __future__ import annotations

import contextlib
import os
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from anbao.core import clock


def run_server(*, host: str, port: int, workers: int = 1, access_log: bool = False) -> None:
    """Serve the ASGI application until interrupted."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "anbao.asgi:application",
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        lifespan="off",
        access_log=access_log,
    )
    server = uvicorn.Server(config)
    if workers <= 1:
        server.run()
        return
    sock = config.bind_socket()
    # uvicorn's shared socket reports protocol 0, so asyncio skips TCP_NODELAY on the accepted
    # connections and every small answer waits out the client's delayed ACK (40 ms). Linux
    # passes the option on from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()


class Command(BaseCommand):
    """Serve the UI and API."""

    help = "Serve the UI and API of an existing instance at http://HOST:PORT."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the options."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument(
            "--clock-start",
            help="run simulated time from this ISO 8601 instant (drills, benchmarks, replays)",
        )
        parser.add_argument("--clock-speed", type=float, default=1.0)
        parser.add_argument(
            "--access-log", action="store_true", help="log every request (off: it costs CPU)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        """Serve until interrupted, refusing an instance whose database is not migrated."""
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"the database has {len(pending)} unapplied migrations: run `anbao migrate` "
                "(or `anbao demo` for a demo instance) first"
            )
        if opts.get("clock_start"):
            try:
                start = datetime.fromisoformat(opts["clock_start"])
                os.environ[clock.CLOCK_ENV] = clock.clock_env(start, opts["clock_speed"])
            except ValueError as exc:
                raise CommandError(f"--clock-start: {exc}") from None
        # Each server process (every worker inherits this) relays bus events to the others
        # and hears the ingestion worker's (anbao.core.relay), and runs the periodic jobs
        # (anbao.core.housekeeping).
        os.environ["ANBAO_SERVER_PROCESS"] = "1"
        run_server(
            host=opts["host"],
            port=opts["port"],
            workers=opts["workers"],
            access_log=opts["access_log"],
        )
