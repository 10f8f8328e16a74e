"""``anbao site load|validate|export PATH``: the site files in and out of the database."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from anbao.core.cli_support import cli_context
from anbao.core.errors import DomainError
from anbao.sites import services, siteio


class Command(BaseCommand):
    """Load, check or export a site folder (``site.yaml`` + ``geometry.geojson``)."""

    help = (
        "Site files: `anbao site load PATH`, `anbao site validate PATH`, `anbao site export PATH`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the subcommands."""
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="validate a site folder, then store it all or nothing")
        load.add_argument("path", type=Path)
        check = sub.add_parser("validate", help="validate a site folder without storing it")
        check.add_argument("path", type=Path)
        export = sub.add_parser("export", help="write an event's site files into a folder")
        export.add_argument("path", type=Path)
        export.add_argument("--event", default=None, help="event code (default: the current one)")

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the chosen subcommand; problems are listed one per line, then it exits 1."""
        # Through Django's wrappers, so that call_command(stdout=..., stderr=...) captures it.
        out = Console(file=cast("IO[str]", self.stdout), highlight=False, soft_wrap=True)
        err = Console(file=cast("IO[str]", self.stderr), highlight=False, soft_wrap=True)
        with cli_context():
            try:
                if opts["action"] == "load":
                    self._load(out, opts["path"])
                elif opts["action"] == "validate":
                    self._validate(out, opts["path"])
                else:
                    files = services.export_site(opts["path"], opts["event"])
                    for file in files:
                        out.print(f"wrote {file}", markup=False)
            except DomainError as exc:
                for p in exc.problems:
                    where = f"{p.location}: " if p.location else ""
                    err.print(f"{where}{p.field}: {p.message}", markup=False)
                raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _load(self, out: Console, path: Path) -> None:
        result = services.load_site(path)
        ev = result.event
        verb = "created" if result.created else "updated"
        table = Table(title=f"{ev.code}: {ev.name} / {ev.name_en} ({verb})")
        table.add_column("what")
        for col in ("count", "added", "changed", "removed"):
            table.add_column(col, justify="right")
        for key, count in result.counts.items():
            table.add_row(
                key.replace("_", " "),
                str(count),
                str(result.added.get(key, 0)),
                str(result.changed.get(key, 0)),
                str(result.removed.get(key, 0)),
            )
        out.print(table)

    def _validate(self, out: Console, path: Path) -> None:
        site = siteio.read_site(path)
        spec = site.spec
        lanes = sum(len(c.lanes) for c in spec.checkpoints)
        out.print(
            f"{path}: valid: event {spec.event.code}, {len(spec.zones)} zones, "
            f"{len(spec.checkpoints)} checkpoints, {lanes} lanes, "
            f"{len(spec.perimeter_segments)} segments, {len(spec.cameras)} cameras, "
            f"{len(spec.devices)} devices",
            markup=False,
        )
