"""The ``anbao`` console script: Django's management commands, with anbao's own on top."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run ``anbao <command> ...`` (``anbao help`` lists every command)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anbao.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["anbao", *args])


if __name__ == "__main__":
    main()
