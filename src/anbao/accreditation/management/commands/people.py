"""``anbao people import FILE [--photos ZIP] [--dry-run] [--mode all|valid] [--errors OUT]``."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from anbao.accreditation import importing_store
from anbao.accreditation.importing_store import ImportReport
from anbao.core.cli_support import cli_context
from anbao.core.errors import DomainError
from anbao.sites import services as sites


class Command(BaseCommand):
    """Bulk registration of people from .xlsx or CSV, with photos from a zip."""

    help = "People: `anbao people import FILE`, `anbao people template OUT.xlsx`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the subcommands."""
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="check, then store a people file")
        imp.add_argument("file", type=Path)
        imp.add_argument("--photos", type=Path, default=None, help="zip of <id_number>.jpg|.png")
        imp.add_argument("--dry-run", action="store_true", help="list problems, store nothing")
        imp.add_argument("--mode", choices=importing_store.MODES, default="all")
        imp.add_argument("--errors", type=Path, default=None, help="write rejected rows here")
        imp.add_argument("--event", default=None, help="event code (default: the current one)")
        tpl = sub.add_parser("template", help="write the import template (.xlsx)")
        tpl.add_argument("out", type=Path)
        tpl.add_argument("--event", default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the subcommand; problems print as ``row N, column X: reason``."""
        out = Console(file=cast("IO[str]", self.stdout), highlight=False, soft_wrap=True)
        err = Console(file=cast("IO[str]", self.stderr), highlight=False, soft_wrap=True)
        with cli_context():
            event = sites.get_event(opts["event"])
            if opts["action"] == "template":
                data, _name, _type = importing_store.import_template(event)
                opts["out"].write_bytes(data)
                out.print(f"wrote {opts['out']}", markup=False)
                return
            self._import(out, err, event, opts)

    def _import(self, out: Console, err: Console, event: Any, opts: dict[str, Any]) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        data = path.read_bytes()
        photos = opts["photos"].read_bytes() if opts["photos"] else None
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("checking", total=None)

            def _progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                if opts["dry_run"]:
                    report = importing_store.preview_import(
                        data=data,
                        filename=path.name,
                        photos_zip=photos,
                        event=event,
                        progress=_progress,
                    )
                else:
                    report = importing_store.commit_import(
                        data=data,
                        filename=path.name,
                        mode=opts["mode"],
                        photos_zip=photos,
                        event=event,
                        progress=_progress,
                    )
            except DomainError as exc:
                for p in exc.problems:
                    err.print(f"{p.location}, column {p.field}: {p.message}", markup=False)
                raise CommandError(f"{exc.code}: {exc.message}") from exc
        self._print(out, err, report)
        if report.error_file is not None and opts["errors"]:
            opts["errors"].write_bytes(report.error_file)
            out.print(f"wrote the rejected rows to {opts['errors']}", markup=False)
        if report.errors and (opts["dry_run"] and opts["mode"] == "all"):
            raise CommandError(f"import.has_problems: {len(report.errors)} problems")

    def _print(self, out: Console, err: Console, report: ImportReport) -> None:
        for p in report.problems:
            tag = "" if p.severity == "error" else "warning: "
            err.print(f"{tag}{p.describe()}", markup=False)
        verb = "stored" if report.committed else "would store"
        count = report.stored if report.committed else report.valid
        out.print(
            f"{report.rows} rows, {report.valid} valid, {len(report.errors)} problems; "
            f"{verb} {count} people; {report.photos} photos; "
            f"new organisations: {len(report.new_organisations)}",
            markup=False,
        )
