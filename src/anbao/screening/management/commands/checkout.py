"""``anbao checkout``: end the presences past each checkpoint's automatic check-out hour."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from anbao.core.cli_support import cli_context
from anbao.screening import occupancy


class Command(BaseCommand):
    """Run the automatic check-out once (from a timer, e.g. every 15 minutes)."""

    help = (
        "End every presence begun before its checkpoint's check-out hour (default 04:00 local). "
        "Run it from a timer every 15 minutes; running it again changes nothing."
    )

    def handle(self, *args: Any, **opts: Any) -> None:
        """End the due presences and say how many."""
        with cli_context():
            ended = occupancy.auto_checkout()
        self.stdout.write(f"ended {ended} presences")
