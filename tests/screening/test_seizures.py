"""Seizures: dispositions, the police case number, deposits, returns on exit and photos."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pypdf
import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from anbao.core.bus import Event, listen
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.screening import records
from anbao.screening.models.records import Seizure
from anbao.sites.models import Checkpoint, Lane

pytestmark = pytest.mark.django_db


def _place() -> tuple[Checkpoint, Lane]:
    lane = Lane.objects.select_related("checkpoint").order_by("checkpoint__code", "code").first()
    assert lane is not None
    return lane.checkpoint, lane


def _exit() -> Checkpoint:
    cp, _ = _place()
    other = Checkpoint.objects.exclude(pk=cp.pk).first()
    assert other is not None
    return other


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    """Return a small PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_default_disposition_comes_from_the_taxonomy() -> None:
    cp, lane = _place()
    lighter = records.record_seizure(checkpoint=cp, lane=lane, item_code="lighter")
    assert lighter.disposition == "deposited"
    assert lighter.status == "held"
    assert lighter.ticket
    assert lighter.ticket.startswith("D")
    assert (lighter.item_zh, lighter.item_class) == ("打火机", "restricted")
    knife = records.record_seizure(checkpoint=cp, item_code="folding_knife")
    assert knife.disposition == "confiscated"
    assert knife.ticket is None
    assert knife.status == "closed"


def test_each_disposition() -> None:
    cp, lane = _place()
    for disposition in ("deposited", "confiscated", "refused"):
        s = records.record_seizure(
            checkpoint=cp, lane=lane, item_code="drone", disposition=disposition
        )
        assert s.disposition == disposition
    police = records.record_seizure(
        checkpoint=cp, item_code="firearm", disposition="police", police_case=" 浙公刑2026-001 "
    )
    assert police.police_case == "浙公刑2026-001"
    assert Seizure.objects.filter(disposition="police").count() == 1


def test_police_needs_a_case_number() -> None:
    cp, _ = _place()
    with pytest.raises(DomainError) as exc:
        records.record_seizure(checkpoint=cp, item_code="firearm")  # default: police
    assert exc.value.code == "screening.police_case_required"
    assert exc.value.problems[0].field == "police_case"
    assert not Seizure.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"item_code": "unicorn"}, "screening.unknown_item"),
        ({"item_code": "lighter", "disposition": "burned"}, "screening.unknown_disposition"),
        (
            {"item_code": "explosive", "disposition": "deposited"},
            "screening.prohibited_not_depositable",
        ),
        ({"item_code": "lighter", "quantity": 0}, "screening.bad_quantity"),
    ],
)
def test_bad_seizures_are_refused(kwargs, code) -> None:  # type: ignore[no-untyped-def]
    cp, _ = _place()
    with pytest.raises(DomainError) as exc:
        records.record_seizure(checkpoint=cp, **kwargs)
    assert exc.value.code == code


def test_seizure_and_disposition_change_are_audited_and_published(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cp, _ = _place()
    seen: list[Event] = []
    remove = listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            s = records.record_seizure(checkpoint=cp, item_code="laser_pointer")
        with django_capture_on_commit_callbacks(execute=True):
            records.change_disposition(s, "police", police_case="A-1")
    finally:
        remove()
    assert [e.type for e in seen] == ["SeizureRecorded", "SeizureDispositionChanged"]
    actions = list(
        AuditEntry.objects.filter(object_id=str(s.pk), object_type="screening.seizure")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["screening.seizure_recorded", "screening.disposition_changed"]
    s.refresh_from_db()
    assert (s.disposition, s.police_case, s.status) == ("police", "A-1", "closed")


def test_change_to_police_needs_a_case_number() -> None:
    cp, _ = _place()
    s = records.record_seizure(checkpoint=cp, item_code="lighter")
    with pytest.raises(DomainError) as exc:
        records.change_disposition(s, "police")
    assert exc.value.code == "screening.police_case_required"


@pytest.mark.parametrize("width", [58, 80])
def test_deposit_receipt_reads_back(width: int) -> None:
    cp, lane = _place()
    s = records.record_seizure(checkpoint=cp, lane=lane, item_code="lighter", quantity=2)
    pdf = records.receipt_pdf(s, width_mm=width)
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert s.ticket
    assert s.ticket in text
    assert "打火机" in text
    assert cp.name in text
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [s.ticket]


def test_receipt_only_for_deposits() -> None:
    cp, _ = _place()
    s = records.record_seizure(checkpoint=cp, item_code="folding_knife")
    with pytest.raises(DomainError) as exc:
        records.receipt_pdf(s)
    assert exc.value.code == "screening.not_deposited"


def test_return_on_exit_and_double_return_refused(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    cp, _ = _place()
    exit_cp = _exit()
    s = records.record_seizure(checkpoint=cp, item_code="liquid_over_limit")
    assert s.ticket
    seen: list[Event] = []
    remove = listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            back = records.return_deposit(s.ticket.lower(), at_checkpoint=exit_cp)
    finally:
        remove()
    assert back.status == "returned"
    assert back.returned_checkpoint == exit_cp
    assert back.returned_at is not None
    assert [e.type for e in seen] == ["DepositReturned"]
    assert AuditEntry.objects.filter(action="screening.deposit_returned").count() == 1
    with pytest.raises(DomainError) as exc:
        records.return_deposit(s.ticket, at_checkpoint=exit_cp)
    assert (exc.value.code, exc.value.status) == ("screening.already_returned", 409)
    with pytest.raises(DomainError) as exc:
        records.change_disposition(back, "confiscated")
    assert exc.value.code == "screening.already_returned"


def test_unknown_ticket_and_non_held_ticket_are_refused() -> None:
    cp, _ = _place()
    with pytest.raises(DomainError) as exc:
        records.return_deposit("DNOPE0000", at_checkpoint=cp)
    assert (exc.value.code, exc.value.status) == ("screening.unknown_ticket", 404)
    s = records.record_seizure(checkpoint=cp, item_code="lighter")
    records.change_disposition(s, "confiscated")
    assert s.ticket
    with pytest.raises(DomainError) as exc:
        records.return_deposit(s.ticket, at_checkpoint=cp)
    assert exc.value.code == "screening.not_deposited"


def test_photo_is_stored_encrypted_as_jpeg() -> None:
    cp, _ = _place()
    s = records.record_seizure(checkpoint=cp, item_code="drone", photo=png())
    s.refresh_from_db()
    assert s.photo is not None
    assert bytes(s.photo)[:3] == b"\xff\xd8\xff"
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT photo FROM screening_seizure WHERE id = %s", [s.pk])
        raw = bytes(cur.fetchone()[0])
    assert not raw.startswith(b"\xff\xd8")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "screening.photo_empty"),
        (b"not an image at all", "screening.photo_invalid"),
        (b"GIF89a" + b"\x00" * 20, "screening.photo_invalid"),
        (png()[:40], "screening.photo_invalid"),
        (b"\xff" * (records.PHOTO_MAX_BYTES + 1), "screening.photo_too_large"),
    ],
)
def test_bad_photos_are_refused(data: bytes, code: str) -> None:
    cp, _ = _place()
    with pytest.raises(DomainError) as exc:
        records.record_seizure(checkpoint=cp, item_code="drone", photo=data)
    assert exc.value.code == code
    assert not Seizure.objects.exists()


def test_gif_is_refused_by_format() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="GIF")
    with pytest.raises(DomainError) as exc:
        records.validate_photo(out.getvalue())
    assert exc.value.code == "screening.photo_format"


def test_list_filters() -> None:
    cp, _ = _place()
    other = _exit()
    records.record_seizure(checkpoint=cp, item_code="lighter")
    records.record_seizure(checkpoint=other, item_code="folding_knife")
    assert records.list_seizures(checkpoint=cp).count() == 1
    assert records.list_seizures(item_class="prohibited").get().item_code == "folding_knife"
    from anbao.core import clock

    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert records.list_seizures(day=today).count() == 2
    assert records.list_seizures(day=today - timedelta(days=1)).count() == 0
    with pytest.raises(DomainError):
        records.list_seizures(item_class="banned")
