"""The import engine for people files: read, normalise, validate. No database.

``read_table`` turns an .xlsx or CSV upload (UTF-8, UTF-8 with BOM, GB18030) into a header and
raw rows; ``validate_rows`` normalises each cell and returns clean rows plus every problem as
(row, column, reason). Row numbers are spreadsheet rows: the header is row 1.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from anbao.demo.people import gb11643_check_digit

MAX_ROWS = 100_000
MAX_FILE_BYTES = 50 * 2**20

# Canonical column -> (Chinese header, English header, aliases).
COLUMNS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ref": ("编号", "Reference", ("ref", "reference", "no", "序号")),
    "name_zh": ("中文姓名", "Chinese name", ("name_zh", "姓名", "chinesename")),
    "family_name": ("姓(拼音)", "Family name", ("family_name", "surname", "lastname", "姓")),
    "given_name": ("名(拼音)", "Given name", ("given_name", "firstname", "名")),
    "gender": ("性别", "Gender", ("gender", "sex")),
    "birth_date": ("出生日期", "Date of birth", ("birth_date", "dob", "birthdate", "生日")),
    "nationality": ("国籍", "Nationality", ("nationality", "country")),
    "id_type": ("证件类型", "ID type", ("id_type", "documenttype")),
    "id_number": ("证件号码", "ID number", ("id_number", "idno", "身份证号", "身份证号码")),
    "phone": ("手机号码", "Phone", ("phone", "mobile", "手机", "电话")),
    "organisation": ("单位", "Organisation", ("organisation", "organization", "company")),
    "category": ("类别", "Category", ("category", "证件类别")),
    "function": ("职能", "Function", ("function", "role", "职务")),
}
REQUIRED = (
    "gender",
    "birth_date",
    "nationality",
    "id_type",
    "id_number",
    "organisation",
    "category",
)
NAME_COLUMNS = ("name_zh", "family_name", "given_name")
ERROR_HEADER = "错误 / errors"
_IGNORED_HEADERS = ("errors", "错误", "error", ERROR_HEADER)

GENDERS = {
    "m": "M",
    "male": "M",
    "男": "M",
    "f": "F",
    "female": "F",
    "女": "F",
    "x": "X",
    "未知": "X",
}
ID_TYPES = {
    "resident_id": "resident_id",
    "residentid": "resident_id",
    "身份证": "resident_id",
    "居民身份证": "resident_id",
    "passport": "passport",
    "护照": "passport",
    "hk_macau_permit": "hk_macau_permit",
    "港澳通行证": "hk_macau_permit",
    "港澳居民来往内地通行证": "hk_macau_permit",
    "taiwan_permit": "taiwan_permit",
    "台胞证": "taiwan_permit",
    "台湾居民来往大陆通行证": "taiwan_permit",
}
NATIONALITIES = {"中国": "CHN", "中华人民共和国": "CHN", "china": "CHN", "cn": "CHN"}
_ID_FORMATS = {
    "passport": re.compile(r"[A-Z0-9]{5,17}"),
    "hk_macau_permit": re.compile(r"[HM]\d{8}(\d{2})?"),
    "taiwan_permit": re.compile(r"\d{8}(\d{2})?"),
}
_RESIDENT = re.compile(r"\d{17}[\dX]")
_PHONE_CN = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
_PHONE_INTL = re.compile(r"\+\d{7,15}")
_DATE_PATTERNS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_EXCEL_EPOCH = date(1899, 12, 30)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class RowProblem:
    """One problem: spreadsheet row (1 = header, 0 = the whole file), column, reason."""

    row: int
    column: str
    code: str
    message: str
    severity: str = "error"

    def describe(self) -> str:
        """Return ``row N, column X: reason`` for the CLI and the error spreadsheet."""
        where = f"row {self.row}, column {self.column}" if self.row else f"file, {self.column}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict (API reports)."""
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass
class Table:
    """A file read into its header and raw rows (cells as str, int, float, date or None)."""

    headers: list[str]
    rows: list[list[Any]]
    columns: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class CleanRow:
    """One valid, normalised row."""

    row: int
    values: dict[str, Any]


class ImportFileError(Exception):
    """The file cannot be read at all; carries a stable code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def nfkc(value: Any) -> str:
    """Return ``value`` as text, NFKC-normalised (full-width to half-width) and trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _SPACE.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()
    # Undo the error spreadsheet's formula guard, so that a corrected file re-imports.
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]
    return text


def decode_text(data: bytes) -> str:
    """Decode CSV bytes: BOM -> utf-8-sig; else strict UTF-8; else GB18030; else refuse."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            "import.unknown_encoding", "The file is neither UTF-8 nor GB18030 text."
        ) from exc
    # GB18030 decodes almost any byte string; control characters mean it was not text.
    if any(unicodedata.category(c) == "Cc" and c not in "\r\n\t" for c in text):
        raise ImportFileError(
            "import.unknown_encoding", "The file is neither UTF-8 nor GB18030 text."
        )
    return text


def _header_key(text: str) -> str:
    return re.sub(r"[\s_()·]", "", nfkc(text).casefold())


_ID_TYPE_KEYS = {_header_key(k): v for k, v in ID_TYPES.items()}
_ALIASES: dict[str, str] = {}
for _key, (_zh, _en, _more) in COLUMNS.items():
    for _alias in (_key, _zh, _en, *_more):
        _ALIASES[_header_key(_alias)] = _key


def match_header(text: str) -> str | None:
    """Return the canonical column for a header cell (``证件号码 / ID number`` too), or None."""
    key = _header_key(text)
    if key in _ALIASES:
        return _ALIASES[key]
    for part in re.split(r"[/|\n]", nfkc(text)):
        hit = _ALIASES.get(_header_key(part))
        if hit:
            return hit
    return None


_IGNORED_KEYS = {_header_key(h) for h in _IGNORED_HEADERS}


def read_table(data: bytes, filename: str) -> Table:
    """Read an .xlsx or CSV upload into a :class:`Table` and map its header to columns."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError("import.too_large", "The file is larger than 50 MB.")
    if not data.strip():
        raise ImportFileError("import.empty", "The file is empty.")
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        headers, rows = _read_xlsx(data)
    else:
        headers, rows = _read_csv(data)
    return map_columns(headers, rows)


def _capped(rows: Iterable[list[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for row in rows:
        if len(out) >= MAX_ROWS:
            raise ImportFileError(
                "import.too_many_rows", f"The file has more than {MAX_ROWS} rows."
            )
        out.append(row)
    return out


def _read_csv(data: bytes) -> tuple[list[str], list[list[Any]]]:
    text = decode_text(data)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = next(reader)
        return headers, _capped(reader)
    except StopIteration as exc:
        raise ImportFileError("import.empty", "The file is empty.") from exc
    except csv.Error as exc:
        raise ImportFileError("import.unreadable", f"The CSV cannot be read: {exc}") from exc


def _read_xlsx(data: bytes) -> tuple[list[str], list[list[Any]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise ImportFileError("import.unreadable", "The file is not a readable .xlsx.") from exc
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        first = next(it, None)
        if first is None:
            raise ImportFileError("import.empty", "The first sheet is empty.")
        headers = ["" if c is None else str(c) for c in first]
        rows = _capped(list(r) for r in it)
    finally:
        wb.close()
    return headers, rows


def map_columns(headers: list[str], rows: list[list[Any]]) -> Table:
    """Map header cells to canonical columns; name unknown, duplicate and missing ones."""
    table = Table(headers=[nfkc(h) for h in headers], rows=rows)
    for i, head in enumerate(table.headers):
        if not head:
            continue
        key = match_header(head)
        if key is None:
            if _header_key(head) not in _IGNORED_KEYS:
                table.problems.append(
                    RowProblem(
                        1, head, "import.unknown_column", "unknown column, ignored", "warning"
                    )
                )
        elif key in table.columns:
            table.problems.append(
                RowProblem(1, head, "import.duplicate_column", f"column {key} appears twice")
            )
        else:
            table.columns[key] = i
    for key in REQUIRED:
        if key not in table.columns:
            table.problems.append(
                RowProblem(1, key, "import.missing_column", f"required column {key} is missing")
            )
    if not any(k in table.columns for k in NAME_COLUMNS):
        table.problems.append(
            RowProblem(
                1, "name_zh", "import.missing_column", "no name column (name_zh or family_name)"
            )
        )
    return table


def parse_date(value: Any) -> date:
    """Parse a date cell: a date, an Excel serial, ISO, ``2024/3/5``, ``2024年3月5日``, 20240305."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value))
    text = nfkc(value)
    if re.fullmatch(r"\d{1,5}(\.\d+)?", text):
        return _from_serial(float(text))
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            try:
                return date(y, mo, d)
            except ValueError as exc:
                raise ValueError(f"impossible date {text}") from exc
    raise ValueError(f"not a date: {text!r}")


def _from_serial(serial: float) -> date:
    if not 1 <= serial < 2_958_466:
        raise ValueError(f"not a date: Excel serial {serial:g} out of range")
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def check_resident_id(number: str) -> date:
    """Validate an 18-character resident ID (format, check digit); return its birth date."""
    if not _RESIDENT.fullmatch(number):
        raise ValueError("a resident ID has 17 digits and a digit or X")
    if gb11643_check_digit(number[:17]) != number[17]:
        raise ValueError("check digit does not match (GB 11643)")
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValueError("the birth date inside the ID number is impossible") from exc


def normalise_id(id_type: str, value: Any) -> str:
    """Return the canonical form of an ID number: NFKC, no spaces or dashes, upper case."""
    return re.sub(r"[\s\-]", "", nfkc(value)).upper()


def normalise_phone(value: Any) -> str:
    """Return a phone in canonical form (``+8613812345678``); raise ValueError if malformed."""
    text = re.sub(r"[\s\-()]", "", nfkc(value))
    if text.startswith("00"):
        text = "+" + text[2:]
    m = _PHONE_CN.fullmatch(text)
    if m:
        return "+86" + m.group(1)
    if _PHONE_INTL.fullmatch(text):
        return text
    raise ValueError("not a phone number (mainland 11 digits, or + and country code)")


@dataclass
class Rules:
    """What the validator needs from the outside: the event's categories and today's date."""

    categories: set[str]
    today: date


def validate_rows(table: Table, rules: Rules) -> tuple[list[CleanRow], list[RowProblem]]:
    """Normalise and validate every row; return the clean rows and all problems."""
    problems = list(table.problems)
    if any(p.severity == "error" for p in table.problems):
        return [], problems
    clean: list[CleanRow] = []
    seen_ids: dict[str, int] = {}
    seen_names: dict[tuple[str, date], int] = {}
    cols = table.columns
    for offset, raw in enumerate(table.rows):
        rowno = offset + 2
        cells = {k: (raw[i] if i < len(raw) else None) for k, i in cols.items()}
        if all(nfkc(v) == "" for v in cells.values()):
            continue
        values, row_problems = _validate_row(rowno, cells, rules)
        if not row_problems:
            number = values["id_number"]
            if number in seen_ids:
                row_problems.append(
                    RowProblem(
                        rowno,
                        "id_number",
                        "import.duplicate_in_file",
                        f"same ID number as row {seen_ids[number]}",
                    )
                )
            else:
                seen_ids[number] = rowno
            key = (name_key(values), values["birth_date"])
            if key in seen_names:
                problems.append(
                    RowProblem(
                        rowno,
                        "name_zh",
                        "import.possible_duplicate",
                        f"same name and date of birth as row {seen_names[key]}",
                        "warning",
                    )
                )
            else:
                seen_names[key] = rowno
        problems.extend(row_problems)
        if not row_problems:
            clean.append(CleanRow(rowno, values))
    return clean, problems


def name_key(values: dict[str, Any]) -> str:
    """Return the name used for duplicate detection: the Chinese name, else the Latin one."""
    return (values.get("name_zh") or f"{values['family_name']} {values['given_name']}").casefold()


def _validate_row(
    rowno: int, cells: dict[str, Any], rules: Rules
) -> tuple[dict[str, Any], list[RowProblem]]:
    out: dict[str, Any] = {}
    problems: list[RowProblem] = []

    def bad(column: str, code: str, message: str) -> None:
        problems.append(RowProblem(rowno, column, code, message))

    for key in ("ref", "name_zh", "family_name", "given_name", "organisation", "function"):
        out[key] = nfkc(cells.get(key))[:100]
    if not out["name_zh"] and not out["family_name"]:
        bad("name_zh", "import.required", "a Chinese name or a family name is required")
    if not out["organisation"]:
        bad("organisation", "import.required", "required")

    gender = GENDERS.get(nfkc(cells.get("gender")).casefold())
    if gender is None:
        bad("gender", "import.invalid_gender", "gender must be M/F (男/女)")
    out["gender"] = gender

    try:
        born = parse_date(cells.get("birth_date")) if nfkc(cells.get("birth_date")) else None
    except ValueError as exc:
        born = None
        bad("birth_date", "import.invalid_date", str(exc))
    else:
        if born is None:
            bad("birth_date", "import.required", "required")
        elif born > rules.today or born.year < 1900:
            bad("birth_date", "import.invalid_date", f"impossible date of birth {born}")
            born = None
    out["birth_date"] = born

    nat = nfkc(cells.get("nationality"))
    nat = NATIONALITIES.get(nat.casefold(), nat.upper())
    if not re.fullmatch(r"[A-Z]{3}", nat):
        bad("nationality", "import.invalid_nationality", "use an ISO 3166 alpha-3 code (CHN)")
    out["nationality"] = nat

    id_type = _ID_TYPE_KEYS.get(_header_key(nfkc(cells.get("id_type"))))
    if id_type is None:
        bad("id_type", "import.invalid_id_type", "unknown ID type")
    out["id_type"] = id_type

    number = normalise_id(id_type or "", cells.get("id_number"))
    out["id_number"] = number
    if not number:
        bad("id_number", "import.required", "required")
    elif id_type == "resident_id":
        try:
            embedded = check_resident_id(number)
        except ValueError as exc:
            bad("id_number", "import.invalid_id_number", str(exc))
        else:
            if born is not None and embedded != born:
                bad(
                    "birth_date",
                    "import.birth_date_mismatch",
                    f"the ID number says {embedded}, the column says {born}",
                )
    elif id_type in _ID_FORMATS and not _ID_FORMATS[id_type].fullmatch(number):
        bad("id_number", "import.invalid_id_number", f"not a valid {id_type} number")

    phone = nfkc(cells.get("phone"))
    out["phone"] = ""
    if phone:
        try:
            out["phone"] = normalise_phone(phone)
        except ValueError as exc:
            bad("phone", "import.invalid_phone", str(exc))

    category = nfkc(cells.get("category")).upper()
    if category not in rules.categories:
        bad("category", "import.unknown_category", f"unknown category {category!r} for this event")
    out["category"] = category
    return out, problems


def rows_with_problems(table: Table, problems: Iterable[RowProblem]) -> dict[int, list[RowProblem]]:
    """Group the error problems by row number (row >= 2 only)."""
    out: dict[int, list[RowProblem]] = {}
    for p in problems:
        if p.severity == "error" and p.row >= 2:
            out.setdefault(p.row, []).append(p)
    return out
