"""Helpers shared by the ``anbao`` management commands: the CLI audit context and errors."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError

from anbao.core import audit
from anbao.core.errors import DomainError
from anbao.core.models import AuditSource


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@contextmanager
def cli_context() -> Iterator[None]:
    """Run a command with the CLI as the audit source, and domain errors as clean failures."""
    ctx = audit.AuditContext(actor_label=f"cli:{_os_user()}", source=AuditSource.CLI)
    with audit.acting_as(ctx):
        try:
            yield
        except DomainError as exc:
            lines = [f"{exc.code}: {exc.message}"]
            for p in exc.problems:
                where = f"{p.location}: " if p.location else ""
                lines.append(f"  {where}{p.field}: {p.message}")
            raise CommandError("\n".join(lines)) from exc


def run_in_cli_context(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func`` inside :func:`cli_context`."""
    with cli_context():
        return func(*args, **kwargs)
