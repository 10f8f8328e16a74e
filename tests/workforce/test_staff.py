"""Staff import: all or nothing, every bad row and field named; leave, phones, dogs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.workforce import staffing
from anbao.workforce.models import Guard, Leave, Qualification
from tests.workforce.conftest import HEADER, roll_csv


def test_a_clean_sheet_imports_guards_skills_and_implied_english(workforce) -> None:  # type: ignore[no-untyped-def]
    g = Guard.objects.get(employee_no="W000")
    skills = set(g.qualifications.values_list("skill", flat=True))
    assert skills == {"licence", "xray", "search", "english"}  # working English implies the skill
    assert g.gender == "female"
    assert Qualification.objects.get(guard=g, skill="xray").expires.isoformat() == "2027-06-30"
    # The phone is encrypted at rest and masked on screens.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT phone FROM workforce_guard WHERE id = %s", [g.pk])
        stored = cur.fetchone()[0]
    assert "13900000000" not in stored
    assert g.masked_phone() != g.phone
    assert g.masked_phone().startswith("139")


def test_bad_rows_refuse_the_whole_file_naming_row_and_field(workforce) -> None:  # type: ignore[no-untyped-def]
    bad = (
        HEADER
        + "N1,甲,A,F,,anbao,licence;juggling,none,,\n"  # unknown skill
        + "N2,乙,B,M,,anbao,licence;xray:2025-01-31,none,,\n"  # expired certificate
        + "N3,丙,C,X,,anbao,licence,none,,\n"  # bad gender
        + "N4,丁,D,M,,anbao,licence,none,200,30\n"  # longitude out of range
    )
    before = Guard.objects.count()
    with pytest.raises(DomainError) as err:
        staffing.import_staff(bad.encode(), "bad.csv")
    problems = {(p.location, p.field, p.code) for p in err.value.problems}
    assert ("row 2", "skills", "unknown_skill") in problems
    assert ("row 3", "skills", "certificate_expired") in problems
    assert ("row 4", "gender", "bad_gender") in problems
    assert ("row 5", "base_lon", "out_of_range") in problems
    assert Guard.objects.count() == before  # nothing half-written


def test_overlapping_leave_in_a_row_and_against_stored_leave(workforce) -> None:  # type: ignore[no-untyped-def]
    sheet = (
        HEADER.strip()
        + ",leave\n"
        + "W001,x,y,M,,anbao,licence,none,,,2026-11-08/2026-11-10;2026-11-10/2026-11-12\n"
    )
    with pytest.raises(DomainError) as err:
        staffing.import_staff(sheet.encode(), "leave.csv")
    assert [p.code for p in err.value.problems] == ["overlapping_leave"]
    g = Guard.objects.get(employee_no="W001")
    staffing.add_leave(
        g,
        start=datetime(2026, 11, 9, tzinfo=UTC),
        end=datetime(2026, 11, 10, tzinfo=UTC),
        kind="sick",
    )
    again = HEADER.strip() + ",leave\n" + "W001,x,y,M,,anbao,licence,none,,,2026-11-09/2026-11-09\n"
    with pytest.raises(DomainError) as err2:
        staffing.import_staff(again.encode(), "leave.csv")
    assert err2.value.problems[0].code == "overlapping_leave"
    with pytest.raises(DomainError) as err3:
        staffing.add_leave(
            g,
            start=datetime(2026, 11, 9, 12, tzinfo=UTC),
            end=datetime(2026, 11, 11, tzinfo=UTC),
            kind="leave",
        )
    assert err3.value.code == "workforce.overlapping_leave"
    assert Leave.objects.filter(guard=g).count() == 1


def test_missing_columns_duplicates_and_not_utf8(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        staffing.import_staff(b"employee_no,name\nA,B\n", "x.csv")
    assert {p.field for p in err.value.problems} >= {"gender", "employer", "skills"}
    dup = HEADER + "D1,a,a,M,,e,licence,none,,\n" + "D1,b,b,M,,e,licence,none,,\n"
    with pytest.raises(DomainError) as err2:
        staffing.import_staff(dup.encode(), "d.csv")
    assert err2.value.problems[0].code == "duplicate"
    with pytest.raises(DomainError) as err3:
        staffing.import_staff("employee_no\n\xff".encode("latin-1"), "x.csv")
    assert err3.value.code == "workforce.bad_encoding"


def test_dry_run_writes_nothing_and_xlsx_is_read(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import Workbook

    result = staffing.import_staff(roll_csv(5), "r.csv", dry_run=True)
    assert result.created == 5
    assert Guard.objects.count() == 0
    wb = Workbook()
    ws = wb.active
    ws.append(["employee_no", "name", "gender", "employer", "skills"])
    ws.append(["X1", "王五", "男", "anbao", "保安员证;手检"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    staffing.import_staff(path.read_bytes(), "r.xlsx")
    g = Guard.objects.get(employee_no="X1")
    assert set(g.qualifications.values_list("skill", flat=True)) == {"licence", "search"}


def test_reading_a_phone_is_audited(workforce) -> None:  # type: ignore[no-untyped-def]
    g = Guard.objects.get(employee_no="W002")
    assert staffing.read_phone(g) == "13900000002"
    assert AuditEntry.objects.filter(action="read:guard.phone", object_id=str(g.pk)).exists()


def test_a_dog_needs_a_canine_handler(workforce) -> None:  # type: ignore[no-untyped-def]
    g = Guard.objects.get(employee_no="W002")
    with pytest.raises(DomainError) as err:
        staffing.add_dog(name="Rex", chip_no="C1", handler=g, detection="explosives")
    assert err.value.code == "workforce.not_a_handler"
    Qualification.objects.create(guard=g, skill="canine")
    assert (
        staffing.add_dog(name="Rex", chip_no="C1", handler=g, detection="explosives").handler == g
    )
