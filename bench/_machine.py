"""Describe the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform


def describe() -> str:
    """Return cores, RAM and Python version as one line."""
    mem_gib = 0.0
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {mem_gib:.0f} GiB RAM, {platform.machine()}, "
        f"Python {platform.python_version()}"
    )
