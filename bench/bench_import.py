"""Benchmark the bulk import: 30,000 generated people, preview + commit, CSV and .xlsx.

Run: ``.venv/bin/python bench/bench_import.py [--rows 30000] [--budget-s 60]``

It builds a throw-away ANBAO_HOME (SQLite), migrates, loads the demo site, writes
``generate_people(N)`` as a UTF-8 CSV and as an .xlsx, and times, for each file, a preview and
then a commit into an empty database: in ``all`` mode when the preview found no errors, else in
``valid`` mode (the rejected rows are reported, not stored). The floor
is the time to read the same file with the csv module or openpyxl alone. It exits 1 when a
preview + commit takes longer than the budget.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe


def main() -> int:
    """Parse the arguments, run in a temporary ANBAO_HOME, return the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--budget-s", type=float, default=60.0, help="preview + commit budget")
    parser.add_argument("--keep", action="store_true", help="keep the temporary ANBAO_HOME")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="anbao-bench-import-"))
    os.environ["ANBAO_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "anbao.settings"
    os.environ.pop("ANBAO_DATABASE_URL", None)
    try:
        return run(args.rows, args.budget_s, home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def _files(rows: int, home: Path) -> tuple[bytes, bytes]:
    from openpyxl import Workbook

    from anbao.demo.people import DemoPerson, generate_people

    people = list(generate_people(rows))
    names = [f.name for f in fields(DemoPerson)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\r\n")
    writer.writeheader()
    for p in people:
        writer.writerow(asdict(p))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("people")
    ws.append(names)
    for p in people:
        ws.append(list(asdict(p).values()))
    out = io.BytesIO()
    wb.save(out)
    (home / "people.csv").write_text(buf.getvalue(), encoding="utf-8")
    return buf.getvalue().encode("utf-8"), out.getvalue()


def _floor(data: bytes, kind: str) -> float:
    t0 = time.perf_counter()
    if kind == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    else:
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    assert rows
    return time.perf_counter() - t0


def _ensure_tables() -> None:
    """Create the accreditation tables when their migration is not written yet."""
    from django.apps import apps
    from django.db import connection

    existing = set(connection.introspection.table_names())
    with connection.schema_editor() as editor:
        for model in apps.get_app_config("accreditation").get_models():
            if model._meta.db_table not in existing:
                editor.create_model(model)


def _wipe() -> None:
    from anbao.accreditation.models import (
        Accreditation,
        AccreditationStep,
        Organisation,
        Person,
    )
    from anbao.core.models import AuditEntry

    AccreditationStep.objects.all().delete()
    Accreditation.objects.all().delete()
    Person.objects.all().delete()
    Organisation.objects.all().delete()
    AuditEntry.objects.all().delete()


def run(rows: int, budget_s: float, home: Path) -> int:
    """Generate the files, time preview + commit for each, print the figures."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from anbao.accreditation import importing_store, services
    from anbao.accreditation.models import Person
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH

    call_command("migrate", verbosity=0)
    _ensure_tables()
    event = sites.load_site(DEMO_SITE_PATH).event
    services.ensure_categories(event)
    t0 = time.perf_counter()
    csv_data, xlsx_data = _files(rows, home)
    print(f"machine: {describe()}")
    print(f"database: {connection.vendor}; ANBAO_HOME is a temporary folder")
    print(
        f"generated {rows} rows in {time.perf_counter() - t0:.1f} s: "
        f"CSV {len(csv_data) / 2**20:.1f} MiB, xlsx {len(xlsx_data) / 2**20:.1f} MiB"
    )
    print()
    header = (
        f"{'file':6} {'floor s':>8} {'preview s':>10} {'commit s':>9} {'total s':>8} "
        f"{'rows/s':>8} {'x floor':>8} {'stored':>7} {'rejected':>9}  mode"
    )
    print(header)
    print("-" * len(header))
    failed: list[str] = []
    for kind, data in (("csv", csv_data), ("xlsx", xlsx_data)):
        _wipe()
        floor = _floor(data, kind)
        name = f"people.{kind}"
        t1 = time.perf_counter()
        preview = importing_store.preview_import(data=data, filename=name, event=event)
        t2 = time.perf_counter()
        mode = "valid" if preview.errors else "all"
        report = importing_store.commit_import(data=data, filename=name, mode=mode, event=event)
        t3 = time.perf_counter()
        total = t3 - t1
        stored = Person.objects.count()
        rejected = len(report.errors)
        assert stored == report.stored == preview.valid, (stored, report.stored, preview.valid)
        print(
            f"{kind:6} {floor:>8.2f} {t2 - t1:>10.2f} {t3 - t2:>9.2f} {total:>8.2f} "
            f"{rows / total:>8.0f} {total / floor:>8.1f} {stored:>7} {rejected:>9}  {mode}"
        )
        if total > budget_s:
            failed.append(f"{kind}: {total:.1f} s > {budget_s:.0f} s")
        if rejected:
            codes = sorted({p.code for p in report.errors})
            print(f"       rejected rows: {', '.join(codes)}")
    print()
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    print(f"OK: {rows} rows previewed and committed within {budget_s:.0f} s for each file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
