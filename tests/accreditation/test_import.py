"""Bulk import: encodings, columns, normalisation, validation, duplicates, modes."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from anbao.accreditation import importing_store as store
from anbao.accreditation.importing import (
    ImportFileError,
    Rules,
    decode_text,
    parse_date,
    read_table,
    validate_rows,
)
from anbao.accreditation.models import Accreditation, AccreditationStep, Organisation, Person
from anbao.core.errors import DomainError
from anbao.demo.people import resident_id
from tests.accreditation.factories import (
    demo_rows,
    people_csv,
    people_xlsx,
    the_event,
)

RULES = Rules(categories={"VIP", "D", "E", "S", "G", "C", "T"}, today=date(2026, 11, 1))


def _problems(data: bytes, name: str = "people.csv") -> list[tuple[int, str, str]]:
    _clean, problems = validate_rows(read_table(data, name), RULES)
    return [(p.row, p.column, p.code) for p in problems if p.severity == "error"]


def _wide(text: str) -> str:
    """Return ``text`` with ASCII digits and hyphens in their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() or c == "-" else c for c in text)


def _one(**changes: str) -> list[dict[str, str]]:
    row = demo_rows(1)[0]
    row.update(changes)
    return [row]


# --- the pure engine ---------------------------------------------------------------------------


def test_demo_rows_validate_cleanly_in_every_encoding() -> None:
    rows = demo_rows(50)
    for enc in ("utf-8", "utf-8-sig", "gb18030"):
        clean, problems = validate_rows(read_table(people_csv(rows, encoding=enc), "x.csv"), RULES)
        assert [p for p in problems if p.severity == "error"] == [], enc
        assert len(clean) == 50
        assert clean[0].values["name_zh"] == rows[0]["name_zh"] or rows[0]["name_zh"] == ""


def test_gb18030_file_keeps_chinese_names() -> None:
    rows = [r for r in demo_rows(30) if r["name_zh"]]
    clean, _ = validate_rows(read_table(people_csv(rows, encoding="gb18030"), "x.csv"), RULES)
    assert [c.values["name_zh"] for c in clean] == [r["name_zh"] for r in rows]


def test_bom_is_stripped_from_first_header() -> None:
    table = read_table(people_csv(demo_rows(2), encoding="utf-8-sig"), "x.csv")
    assert "ref" in table.columns


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ImportFileError) as exc:
        decode_text(b"ref,name\r\n\x81\x30\x00\xff\xfe\x00\x01")
    assert exc.value.code == "import.unknown_encoding"


def test_missing_and_unknown_columns_are_named() -> None:
    header = [c for c in demo_rows(1)[0] if c not in ("id_number", "category")] + ["shoe_size"]
    table = read_table(people_csv(demo_rows(2), header=header), "x.csv")
    found = {(p.column, p.code, p.severity) for p in table.problems}
    assert ("id_number", "import.missing_column", "error") in found
    assert ("category", "import.missing_column", "error") in found
    assert ("shoe_size", "import.unknown_column", "warning") in found


def test_chinese_and_bilingual_headers_are_recognised() -> None:
    header = ["中文姓名", "姓(拼音)", "名 (拼音)", "性别", "出生日期", "国籍", "证件类型"]
    header += ["证件号码 / ID number", "手机号码", "单位", "类别"]
    table = read_table(people_csv([], header=header), "x.csv")
    assert [p for p in table.problems if p.severity == "error"] == []
    assert table.columns["id_number"] == 7


def test_bad_check_digit_is_reported_with_row_and_column() -> None:
    good = resident_id("330483", date(1980, 5, 17), 1, False)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    rows = _one(id_type="resident_id", id_number=bad, birth_date="1980-05-17")
    assert _problems(people_csv(rows)) == [(2, "id_number", "import.invalid_id_number")]


def test_birth_date_must_match_the_resident_id() -> None:
    number = resident_id("330483", date(1980, 5, 17), 1, False)
    rows = _one(id_type="resident_id", id_number=number, birth_date="1980-05-18")
    assert _problems(people_csv(rows)) == [(2, "birth_date", "import.birth_date_mismatch")]


@pytest.mark.parametrize("value", ["2023-02-30", "1990/13/01", "1990年2月30日", "hello"])
def test_impossible_dates_are_reported(value: str) -> None:
    rows = _one(birth_date=value, id_type="passport", id_number="E12345678")
    assert (2, "birth_date", "import.invalid_date") in _problems(people_csv(rows))


def test_future_birth_date_is_refused() -> None:
    rows = _one(birth_date="2030-01-01", id_type="passport", id_number="E12345678")
    assert (2, "birth_date", "import.invalid_date") in _problems(people_csv(rows))


def test_date_formats_and_excel_serials() -> None:
    assert parse_date("1980-05-17") == date(1980, 5, 17)
    assert parse_date("1980/5/17") == date(1980, 5, 17)
    assert parse_date("1980年5月17日") == date(1980, 5, 17)
    assert parse_date("19800517") == date(1980, 5, 17)
    assert parse_date(29358) == date(1980, 5, 17)
    assert parse_date("29358") == date(1980, 5, 17)
    assert parse_date(datetime(1980, 5, 17, 0, 0)) == date(1980, 5, 17)  # noqa: DTZ001


def test_full_width_digits_and_spaces_are_normalised() -> None:
    row = demo_rows(1)[0]
    number = resident_id("330483", date(1980, 5, 17), 1, False)
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    row.update(
        id_type=" resident_id ",
        id_number=f"  {wide} ",
        birth_date=_wide("1980-05-17"),
        phone=_wide("138 000 00000"),
        gender=" 男 ",
        nationality="中国",
        category=" d ",
    )
    clean, problems = validate_rows(read_table(people_csv([row]), "x.csv"), RULES)
    assert [p for p in problems if p.severity == "error"] == []
    v = clean[0].values
    assert (v["id_number"], v["birth_date"], v["phone"]) == (
        number,
        date(1980, 5, 17),
        "+8613800000000",
    )
    assert (v["gender"], v["nationality"], v["category"]) == ("M", "CHN", "D")


def test_passport_and_permit_formats() -> None:
    assert _problems(people_csv(_one(id_type="passport", id_number="E1234567"))) == []
    assert _problems(people_csv(_one(id_type="passport", id_number="E1!"))) == [
        (2, "id_number", "import.invalid_id_number")
    ]
    assert _problems(people_csv(_one(id_type="hk_macau_permit", id_number="H12345678"))) == []
    assert _problems(people_csv(_one(id_type="taiwan_permit", id_number="T1234"))) == [
        (2, "id_number", "import.invalid_id_number")
    ]


def test_bad_gender_category_nationality_phone() -> None:
    rows = _one(gender="?", category="ZZ", nationality="China!", phone="12")
    cols = {c for _r, c, _code in _problems(people_csv(rows))}
    assert {"gender", "category", "nationality", "phone"} <= cols


def test_duplicate_id_in_file_points_at_first_row() -> None:
    rows = demo_rows(3)
    rows[2]["id_number"] = rows[0]["id_number"]
    rows[2]["birth_date"] = rows[0]["birth_date"]
    rows[2]["id_type"] = rows[0]["id_type"]
    _clean, problems = validate_rows(read_table(people_csv(rows), "x.csv"), RULES)
    dup = [p for p in problems if p.code == "import.duplicate_in_file"]
    assert len(dup) == 1
    assert dup[0].row == 4
    assert "row 2" in dup[0].message


def test_xlsx_with_real_dates_and_serials() -> None:
    rows = demo_rows(3)
    rows[0]["birth_date"] = date.fromisoformat(rows[0]["birth_date"])
    rows[1]["birth_date"] = (date.fromisoformat(rows[1]["birth_date"]) - date(1899, 12, 30)).days
    clean, problems = validate_rows(read_table(people_xlsx(rows), "x.xlsx"), RULES)
    assert [p for p in problems if p.severity == "error"] == []
    assert len(clean) == 3


def test_corrupt_xlsx_and_empty_file() -> None:
    with pytest.raises(ImportFileError) as exc:
        read_table(b"PK\x03\x04 not really a zip", "x.xlsx")
    assert exc.value.code == "import.unreadable"
    with pytest.raises(ImportFileError) as exc:
        read_table(b"  \r\n", "x.csv")
    assert exc.value.code == "import.empty"


# --- against the database ----------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_people_csv_imports_cleanly() -> None:
    event = the_event()
    data = people_csv(demo_rows(200, seed=11))
    preview = store.preview_import(data=data, filename="people.csv", event=event)
    assert preview.errors == []
    report = store.commit_import(data=data, filename="people.csv", mode="all", event=event)
    assert report.stored == 200
    assert Person.objects.count() == 200
    assert Accreditation.objects.filter(event=event, status="applied").count() == 200
    assert AccreditationStep.objects.filter(note="import").count() == 200
    assert Organisation.objects.filter(name="Conference Motor Pool").exists()


@pytest.mark.django_db
def test_preview_stores_nothing() -> None:
    event = the_event()
    store.preview_import(data=people_csv(demo_rows(5)), filename="p.csv", event=event)
    assert Person.objects.count() == 0


@pytest.mark.django_db
def test_all_mode_with_one_bad_row_leaves_the_database_unchanged() -> None:
    event = the_event()
    rows = demo_rows(10)
    rows[6]["gender"] = "unknown"
    with pytest.raises(DomainError) as exc:
        store.commit_import(data=people_csv(rows), filename="p.csv", mode="all", event=event)
    assert exc.value.code == "import.has_problems"
    assert exc.value.problems[0].location == "row 8"
    assert exc.value.problems[0].field == "gender"
    assert Person.objects.count() == 0
    assert Accreditation.objects.count() == 0


@pytest.mark.django_db
def test_duplicates_against_the_database() -> None:
    event = the_event()
    rows = demo_rows(4)
    store.commit_import(data=people_csv(rows[:2]), filename="p.csv", event=event)
    report = store.preview_import(data=people_csv(rows), filename="p.csv", event=event)
    assert [(p.row, p.code) for p in report.errors] == [
        (2, "import.duplicate_in_db"),
        (3, "import.duplicate_in_db"),
    ]


@pytest.mark.django_db
def test_same_name_and_birth_date_is_flagged_as_a_warning() -> None:
    event = the_event()
    rows = [r for r in demo_rows(40) if r["id_type"] == "resident_id"][:2]
    store.commit_import(data=people_csv(rows[:1]), filename="p.csv", event=event)
    twin = dict(rows[1])
    twin.update(name_zh=rows[0]["name_zh"], birth_date=rows[0]["birth_date"])
    twin["id_number"] = resident_id("110105", date.fromisoformat(twin["birth_date"]), 3, True)
    report = store.preview_import(data=people_csv([twin]), filename="p.csv", event=event)
    assert report.errors == []
    assert [p.code for p in report.problems] == ["import.possible_duplicate"]


@pytest.mark.django_db
def test_valid_mode_error_spreadsheet_round_trip() -> None:
    event = the_event()
    rows = demo_rows(6)
    rows[1]["gender"] = "?"
    rows[4]["birth_date"] = "2023-02-30"
    report = store.commit_import(data=people_csv(rows), filename="p.csv", mode="valid", event=event)
    assert report.stored == 4
    assert report.error_file is not None
    ws = load_workbook(io.BytesIO(report.error_file)).active
    sheet = [[c.value for c in r] for r in ws.iter_rows()]
    assert sheet[0][-1] == "错误 / errors"
    assert len(sheet) == 3
    assert "gender" in sheet[1][-1]
    # Correct the two rows in the error file and import it again.
    head = sheet[0]
    sheet[1][head.index("gender")] = "F"
    sheet[2][head.index("birth_date")] = rows[4]["birth_date"].replace("2023-02-30", "")
    sheet[2][head.index("birth_date")] = None
    fixed = demo_rows(6)[4]["birth_date"]
    sheet[2][head.index("birth_date")] = fixed
    from openpyxl import Workbook

    wb = Workbook()
    for r in sheet:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    again = store.commit_import(data=buf.getvalue(), filename="fixed.xlsx", event=event)
    assert again.errors == []
    assert again.stored == 2
    assert Person.objects.count() == 6


@pytest.mark.django_db
def test_error_spreadsheet_neutralises_formulas() -> None:
    event = the_event()
    rows = demo_rows(2)
    rows[0].update(gender="=cmd|' /C calc'!A0", name_zh="+SUM(A1)", organisation="@evil")
    rows[0]["function"] = "-2+3"
    header = [*demo_rows(1)[0], "function"]
    report = store.commit_import(
        data=people_csv(rows, header=header), filename="p.csv", mode="valid", event=event
    )
    assert report.error_file is not None
    ws = load_workbook(io.BytesIO(report.error_file)).active
    values = [c.value for c in next(ws.iter_rows(min_row=2, max_row=2))]
    assert "'=cmd|' /C calc'!A0" in values
    assert "'+SUM(A1)" in values
    assert "'@evil" in values
    assert "'-2+3" in values
    assert all(not str(v).startswith(("=", "+", "-", "@")) for v in values if v)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


@pytest.mark.django_db
def test_template_has_bilingual_headers_notes_and_lists() -> None:
    data, name, ctype = store.import_template(the_event())
    assert name.endswith(".xlsx")
    assert "spreadsheetml" in ctype
    wb = load_workbook(io.BytesIO(data))
    head = [c.value for c in wb["people"][1]]
    assert "证件号码 / ID number" in head
    assert len(wb.sheetnames) == 2
    assert wb["people"].data_validations.dataValidation
    # The template's own header re-imports with no column problems.
    table = read_table(data, name)
    assert [p for p in table.problems if p.severity == "error"] == []


def test_too_many_rows_and_broken_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    from anbao.accreditation import importing

    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    with pytest.raises(ImportFileError) as exc:
        read_table(people_csv(demo_rows(4)), "x.csv")
    assert exc.value.code == "import.too_many_rows"
    with pytest.raises(ImportFileError) as exc:
        read_table(people_xlsx(demo_rows(4)), "x.xlsx")
    assert exc.value.code == "import.too_many_rows"
    with pytest.raises(ImportFileError) as exc:
        read_table(b'ref,name\r\n"' + b"x" * 200_000 + b'",c\r\n', "x.csv")
    assert exc.value.code == "import.unreadable"
