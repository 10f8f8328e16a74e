"""``anbao demo``: a fresh (or reused) embedded instance with the Wuzhen site, then serve it."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from datetime import datetime
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from anbao.core import clock, simulation
from anbao.core.cli_support import cli_context
from anbao.demo import setup

#: Lanes where the demo runs real offline-capable gate clients (the rest are simulated in process).
DEMO_GATES = ("GS-wicc-n-l1", "GS-wicc-n-l2")


class Command(BaseCommand):
    """Set up and run the demo."""

    help = (
        "Set up the demo (migrate, admin, Wuzhen site, demo data, simulated devices) and serve it."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the options."""
        parser.add_argument("--no-serve", action="store_true", help="set up, print a summary, exit")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
        parser.add_argument("--start", help="simulated start time, ISO 8601 with offset")
        parser.add_argument(
            "--no-browser",
            action="store_true",
            help="do not open the big screen in the desktop's browser",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the set-up steps with a progress bar, then serve or summarise."""
        if not opts["speed"] > 0:
            raise CommandError("--speed must be positive")
        console = Console(file=cast(IO[str], self.stdout._out), highlight=False)
        state = setup.DemoState()
        steps = [
            ("migrate the database", setup.migrate),
            ("create the admin account", lambda: setup.ensure_admin(state)),
            ("load the Wuzhen demo site", lambda: setup.ensure_site(state)),
            ("create demo users", lambda: setup.ensure_demo_users(state)),
            ("generate demo people and guards", lambda: setup.ensure_demo_data(state)),
            ("accredit the demo people", lambda: setup.ensure_accreditations(state)),
            ("roster the guards", lambda: setup.ensure_workforce(state)),
        ]
        with cli_context():
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task("setting up", total=len(steps) + 1)
                for label, step in steps:
                    progress.update(task, description=label)
                    step()
                    progress.advance(task)
                progress.update(task, description="start the simulated devices")
                if not opts["no_serve"]:
                    from anbao.screening import simulation as traffic_sim

                    # Real gate clients take these lanes once the server is up.
                    traffic_sim.DRIVEN_BY_GATES.update(
                        ("wicc-n", d.rsplit("-", 1)[1]) for d in DEMO_GATES
                    )
                sim = self._start_simulation(opts)
                sim.tick()
                progress.advance(task)
            self._summary(console, state, sim)
            if opts["no_serve"]:
                sim.stop()
                return
            sim.start()
            from anbao.core.management.commands.serve import run_server

            lane_port = self._start_gates(opts)
            screen = f"http://{opts['host']}:{opts['port']}/dashboard/screen/"
            console.print(f"serving at http://{opts['host']}:{opts['port']}/  (Ctrl-C stops)")
            console.print(f"big screen: {screen}")
            if not opts["no_browser"]:
                self._open_when_up(opts, screen)
            # Periodic jobs (timers, replay frames) run in this process, as in `anbao serve`.
            os.environ["ANBAO_SERVER_PROCESS"] = "1"
            console.print(
                f"lane screen of the offline gate {DEMO_GATES[0]}: http://127.0.0.1:{lane_port}/"
            )
            try:
                run_server(host=opts["host"], port=opts["port"])
            finally:
                sim.stop()

    def _open_when_up(self, opts: dict[str, Any], url: str) -> None:
        """Open the big screen in the desktop's browser once the server answers (if any)."""
        import socket
        import threading
        import time
        import webbrowser

        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return  # a server without a desktop: the URL is printed above

        def run() -> None:
            for _ in range(300):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", opts["port"])) == 0:
                        break
                time.sleep(0.2)
            # The login page comes first and then leads to the screen.
            webbrowser.open(url)

        threading.Thread(target=run, name="demo-browser", daemon=True).start()

    def _start_gates(self, opts: dict[str, Any]) -> int:
        """Run real gate clients at two lanes against this server, once it answers."""
        import socket
        import threading
        import time

        from anbao.gate import sim as gate_sim
        from anbao.gate.lane import make_server
        from anbao.screening import drill
        from anbao.screening import simulation as traffic_sim

        root, specs = drill.prepare_gates(gates=len(DEMO_GATES), checkpoints=["wicc-n"])
        traffic_sim.DRIVEN_BY_GATES.update((s.checkpoint, s.lane) for s in specs)
        config = gate_sim.SimConfig(
            server=f"http://127.0.0.1:{opts['port']}",
            root_public=root,
            home=settings.ANBAO_HOME / "gates",
            minutes=7 * 24 * 60,
            start=clock.now(),
            speed=opts["speed"],
            clock=clock.now,
            photos=False,  # the lane screen fetches a photo from the server when online
        )
        lane_port = opts["port"] + 1

        def run() -> None:
            for _ in range(300):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", opts["port"])) == 0:
                        break
                time.sleep(0.2)
            running = gate_sim.start_sim(config, [s.as_json() for s in specs])
            make_server(running.gates[0], lane_port).serve_forever()

        threading.Thread(target=run, name="demo-gates", daemon=True).start()
        return lane_port

    def _start_simulation(self, opts: dict[str, Any]) -> simulation.Simulator:
        start = (
            datetime.fromisoformat(opts["start"]) if opts.get("start") else setup.simulation_start()
        )
        if start.tzinfo is None:
            raise CommandError("--start needs a UTC offset, e.g. 2026-11-08T06:00:00+08:00")
        clock.install(clock.SimulationClock(start=start, speed=opts["speed"]))
        return simulation.Simulator.from_registry(interval_s=1.0)

    def _summary(self, console: Console, state: setup.DemoState, sim: simulation.Simulator) -> None:
        from anbao.sites import services as sites

        event = sites.current_event()
        if event is None:
            raise CommandError("the demo site did not load")
        counts = sites.site_summary(event)
        table = Table(
            title=f"{event.name} / {event.name_en} ({event.start_date} to {event.end_date})"
        )
        table.add_column("what")
        table.add_column("count", justify="right")
        for key, value in counts.items():
            table.add_row(key.replace("_", " "), str(value))
        table.add_row("demo people (import file)", str(state.people))
        table.add_row("demo guards (import file)", str(state.guards))
        table.add_row("accreditations with a credential (this run)", str(state.accredited))
        if state.seats:
            table.add_row(
                "guard seats filled by the optimiser (this run)", f"{state.rostered}/{state.seats}"
            )
        table.add_row("simulated device groups", str(len(sim.devices)))
        table.add_row("simulated messages sent", str(sim.messages))
        console.print(table)
        console.print(f"instance: {settings.ANBAO_HOME}")
        local = clock.now().astimezone(ZoneInfo(event.time_zone))
        console.print(f"simulated time: {local.isoformat(timespec='seconds')} ({event.time_zone})")
        if state.admin_password:
            console.print(f"admin password (shown once): [bold]{state.admin_password}[/bold]")
        else:
            console.print(
                "admin exists; its password was shown at first run (`anbao changepassword admin`)."
            )
        for username, password in state.user_passwords.items():
            console.print(f"demo user {username}: {password}")
