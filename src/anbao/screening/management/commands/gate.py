"""``anbao gate``: the offline lane gate client (see docs/gate.md); argv goes to its own CLI."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Run the gate client: ``anbao gate run|status|sync ...``."""

    help = "The offline lane gate: `anbao gate run|status|sync --home DIR ...` (docs/gate.md)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Take everything after ``gate`` as the gate CLI's own arguments."""
        parser.add_argument("argv", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv: list[str]) -> None:
        """Hand ``anbao gate ...`` to the gate CLI untouched (it has its own options)."""
        from anbao.gate import cli

        raise SystemExit(cli.main(argv[2:]))

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the gate CLI (for ``call_command("gate", ...)``)."""
        from anbao.gate import cli

        status = cli.main([*args, *opts.get("argv", [])])
        if status:
            raise CommandError(f"anbao gate exited with status {status}", returncode=status)
