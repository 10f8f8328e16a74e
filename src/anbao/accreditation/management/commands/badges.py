"""``anbao badges print --out FILE.pdf [--category C] [--only-new] ...``: print badges.

Also ``anbao badges warn`` (which selected badges were printed before) and
``anbao badges templates`` (the templates a job can use).
"""

from __future__ import annotations

import shutil
import zipfile
from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from anbao.accreditation import badges as B
from anbao.accreditation import printing
from anbao.accreditation.models import BadgeTemplate, PrintJob, PrintJobStatus
from anbao.core.cli_support import cli_context
from anbao.core.errors import DomainError


def _ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError("--ids takes accreditation ids separated by commas") from exc


class Command(BaseCommand):
    """Badge production from the command line: a print job with a progress bar."""

    help = "Badges: `anbao badges print --out FILE.pdf [--category C] [--only-new]`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the subcommands."""
        sub = parser.add_subparsers(dest="action", required=True)
        prn = sub.add_parser("print", help="print badges to a PDF (a print job)")
        prn.add_argument("--out", type=Path, required=True, help="the PDF to write")
        self._selection(prn)
        prn.add_argument("--template", default=None, help="template name (default: the default)")
        prn.add_argument("--allow-reprint", action="store_true", help="reprint printed badges")
        prn.add_argument("--imposition", choices=["single", "a4"], default="single")
        warn = sub.add_parser("warn", help="list selected badges that were printed before")
        self._selection(warn)
        sub.add_parser("templates", help="list badge templates")

    @staticmethod
    def _selection(p: ArgumentParser) -> None:
        p.add_argument("--category", default=None, help="category code, e.g. D")
        p.add_argument("--only-new", action="store_true", help="leave out printed badges")
        p.add_argument("--ids", default=None, help="accreditation ids, comma-separated")

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the subcommand."""
        out = Console(file=cast("IO[str]", self.stdout), highlight=False, soft_wrap=True)
        with cli_context():
            if opts["action"] == "templates":
                self._templates(out)
            elif opts["action"] == "warn":
                self._warn(out, opts)
            else:
                self._print(out, opts)

    def _templates(self, out: Console) -> None:
        for name in B.DEFAULT_TEMPLATES:
            out.print(f"{name}  (bundled)", markup=False)
        for tpl in BadgeTemplate.objects.all():
            mark = "  default" if tpl.is_default else ""
            out.print(f"{tpl.name}  {tpl.size}, {tpl.sides} side(s){mark}", markup=False)

    def _warn(self, out: Console, opts: dict[str, Any]) -> None:
        before = printing.reprint_warning(
            category=opts["category"],
            only_new=opts["only_new"],
            accreditation_ids=_ids(opts["ids"]),
        )
        for p in before:
            out.print(
                f"accreditation {p.accreditation_id}: printed {p.prints} time(s), "
                f"last {p.last_printed_at:%Y-%m-%d %H:%M}",
                markup=False,
            )
        out.print(f"{len(before)} printed before", markup=False)

    def _print(self, out: Console, opts: dict[str, Any]) -> None:
        target: Path = opts["out"]
        if target.suffix.lower() != ".pdf":
            raise CommandError("--out must name a .pdf file")
        columns = (
            TextColumn("badges"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=out, transient=False) as bar:
            task = bar.add_task("print", total=None)

            def on_progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                job = printing.start_print_job(
                    category=opts["category"],
                    only_new=opts["only_new"],
                    accreditation_ids=_ids(opts["ids"]),
                    template=opts["template"],
                    allow_reprint=opts["allow_reprint"],
                    imposition=opts["imposition"],
                    background=False,
                    on_progress=on_progress,
                )
            except DomainError as exc:
                if exc.code == "badges.reprint":
                    for p in exc.detail.get("printed_before", []):
                        out.print(
                            f"already printed: accreditation {p['accreditation_id']} "
                            f"({p['prints']} time(s))",
                            markup=False,
                        )
                    exc.message += " Use --allow-reprint to print them again."
                raise
        self._finish(out, job, target)

    def _finish(self, out: Console, job: PrintJob, target: Path) -> None:
        for s in job.skipped:
            out.print(f"skipped accreditation {s['id']}: {s['reason']}", markup=False)
        if job.status != PrintJobStatus.DONE:
            raise CommandError(f"print job {job.pk} failed: {job.error}")
        source = Path(settings.MEDIA_ROOT) / job.output
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".zip":
            # A large job comes in parts: FILE-001.pdf, FILE-002.pdf, ...
            written = []
            with zipfile.ZipFile(source) as zf:
                for n, name in enumerate(zf.namelist(), start=1):
                    part = target.with_name(f"{target.stem}-{n:03d}.pdf")
                    with zf.open(name) as src, part.open("wb") as dst:
                        shutil.copyfileobj(src, dst)
                    written.append(part)
        else:
            shutil.copyfile(source, target)
            written = [target]
        names = ", ".join(str(p) for p in written)
        out.print(
            f"print job {job.pk}: {job.done} badges, {job.output_bytes / 1e6:.1f} MB -> {names}",
            markup=False,
        )
