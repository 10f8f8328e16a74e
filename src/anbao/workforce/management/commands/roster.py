"""``anbao roster``: rostering tools; ``benchmark`` runs the Shift Scheduling Benchmark."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Rostering from the command line (排班)."""

    help = (
        "`anbao roster benchmark DIR` solves the Shift Scheduling Benchmark instances in DIR "
        "(Curtois and Qu's format) and prints objective, best known, gap, proven bound and time."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Subcommands and their options."""
        sub = parser.add_subparsers(dest="action", required=True)
        bench = sub.add_parser(
            "benchmark", help="solve benchmark instances and print a table (基准测试)"
        )
        bench.add_argument("dir", type=Path, help="folder holding Instance*.txt")
        bench.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
        bench.add_argument("--workers", type=int, default=2, help="CP-SAT worker threads")
        bench.add_argument("--only", default="", help="instance numbers, e.g. 1,2,5")
        bench.add_argument(
            "--best-known",
            default="builtin",
            help="`builtin`, or a file of best known values (JSON object or `N,VALUE` lines)",
        )
        bench.add_argument("--seed", type=int, default=0)
        bench.add_argument("--json", type=Path, help="also write the rows to this JSON file")

    def handle(self, *args: Any, **opts: Any) -> None:
        """Dispatch to the subcommand."""
        action = opts["action"]
        if action == "benchmark":
            self._benchmark(opts)
        else:  # pragma: no cover - argparse refuses unknown actions first
            raise CommandError(f"unknown action {action}")

    def _benchmark(self, opts: dict[str, Any]) -> None:
        from anbao.workforce.ssb import benchmark
        from anbao.workforce.ssb.reader import SsbFormatError

        directory: Path = opts["dir"]
        if not directory.is_dir():
            raise CommandError(f"not a folder: {directory}")
        try:
            only = [int(x) for x in opts["only"].split(",") if x.strip()]
        except ValueError:
            raise CommandError(f"--only takes numbers like 1,2,5, not {opts['only']!r}") from None
        try:
            known = benchmark.load_best_known(opts["best_known"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"--best-known: {exc}") from exc
        files = benchmark.instance_files(directory, only or None)
        if not files:
            raise CommandError(f"no instance files (*.txt) in {directory}")
        try:
            rows = benchmark.run(
                files,
                time_limit=opts["time_limit"],
                workers=opts["workers"],
                best_known=known,
                seed=opts["seed"],
            )
        except SsbFormatError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(benchmark.table(rows))
        if opts["json"] is not None:
            opts["json"].write_text(
                json.dumps(benchmark.rows_json(rows), indent=2), encoding="utf-8"
            )
            self.stdout.write(f"wrote {opts['json']}")
