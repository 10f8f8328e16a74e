"""How a scan's write costs on PostgreSQL, by batch size: the one-scan statement, a transaction
of one-scan statements, and the batch statement (``scan_writer.write_group``).

Per scan it reports the wall time, this process's CPU and the PostgreSQL backend's CPU (read
from /proc, so PostgreSQL must run on this machine). Run it on the database that
``bench_scan.py --database URL`` leaves behind (its demo site and accreditations):

Run: .venv/bin/python bench/scan_write_costs.py --database postgres://postgres@127.0.0.1:5432/anbao_bench
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


def main() -> int:
    """Measure the three ways of storing batches of 1, 2 and 4 scans."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="postgres://... left by bench_scan.py")
    parser.add_argument("--scans", type=int, default=4000, help="scans per measurement")
    opts = parser.parse_args()
    os.environ["ANBAO_DATABASE_URL"] = opts.database
    os.environ.setdefault("ANBAO_HOME", tempfile.mkdtemp(prefix="anbao-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anbao.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from anbao.accreditation.models import Accreditation
    from anbao.screening import decisions as d
    from anbao.screening import scan_writer
    from anbao.sites.models import Device

    print(describe())
    device = Device.objects.select_related("lane__checkpoint").get(external_id="GS-wicc-n-l1")
    assert device.lane is not None
    ctx = d.lane_context(
        event_id=device.event_id,
        checkpoint_code=device.lane.checkpoint.code,
        lane_code=device.lane.code,
    )
    holders = list(Accreditation.objects.values_list("id", flat=True)[:2000])
    d.tune_for_scans()
    backend = connection.connection.info.backend_pid
    counter = itertools.count()
    inside: dict[int, bool] = {}

    def backend_cpu() -> float:
        fields = Path(f"/proc/{backend}/stat").read_text().split(")")[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def write() -> Any:
        n = next(counter)
        acc = holders[n % len(holders)]
        was_in = inside.get(acc, False)
        inside[acc] = not was_in
        holder = d._Holder(
            cred_revoked=False,
            accreditation_id=acc,
            acc_status="approved",
            acc_flag="",
            person_id=None,
            name="X",
            photo_sha256="",
            category="VIP",
        )
        now = timezone.now()
        zones = (ctx.from_zone_id, ctx.to_zone_id)
        return d.ScanWrite(
            out=d._Outcome("allow", "ok", cid="ab" * 16, holder=holder),
            ctx=ctx,
            direction="exit" if was_in else "entry",
            device_id=device.pk,
            operator_id=None,
            manual=False,
            device_time=now,
            now=now,
            nonce=f"bw{time.time_ns()}-{n}",
            source="device:bench-write",
            receipt={"status": "allow", "reason": "ok", "flags": []},
            move=zones[::-1] if was_in else zones,
        )

    def one_by_one(ws: list[Any]) -> list[Any]:
        return [d.write_in_one_statement(w) for w in ws]

    def one_transaction(ws: list[Any]) -> list[Any]:
        with transaction.atomic():
            return [d.write_in_one_statement(w) for w in ws]

    ways: list[tuple[str, Callable[[list[Any]], list[Any]]]] = [
        ("one-scan statements, autocommit", one_by_one),
        ("one-scan statements, one transaction", one_transaction),
        ("write_group (batch statement)", scan_writer.write_group),
    ]
    print(f"{'batch':>5}  {'way':38} {'wall':>8} {'worker CPU':>11} {'PostgreSQL CPU':>15}")
    for size in (1, 2, 4):
        for name, way in ways:
            if size == 1 and way is one_transaction:
                continue
            batches = [[write() for _ in range(size)] for _ in range(opts.scans // size)]
            t0, c0, b0 = time.perf_counter(), time.process_time(), backend_cpu()
            for ws in batches:
                results = way(ws)
                assert all(isinstance(r, int) for r in results), results
            t1, c1, b1 = time.perf_counter(), time.process_time(), backend_cpu()
            n = len(batches) * size
            print(
                f"{size:>5}  {name:38} {(t1 - t0) / n * 1e6:6.0f} µs "
                f"{(c1 - c0) / n * 1e6:8.0f} µs {(b1 - b0) / n * 1e6:12.0f} µs   (per scan)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
