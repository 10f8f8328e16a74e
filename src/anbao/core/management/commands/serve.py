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
    if _socket_per_worker():
        _bind(host, port).close()  # a taken port fails here, once, not in every worker
        shared: Any = _WorkerSocket(host, port, config.backlog)
    else:
        shared = config.bind_socket()
        shared.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[shared]).run()


def _socket_per_worker() -> bool:
    """Whether each worker gets its own listening socket (ANBAO_SOCKET_PER_WORKER=1/0).

    On by default on PostgreSQL, where the workers run side by side. On SQLite one scan at a
    time holds the write lock whichever worker runs it, and spreading the connections evenly
    only adds lock hand-overs between processes (measured: more idle CPU, fewer scans).
    """
    from django.db import connection as db

    default = "1" if db.vendor == "postgresql" else "0"
    return os.environ.get("ANBAO_SOCKET_PER_WORKER", default) == "1"


class _WorkerSocket:
    """Stands in for the listening socket; each worker that receives it opens its own.

    With one shared socket, the first worker to wake accepts every connection waiting, so a
    burst of lane scanners connecting at once (a shift change, a network coming back) lands on
    one worker and leaves the others idle. Each worker instead listens on its own socket with
    SO_REUSEPORT, and the kernel spreads new connections across them.
    """

    def __init__(self, host: str, port: int, backlog: int) -> None:
        self.address = (host, port, backlog)

    def __reduce__(self) -> tuple[Any, tuple[str, int, int]]:
        return _listen, self.address


def _listen(host: str, port: int, backlog: int) -> Any:
    """Open a listening socket on ``host:port`` that other workers may share (SO_REUSEPORT)."""
    sock = _bind(host, port)
    sock.listen(backlog)
    return sock


def _bind(host: str, port: int) -> Any:
    """Bind a socket to ``host:port`` with SO_REUSEPORT, or fail naming the address."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    # Linux passes TCP_NODELAY on from the listening socket to the accepted ones: without it
    # every small answer waits out the client's delayed ACK (40 ms). uvicorn's own socket
    # reports protocol 0, so asyncio would not set it either.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from exc
    return sock


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
