"""``anbao people import`` and ``anbao vetting import`` from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from anbao.accreditation.models import Accreditation, Person
from tests.accreditation.factories import demo_rows, people_csv, people_xlsx, the_event

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_dry_run_lists_problems_and_exits_non_zero(tmp_path: Path) -> None:
    the_event()
    rows = demo_rows(4)
    rows[2]["birth_date"] = "1999-02-30"
    path = tmp_path / "people.csv"
    path.write_bytes(people_csv(rows, encoding="gb18030"))
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"import\.has_problems"):
        call_command("people", "import", str(path), "--dry-run", stdout=io.StringIO(), stderr=err)
    assert "row 4, column birth_date: impossible date 1999-02-30" in err.getvalue()
    assert Person.objects.count() == 0


def test_all_mode_refuses_and_valid_mode_writes_errors(tmp_path: Path) -> None:
    the_event()
    rows = demo_rows(4)
    rows[1]["category"] = "Q"
    path = tmp_path / "people.xlsx"
    path.write_bytes(people_xlsx(rows))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("people", "import", str(path), stdout=io.StringIO(), stderr=err)
    assert "row 3, column category" in err.getvalue()
    assert Person.objects.count() == 0
    errors = tmp_path / "errors.xlsx"
    out, _err = _run("people", "import", str(path), "--mode", "valid", "--errors", str(errors))
    assert "stored 3 people" in out
    ws = load_workbook(errors).active
    assert ws.max_row == 2
    assert Accreditation.objects.count() == 3


def test_template_command(tmp_path: Path) -> None:
    the_event()
    _run("people", "template", str(tmp_path / "t.xlsx"))
    assert (tmp_path / "t.xlsx").stat().st_size > 1000


def test_vetting_command(tmp_path: Path) -> None:
    the_event()
    rows = demo_rows(2)
    src = tmp_path / "p.csv"
    src.write_bytes(people_csv(rows))
    _run("people", "import", str(src))
    police = tmp_path / "police.csv"
    police.write_text(
        "id_number,result,reference,date\n"
        f"{rows[0]['id_number']},cleared,A1,2026-10-01\n"
        f"{rows[1]['id_number']},refused,A2,2026-10-01\n",
        encoding="utf-8",
    )
    out, _ = _run("vetting", "import", str(police))
    assert "cleared 1, refused 1" in out
