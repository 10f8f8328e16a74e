"""Spreadsheets the office downloads: the import template and the error spreadsheet.

Every text cell written here goes through :func:`safe_cell`, the audit export's guard against
formula injection: a cell starting with ``=``, ``+``, ``-`` or ``@`` is prefixed with ``'``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from anbao.accreditation.importing import (
    COLUMNS,
    ERROR_HEADER,
    GENDERS,
    ID_TYPES,
    REQUIRED,
    RowProblem,
    Table,
)
from anbao.core.services import spreadsheet_safe  # the one formula-injection guard

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """Return a cell value that a spreadsheet will not run as a formula."""
    if value is None or isinstance(value, int | float | date | datetime):
        return value
    return spreadsheet_safe(str(value))


def template_xlsx(categories: Iterable[tuple[str, str]]) -> bytes:
    """Return the import template: headers in zh and en, a notes sheet, validation lists."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    cats = list(categories)
    wb = Workbook()
    ws = wb.active
    ws.title = "people"
    keys = list(COLUMNS)
    for col, key in enumerate(keys, start=1):
        zh, en, _aliases = COLUMNS[key]
        cell = ws.cell(row=1, column=col, value=f"{zh} / {en}")
        cell.font = Font(bold=True)
        if key in REQUIRED:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        ws.column_dimensions[cell.column_letter].width = 22
    ws.freeze_panes = "A2"

    def _list(key: str, values: list[str]) -> None:
        letter = ws.cell(row=1, column=keys.index(key) + 1).column_letter
        dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
        dv.add(f"{letter}2:{letter}100000")
        ws.add_data_validation(dv)

    _list("gender", ["M", "F"])
    _list("id_type", [k for k in ID_TYPES if k == ID_TYPES[k]])
    if cats:
        _list("category", [code for code, _name in cats])
    example = {
        "ref": "P00001",
        "name_zh": "王伟",
        "family_name": "Wang",
        "given_name": "Wei",
        "gender": "M",
        "birth_date": "1980-05-17",
        "nationality": "CHN",
        "id_type": "resident_id",
        "id_number": "",
        "phone": "13800000000",
        "organisation": "Conference Secretariat",
        "category": cats[0][0] if cats else "S",
        "function": "",
    }
    notes = wb.create_sheet("notes 说明")
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 90
    lines: list[tuple[str, str]] = [
        ("column / 列", "rule / 规则"),
        *((f"{COLUMNS[k][0]} / {k}", "required / 必填") for k in REQUIRED),
        ("name", "中文姓名 or family name required / 中文姓名或拼音姓必填其一"),
        ("birth_date", "YYYY-MM-DD, 2024/3/5, 2024年3月5日 or an Excel date"),
        ("gender", ", ".join(sorted(GENDERS))),
        ("id_type", "resident_id (GB 11643 check digit), passport, hk_macau_permit, taiwan_permit"),
        ("nationality", "ISO 3166 alpha-3, e.g. CHN, GBR"),
        ("phone", "mainland 11 digits, or + and country code"),
        ("organisation", "matched by name; a new name creates the organisation"),
        ("photos", "a zip of <id_number>.jpg or .png, at most 5 MB each"),
        *((f"category {code}", name) for code, name in cats),
        ("example", ", ".join(f"{k}={v}" for k, v in example.items())),
    ]
    for row in lines:
        notes.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def error_xlsx(table: Table, problems: Iterable[RowProblem]) -> bytes:
    """Return the rows that have errors: the original columns plus an error column."""
    from openpyxl import Workbook

    by_row: dict[int, list[str]] = {}
    for p in problems:
        if p.severity == "error" and p.row >= 2:
            by_row.setdefault(p.row, []).append(f"{p.column}: {p.message}")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("errors")
    ws.append([safe_cell(h) for h in table.headers] + [ERROR_HEADER])
    for rowno in sorted(by_row):
        raw = table.rows[rowno - 2]
        cells = [safe_cell(_cell_text(v)) for v in raw]
        cells += [None] * (len(table.headers) - len(cells))
        ws.append([*cells[: len(table.headers)], safe_cell("; ".join(by_row[rowno]))])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
