"""``anbao badges print|warn|templates`` from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from anbao.accreditation import print_runner
from anbao.accreditation.models import AccreditationStatus, PrintLogEntry
from tests.accreditation.test_badges import decode_qr, rasterise
from tests.accreditation.test_printing import issued

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_home(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("badges", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_print_writes_the_pdf_and_shows_progress(tmp_path: Path) -> None:
    accs = [issued("D") for _ in range(2)]
    target = tmp_path / "out" / "badges.pdf"
    text = run("print", "--out", str(target), "--category", "D", "--only-new")
    assert "2/2" in text
    assert "2 badges" in text
    pdf = target.read_bytes()
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 4
    assert decode_qr(rasterise(pdf, 1)) == [accs[0].credentials.get().qr_text]
    for acc in accs:
        acc.refresh_from_db()
        assert acc.status == AccreditationStatus.PRINTED


def test_reprint_is_refused_without_the_flag(tmp_path: Path) -> None:
    acc = issued("D")
    run("print", "--out", str(tmp_path / "a.pdf"), "--ids", str(acc.pk))
    assert f"accreditation {acc.pk}: printed 1 time(s)" in run("warn", "--ids", str(acc.pk))
    with pytest.raises(CommandError, match=r"badges\.reprint.*--allow-reprint"):
        run("print", "--out", str(tmp_path / "b.pdf"), "--ids", str(acc.pk))
    run("print", "--out", str(tmp_path / "b.pdf"), "--ids", str(acc.pk), "--allow-reprint")
    assert sorted(PrintLogEntry.objects.values_list("reprint", flat=True)) == [0, 1]


def test_large_job_writes_numbered_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(print_runner, "PART_SIZE", 1)
    accs = [issued("E") for _ in range(2)]
    run("print", "--out", str(tmp_path / "e.pdf"), "--ids", ",".join(str(a.pk) for a in accs))
    assert (tmp_path / "e-001.pdf").is_file()
    assert (tmp_path / "e-002.pdf").is_file()


def test_nothing_to_print_and_templates(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"badges\.nothing_to_print"):
        run("print", "--out", str(tmp_path / "x.pdf"), "--category", "VIP", "--only-new")
    assert "cr80-double" in run("templates")
