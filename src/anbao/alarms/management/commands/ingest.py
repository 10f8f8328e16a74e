"""``anbao ingest``: the sensor ingestion worker, the broker's files, and a status line."""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from anbao.core.cli_support import cli_context


class Command(BaseCommand):
    """Run ingestion from MQTT, write the broker's ACL files, or show the dead letters."""

    help = (
        "`anbao ingest run` subscribes to the device broker and feeds the alarm pipeline; "
        "`anbao ingest broker-files --out DIR` writes Mosquitto's password, ACL and config "
        "files from the device registry; `anbao ingest status` counts dead letters and devices."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Subcommands and their options."""
        parser.add_argument("action", choices=["run", "broker-files", "status"])
        parser.add_argument("--event", help="event code (default: the current event)")
        parser.add_argument("--host", default=os.environ.get("ANBAO_MQTT_HOST", "127.0.0.1"))
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("ANBAO_MQTT_PORT", "1883"))
        )
        parser.add_argument("--username", default=os.environ.get("ANBAO_MQTT_USERNAME"))
        parser.add_argument(
            "--password-env",
            default="ANBAO_MQTT_PASSWORD",
            help="the environment variable holding the broker password",
        )
        parser.add_argument("--client-id", default="anbao-ingest")
        parser.add_argument(
            "--device-types",
            default="",
            help="comma-separated device types this worker takes (default: all); run one "
            "worker per group, each with its own --client-id",
        )
        parser.add_argument("--batch-max", type=int, default=500)
        parser.add_argument("--window-ms", type=float, default=20.0)
        parser.add_argument("--out", type=Path, help="broker-files: the folder to write")
        parser.add_argument(
            "--stats-file",
            type=Path,
            help="run: rewrite this JSON file with the counters every second",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        """Dispatch to the subcommand."""
        with cli_context():
            from anbao.alarms import queries
            from anbao.sites.models import Event

            if opts["event"]:
                event = Event.objects.filter(code=opts["event"]).first()
                if event is None:
                    raise CommandError(f"no event {opts['event']}")
            else:
                event = queries.require_event()
            action = opts["action"]
            if action == "run":
                self._run(event, opts)
            elif action == "broker-files":
                self._broker_files(event, opts)
            else:
                self._status(event)

    def _run(self, event: Any, opts: dict[str, Any]) -> None:
        from anbao.alarms.ingest import Pipeline
        from anbao.alarms.worker import IngestWorker, WorkerConfig

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        config = WorkerConfig(
            host=opts["host"],
            port=opts["port"],
            username=opts["username"],
            password=os.environ.get(opts["password_env"]),
            client_id=opts["client_id"],
            batch_max=opts["batch_max"],
            window_s=opts["window_ms"] / 1000.0,
            stats_file=opts["stats_file"],
            device_types=_device_types(opts["device_types"]),
        )
        from anbao.core import clock, housekeeping, relay

        # A drill runs simulated time: the same ANBAO_CLOCK as the server's (start, wall anchor,
        # speed) makes the worker stamp alarms on the server's clock.
        clock.install_from_environment()

        # The web process's big screens hear this worker's alarms through the relay; the
        # timers run here too, so escalation does not depend on the web server being up.
        bus_relay = relay.start_from_settings()
        housekeeping.start()
        worker = IngestWorker(Pipeline(event), config)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
        signal.signal(signal.SIGINT, lambda *_: worker.stop_event.set())
        worker.start()
        self.stdout.write(f"ingesting {event.code} from {config.host}:{config.port}")
        if bus_relay is None:
            self.stdout.write(
                "no bus relay (SQLite without Redis): screens served by another process "
                "see these alarms only when they reload"
            )
        self.stdout.flush()
        try:
            worker.run()
        finally:
            worker.stop()
            housekeeping.stop()
            relay.stop()
            t = worker.pipeline.totals
            self.stdout.write(
                f"stopped: {t.messages} messages, {t.accepted} accepted, "
                f"{t.duplicates} duplicates, {t.dead} dead letters"
            )

    def _broker_files(self, event: Any, opts: dict[str, Any]) -> None:
        from anbao.alarms import broker

        if opts["out"] is None:
            raise CommandError("broker-files needs --out DIR")
        password = os.environ.get(opts["password_env"])
        if not password:
            raise CommandError(
                f"set {opts['password_env']} to the ingestion worker's broker password"
            )
        files = broker.write_broker_files(
            event=event, out_dir=opts["out"], port=opts["port"], ingest_password=password
        )
        self.stdout.write(
            f"wrote {files.password_file}, {files.acl_file} and {files.config_file}: "
            f"{files.devices} devices admitted"
        )
        if files.skipped:
            self.stdout.write(f"skipped (no MQTT topics): {', '.join(files.skipped)}")

    def _status(self, event: Any) -> None:
        from anbao.alarms import queries

        dead = queries.dead_letters(limit=1)
        devices = queries.device_health(event)
        online = sum(1 for d in devices if d["online"])
        self.stdout.write(f"devices: {online} of {len(devices)} sensors online")
        self.stdout.write(f"dead letters: {dead['total']}")
        for code, n in dead["by_code"].items():
            self.stdout.write(f"  {code}: {n}")


def _device_types(text: str) -> tuple[str, ...]:
    from anbao.alarms.payloads import DEVICE_TYPES

    chosen = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in chosen if t not in DEVICE_TYPES]
    if unknown:
        raise CommandError(
            f"unknown device types {', '.join(unknown)}; known: {', '.join(sorted(DEVICE_TYPES))}"
        )
    return chosen
