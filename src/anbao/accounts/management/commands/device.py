"""``anbao device enrol|rotate|revoke ID``: manage device credentials; enrolment shows a QR."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any, TextIO, cast

import segno
from django.core.management.base import BaseCommand

from anbao.accounts import services
from anbao.core.cli_support import cli_context
from anbao.sites.device_api import enrolment_payload


class Command(BaseCommand):
    """Manage device credentials."""

    help = "Device credentials: enrol (one-time code + QR), rotate, revoke."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the subcommands."""
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in [
            ("enrol", "issue a one-time enrolment code, shown as a QR"),
            ("rotate", "replace the device's token"),
            ("revoke", "revoke the device's token"),
        ]:
            p = sub.add_parser(name, help=text)
            p.add_argument("device_id")
        sub.choices["enrol"].add_argument(
            "--no-qr", action="store_true", help="print the code only"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the chosen subcommand."""
        device_id = opts["device_id"]
        with cli_context():
            if opts["action"] == "enrol":
                code = services.start_enrolment(device_id=device_id)
                self.stdout.write(f"enrolment code for {device_id} (valid 24 h, one use): {code}")
                if not opts.get("no_qr"):
                    qr = segno.make(enrolment_payload(device_id, code), error="m")
                    qr.terminal(out=cast(TextIO, self.stdout), compact=True)
            elif opts["action"] == "rotate":
                token = services.rotate_device_token(device_id=device_id)
                self.stdout.write(f"new token for {device_id} (shown once): {token}")
            else:
                services.revoke_device_token(device_id=device_id)
                self.stdout.write(f"revoked the credential of {device_id}")
