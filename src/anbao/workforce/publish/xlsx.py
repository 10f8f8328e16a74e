"""A checkpoint's roster as an Excel workbook, for supervisors who sort and filter it.

Sheet "Roster 排班" has one row per guard per shift, with real date and time cells (local
time, Excel has no time zones) under a frozen header row with an auto-filter. Sheet
"Summary 汇总" totals the hours per guard.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from anbao.workforce.publish.labels import LABELS
from anbao.workforce.publish.sheets import RosterEntry, RosterSheet, skill_label

__all__ = ["ROSTER_COLUMNS", "ROSTER_SHEET", "SUMMARY_COLUMNS", "SUMMARY_SHEET", "checkpoint_xlsx"]

ROSTER_SHEET = "Roster 排班"
SUMMARY_SHEET = "Summary 汇总"

#: (label key, column width in characters) of the roster sheet, in order.
ROSTER_COLUMNS: tuple[tuple[str, int], ...] = (
    ("date", 12),
    ("shift", 8),
    ("start", 17),
    ("end", 17),
    ("post_code", 12),
    ("post", 28),
    ("skill", 24),
    ("employee_no", 14),
    ("guard", 14),
    ("guard_en", 20),
    ("squad", 12),
    ("hours", 9),
    ("note", 24),
)
SUMMARY_COLUMNS: tuple[tuple[str, int], ...] = (
    ("employee_no", 14),
    ("guard", 14),
    ("guard_en", 20),
    ("squad", 12),
    ("shifts", 10),
    ("hours", 10),
)

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E8EDF3")
_DATE = "yyyy-mm-dd"
_DATETIME = "yyyy-mm-dd hh:mm"
_HOURS = "0.00"


def _header(key: str) -> str:
    zh, en = LABELS[key]
    return f"{en} {zh}"


def _write_header(ws: Worksheet, columns: Sequence[tuple[str, int]]) -> None:
    ws.append([_header(key) for key, _ in columns])
    for i, (_key, width) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"


def _local_naive(sheet: RosterSheet, instant: dt.datetime) -> dt.datetime:
    # Excel cells cannot hold an offset; write the event's wall-clock time.
    return sheet.local(instant).replace(tzinfo=None)


def _roster_row(sheet: RosterSheet, e: RosterEntry) -> list[object]:
    zh, en = skill_label(e.skill)
    post = e.post_name if not e.post_name_en else f"{e.post_name} {e.post_name_en}"
    return [
        sheet.local_day(e),
        e.shift_code,
        _local_naive(sheet, e.start),
        _local_naive(sheet, e.end),
        e.post_code,
        post,
        f"{zh} {en}" if zh != en else zh,
        e.employee_no,
        e.guard_name,
        e.guard_name_en,
        e.squad,
        round(e.hours, 2),
        e.note,
    ]


def checkpoint_xlsx(sheet: RosterSheet, place_code: str) -> bytes:
    """Return an .xlsx workbook of a place's roster and hours per guard.

    A place named in ``sheet.places`` without entries gives the header rows only; a place
    in neither the entries nor ``sheet.places`` raises ValueError.
    """
    place = sheet.place_ref(place_code)
    entries = sheet.for_place(place_code)

    wb = Workbook()
    ws = wb.active
    ws.title = ROSTER_SHEET
    _write_header(ws, ROSTER_COLUMNS)
    for e in entries:
        ws.append(_roster_row(sheet, e))
        row = ws.max_row
        ws.cell(row=row, column=1).number_format = _DATE
        ws.cell(row=row, column=3).number_format = _DATETIME
        ws.cell(row=row, column=4).number_format = _DATETIME
        ws.cell(row=row, column=12).number_format = _HOURS
    ws.auto_filter.ref = f"A1:{get_column_letter(len(ROSTER_COLUMNS))}{max(ws.max_row, 1)}"

    summary = wb.create_sheet(SUMMARY_SHEET)
    _write_header(summary, SUMMARY_COLUMNS)
    hours: dict[int, float] = defaultdict(float)
    shifts: dict[int, int] = defaultdict(int)
    first: dict[int, RosterEntry] = {}
    for e in entries:
        hours[e.guard_id] += e.hours
        shifts[e.guard_id] += 1
        first.setdefault(e.guard_id, e)
    for guard_id in sorted(first, key=lambda g: (first[g].employee_no, g)):
        e = first[guard_id]
        summary.append(
            [
                e.employee_no,
                e.guard_name,
                e.guard_name_en,
                e.squad,
                shifts[guard_id],
                round(hours[guard_id], 2),
            ]
        )
        summary.cell(row=summary.max_row, column=6).number_format = _HOURS
    # A plain value rather than =SUM(): readers without a formula engine see the total too.
    summary.append(
        [_header("total"), "", "", "", sum(shifts.values()), round(sum(hours.values()), 2)]
    )
    total_row = summary.max_row
    for col in (1, 5, 6):
        summary.cell(row=total_row, column=col).font = _HEADER_FONT
    summary.cell(row=total_row, column=6).number_format = _HOURS
    summary.auto_filter.ref = f"A1:{get_column_letter(len(SUMMARY_COLUMNS))}{total_row - 1}"

    published = sheet.published_at.astimezone(dt.UTC).replace(tzinfo=None)
    wb.properties.title = f"{sheet.event_code} {place.place_code} v{sheet.version}"
    wb.properties.subject = f"{place.place_name} {place.place_name_en}".strip()
    wb.properties.creator = "anbao"
    wb.properties.created = published
    wb.properties.modified = published
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
