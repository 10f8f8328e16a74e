"""Audit log reads: search with filters, and export the result as CSV or Excel."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from anbao.core import audit, clock
from anbao.core.models import AuditEntry

EXPORT_FORMATS = ("csv", "xlsx")
# A spreadsheet cell that starts with one of these is read as a formula by Excel; the
# audit log holds text typed by users, so such cells are prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 2000


@dataclass(frozen=True)
class AuditFilter:
    """What to look for in the audit log; dates are calendar days in ``tz``, both inclusive."""

    text: str = ""
    source: str = ""
    date_from: date | None = None
    date_to: date | None = None
    reads_only: bool = False
    tz: tzinfo = field(default_factory=timezone.get_current_timezone)

    def describe(self) -> dict[str, Any]:
        """Return the filter as a JSON-ready dict (for the export's own audit row)."""
        out = asdict(self)
        out.pop("tz")
        for key in ("date_from", "date_to"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return {k: v for k, v in out.items() if v not in ("", None, False)}


def _day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def search_audit(flt: AuditFilter) -> QuerySet[AuditEntry]:
    """Return the audit entries matching ``flt``, newest first."""
    qs = AuditEntry.objects.all()
    text = flt.text.strip()
    if text:
        qs = qs.filter(
            Q(actor_label__icontains=text)
            | Q(action__icontains=text)
            | Q(object_type__icontains=text)
            | Q(object_repr__icontains=text)
            | Q(object_id=text)
        )
    if flt.source:
        qs = qs.filter(source=flt.source)
    if flt.date_from is not None:
        qs = qs.filter(at__gte=_day_start(flt.date_from, flt.tz))
    if flt.date_to is not None:
        qs = qs.filter(at__lt=_day_start(flt.date_to + timedelta(days=1), flt.tz))
    if flt.reads_only:
        qs = qs.filter(is_read=True)
    return qs.order_by("-at", "-id")


def _headers() -> list[str]:
    return [
        _("Time"),
        _("Actor"),
        _("Source"),
        _("Action"),
        _("Object type"),
        _("Object ID"),
        _("Object"),
        _("Read of personal data"),
        _("IP address"),
        _("Before"),
        _("After"),
    ]


def spreadsheet_safe(value: str) -> str:
    """Neutralise a cell that a spreadsheet would run as a formula (leading = + - @)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _rows(entries: Iterable[AuditEntry], tz: tzinfo) -> Iterator[list[str]]:
    yes, no = _("yes"), _("no")
    for e in entries:
        yield [
            e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            spreadsheet_safe(e.actor_label),
            e.source,
            spreadsheet_safe(e.action),
            spreadsheet_safe(e.object_type),
            spreadsheet_safe(e.object_id),
            spreadsheet_safe(e.object_repr),
            yes if e.is_read else no,
            e.ip or "",
            spreadsheet_safe(_json(e.before)),
            spreadsheet_safe(_json(e.after)),
        ]


@dataclass(frozen=True)
class ExportFile:
    """An exported file: its bytes, its download name and its media type."""

    content: bytes
    filename: str
    content_type: str
    rows: int


def _csv(rows: Iterable[list[str]]) -> tuple[bytes, int]:
    buf = io.StringIO()
    # The BOM makes Excel read the file as UTF-8, so Chinese text shows correctly.
    buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_headers())
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return buf.getvalue().encode("utf-8"), count


def _xlsx(rows: Iterable[list[str]]) -> tuple[bytes, int]:
    from openpyxl import Workbook  # imported here: only exports need it

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("Audit log")[:31])
    ws.freeze_panes = "A2"
    widths = [20, 18, 8, 30, 22, 12, 40, 10, 16, 40, 40]
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.append(_headers())
    count = 0
    for row in rows:
        ws.append(row)
        count += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), count


def export_audit(flt: AuditFilter, fmt: str) -> ExportFile:
    """Export the entries matching ``flt`` as ``csv`` or ``xlsx`` and log the export."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    entries = search_audit(flt).iterator(chunk_size=_CHUNK)
    rows = _rows(entries, flt.tz)
    stamp = clock.now().astimezone(flt.tz).strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        content, count = _csv(rows)
        media = "text/csv; charset=utf-8"
    else:
        content, count = _xlsx(rows)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    audit.record(
        "audit.exported",
        object_type="core.auditentry",
        after={"format": fmt, "rows": count, "filter": flt.describe()},
    )
    return ExportFile(
        content=content, filename=f"anbao-audit-{stamp}.{fmt}", content_type=media, rows=count
    )
