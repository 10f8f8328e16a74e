"""``anbao user add NAME --role ROLE``: create a user and print a generated password once."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from anbao.accounts import services
from anbao.accounts.roles import Role
from anbao.core.cli_support import cli_context


class Command(BaseCommand):
    """Manage users from the command line."""

    help = "Manage users: `anbao user add NAME --role ROLE [--venue CODE] [--checkpoint CODE]`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare the subcommands."""
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a user")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument(
            "--venue", action="append", default=[], help="scope to a venue (repeatable)"
        )
        add.add_argument("--checkpoint", action="append", default=[], help="scope to a checkpoint")
        add.add_argument("--language", default="zh-hans", choices=["zh-hans", "en"])
        add.add_argument("--email", default="")
        add.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        tok = sub.add_parser("token", help="issue a personal API token for a user")
        tok.add_argument("username")
        tok.add_argument("--name", default="cli")

    def handle(self, *args: Any, **opts: Any) -> None:
        """Run the chosen subcommand."""
        with cli_context():
            if opts["action"] == "add":
                self._add(opts)
            else:
                self._token(opts)

    def _add(self, opts: dict[str, Any]) -> None:
        password = sys.stdin.readline().rstrip("\n") if opts["password_stdin"] else None
        created = services.create_user(
            username=opts["username"],
            role=opts["role"],
            password=password,
            email=opts["email"],
            language=opts["language"],
            venue_codes=opts["venue"],
            checkpoint_codes=opts["checkpoint"],
            superuser=opts["role"] == Role.ADMIN,
        )
        self.stdout.write(f"created user {created.user.username} with role {created.user.role}")
        if created.password:
            self.stdout.write(f"password (shown once): {created.password}")

    def _token(self, opts: dict[str, Any]) -> None:
        from anbao.accounts.models import User

        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"accounts.unknown_user: no user {opts['username']!r}")
        token = services.issue_api_token(user=user, name=opts["name"])
        self.stdout.write(f"token (shown once): {token}")
