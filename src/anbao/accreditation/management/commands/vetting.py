"""``anbao vetting import FILE [--event CODE]``: apply a police vetting result file."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from anbao.accreditation import vetting
from anbao.core.cli_support import cli_context
from anbao.sites import services as sites


class Command(BaseCommand):
    """Background vetting results (cleared, refused, pending) drive the lifecycle."""

    help = "Vetting: `anbao vetting import FILE` (columns id_number, result, reference, date)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the subcommands."""
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="apply a police result file")
        imp.add_argument("file", type=Path)
        imp.add_argument("--event", default=None, help="event code (default: the current one)")

    def handle(self, *args: Any, **opts: Any) -> None:
        """Apply the file; rows not applied print as ``row N, column X: reason``, exit 1."""
        out = Console(file=cast("IO[str]", self.stdout), highlight=False, soft_wrap=True)
        err = Console(file=cast("IO[str]", self.stderr), highlight=False, soft_wrap=True)
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with cli_context():
            report = vetting.import_vetting(
                data=path.read_bytes(), filename=path.name, event=sites.get_event(opts["event"])
            )
        for p in report.problems:
            err.print(p.describe(), markup=False)
        out.print(
            f"cleared {report.cleared}, refused {report.refused}, pending {report.pending}, "
            f"unchanged {report.unchanged}, problems {len(report.problems)}",
            markup=False,
        )
        if report.problems:
            raise CommandError(f"vetting.has_problems: {len(report.problems)} rows not applied")
