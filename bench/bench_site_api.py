"""Benchmark the site map page and every ``/api/sites`` GET on the Wuzhen demo site.

Run: ``.venv/bin/python bench/bench_site_api.py [--n 200] [--budget-ms 150]``

It builds a throw-away ANBAO_HOME (SQLite), migrates, loads the demo site, logs a Django
test client in as an admin and times each URL in-process (the whole Django stack, no
network): N requests after a short warm-up. It prints p50/p95/max in ms and exits 1 when
any p95 exceeds the budget.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The floor: the smallest authenticated endpoint, through the same middleware and auth.
FLOOR_URL = "/api/core/health"
URLS = [
    FLOOR_URL,
    "/sites/map/",
    "/api/sites/event",
    "/api/sites/venues",
    "/api/sites/zones",
    "/api/sites/checkpoints",
    "/api/sites/checkpoints/wicc-n",
    "/api/sites/lanes",
    "/api/sites/perimeter-segments",
    "/api/sites/airspace",
    "/api/sites/cameras",
    "/api/sites/devices",
    "/api/sites/geojson",
    "/api/sites/summary",
]
WARM_UP = 5


def machine() -> str:
    """Describe the machine: CPU model, cores, RAM, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        ram_text = f"{ram:.1f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        ram_text = "RAM unknown"
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram_text}, "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="requests per URL")
    parser.add_argument("--budget-ms", type=float, default=150.0, help="p95 budget per URL")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ANBAO_HOME")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="anbao-bench-"))
    os.environ["ANBAO_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "anbao.settings"
    os.environ.pop("ANBAO_DATABASE_URL", None)
    try:
        return run(args.n, args.budget_ms)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def run(n: int, budget_ms: float) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from anbao.accounts import services as accounts
    from anbao.accounts.roles import Role
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH

    # The test client calls itself "testserver"; the instance's own hosts do not include it.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    result = sites.load_site(DEMO_SITE_PATH)
    loaded = time.perf_counter()
    user = accounts.create_user(username="bench-admin", role=Role.ADMIN, superuser=True).user
    client = Client()
    client.force_login(user)

    print(f"machine: {machine()}")
    print(f"database: {connection.vendor} ({settings.DATABASES['default']['NAME']})")
    print(
        f"set-up: migrate {migrated - started:.1f} s, load demo site {loaded - migrated:.2f} s "
        f"({sum(result.counts.values())} objects)"
    )
    print(f"requests: {n} per URL after {WARM_UP} warm-up, in-process Django test client")
    print()
    header = f"{'URL':34} {'status':>6} {'KiB':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    over: list[str] = []
    p95s: dict[str, float] = {}
    for url in URLS:
        first = client.get(url)
        if first.status_code != 200:
            print(f"{url:34} {first.status_code:>6}  (skipped: not 200)")
            if url.startswith("/api/"):
                over.append(f"{url} answered {first.status_code}")
            continue
        for _ in range(WARM_UP - 1):
            client.get(url)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                over.append(f"{url} answered {response.status_code}")
                break
        p50, p95 = statistics.median(times), percentile(times, 95)
        p95s[url] = p95
        size = len(first.content) / 1024
        flag = "  OVER BUDGET" if p95 > budget_ms else ""
        print(f"{url:34} {200:>6} {size:>7.1f} {p50:>8.1f} {p95:>8.1f} {max(times):>8.1f}{flag}")
        if p95 > budget_ms:
            over.append(f"{url}: p95 {p95:.1f} ms > {budget_ms:.0f} ms")
    print()
    floor = p95s.get(FLOOR_URL)
    if floor:
        print(f"p95 as a multiple of the floor ({FLOOR_URL}, {floor:.1f} ms):")
        for url in ("/sites/map/", "/api/sites/geojson", "/api/sites/checkpoints"):
            if url in p95s:
                print(f"  {url} {p95s[url] / floor:.1f}x")
    if over:
        print("FAILED: " + "; ".join(over))
        return 1
    print(f"OK: every p95 is within {budget_ms:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
