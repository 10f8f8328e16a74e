"""Badge printing: issue, print, read the PDF back, verify the QR; reprints; collection."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import timedelta
from pathlib import Path

import pypdf
import pytest
from django.conf import settings

from anbao.accreditation import issuance, keystore, print_runner, printing
from anbao.accreditation import services as registry
from anbao.accreditation.credentials.revocation import RevocationSet
from anbao.accreditation.credentials.verifier import Checkpoint, verify
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    Collection,
    IssuedCredential,
    PrintJobStatus,
    PrintLogEntry,
)
from anbao.core import audit, clock
from anbao.core.errors import DomainError
from tests.accreditation.factories import make_accreditation
from tests.accreditation.test_badges import decode_qr, make_photo, page_text, rasterise

S = AccreditationStatus
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_home(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def approved(code: str = "D", *, photo: bool = True, **person: object) -> Accreditation:
    acc = make_accreditation(code, **person)
    if photo:
        registry.set_photo(acc.person, data=make_photo(acc.pk))
    if acc.category.vetting_required:
        registry.transition(acc, to=S.VETTED)
    registry.transition(acc, to=S.APPROVED)
    acc.refresh_from_db()
    return acc


def issued(code: str = "D", **person: object) -> Accreditation:
    acc = approved(code, **person)
    # Valid around the test clock, so the signing key (made now) covers the badge's window.
    now = clock.now()
    Accreditation.objects.filter(pk=acc.pk).update(
        valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=7)
    )
    acc.refresh_from_db()
    issuance.issue_credential(accreditation=acc)
    acc.refresh_from_db()
    return acc


def job_pdf(job) -> bytes:  # type: ignore[no-untyped-def]
    return (Path(settings.MEDIA_ROOT) / job.output).read_bytes()


def test_printed_badge_reads_back_and_its_qr_verifies() -> None:
    acc = issued("D", name_zh="王小明", family_name="Wang", given_name="Xiaoming")
    cred = issuance.active_credential(acc)
    assert cred is not None

    job = printing.start_print_job(accreditation_ids=[acc.pk], background=False)

    assert job.status == PrintJobStatus.DONE, job.error
    assert (job.done, job.total) == (1, 1)
    pdf = job_pdf(job)
    assert len(pdf) <= 60_000
    front = page_text(pdf, 0)
    assert "王小明" in front
    assert "WANG Xiaoming" in front
    assert acc.category.code in front
    decoded = decode_qr(rasterise(pdf, 1))
    assert decoded == [cred.qr_text]
    decision = verify(
        decoded[0],
        trust_list=keystore.loaded_trust_list(),
        revocations=RevocationSet(),
        policy=None,
        checkpoint=Checkpoint(code="gate", event=acc.event.code),
        now=clock.now(),
    )
    assert decision.allowed, decision
    assert decision.claims is not None
    assert decision.claims.cid.hex() == cred.cid
    acc.refresh_from_db()
    assert acc.status == S.PRINTED
    [entry] = PrintLogEntry.objects.filter(accreditation=acc)
    assert (entry.cid, entry.reprint, entry.job_id) == (cred.cid, 0, job.pk)


def test_job_issues_missing_credentials_first() -> None:
    acc = approved("S")
    job = printing.start_print_job(accreditation_ids=[acc.pk], background=False)
    assert job.status == PrintJobStatus.DONE, job.error
    cred = IssuedCredential.objects.get(accreditation=acc)
    assert decode_qr(rasterise(job_pdf(job), 1)) == [cred.qr_text]
    acc.refresh_from_db()
    assert acc.status == S.PRINTED


def test_only_new_by_category_and_not_printable_ones_are_left_out() -> None:
    d1, d2 = issued("D"), issued("D")
    media = issued("E")
    applied = make_accreditation("D")
    job = printing.start_print_job(category="D", background=False)
    assert set(job.filters["accreditation_ids"]) == {d1.pk, d2.pk}
    assert media.pk not in job.filters["accreditation_ids"]
    assert applied.pk not in job.filters["accreditation_ids"]
    # printed ones are no longer new
    with pytest.raises(DomainError) as info:
        printing.start_print_job(category="D", background=False)
    assert info.value.code == "badges.nothing_to_print"


def test_reprint_is_warned_and_refused_unless_allowed() -> None:
    acc = issued("D")
    other = issued("D")
    printing.start_print_job(accreditation_ids=[acc.pk], background=False)

    warning = printing.reprint_warning(accreditation_ids=[acc.pk, other.pk], only_new=False)
    assert [(w.accreditation_id, w.prints) for w in warning] == [(acc.pk, 1)]
    with pytest.raises(DomainError) as info:
        printing.start_print_job(
            accreditation_ids=[acc.pk, other.pk], only_new=False, background=False
        )
    assert info.value.code == "badges.reprint"
    assert info.value.status == 409
    assert info.value.detail["printed_before"][0]["accreditation_id"] == acc.pk

    job = printing.start_print_job(
        accreditation_ids=[acc.pk, other.pk], only_new=False, allow_reprint=True, background=False
    )
    assert job.status == PrintJobStatus.DONE, job.error
    reprints = {e.accreditation_id: e.reprint for e in PrintLogEntry.objects.filter(job=job)}
    assert reprints == {acc.pk: 1, other.pk: 0}
    assert [e.reprint for e in printing.print_history(acc)] == [1, 0]


def test_explicit_selection_lists_what_was_skipped() -> None:
    acc = issued("D")
    applied = make_accreditation("D")
    job = printing.start_print_job(
        accreditation_ids=[acc.pk, applied.pk, 999_999], background=False
    )
    reasons = {s["id"]: s["reason"] for s in job.skipped}
    assert reasons[applied.pk] == "status applied is not printable"
    assert reasons[999_999] == "no such accreditation"


def test_start_returns_at_once_and_runs_the_job_in_a_thread_as_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acc = issued("D")
    seen: list[tuple[int, str, str]] = []

    def fake_run(job_id: int) -> None:
        # A thread has its own connection and cannot see this test's transaction: record only.
        seen.append((job_id, threading.current_thread().name, audit.current_context().actor_label))

    monkeypatch.setattr(printing, "run_print_job", fake_run)
    with audit.acting_as(audit.AuditContext(actor_label="desk-1")):
        job = printing.start_print_job(accreditation_ids=[acc.pk])
    assert job.status == PrintJobStatus.QUEUED
    printing.wait_for_job(job, timeout=10)
    assert seen == [(job.pk, f"print-job-{job.pk}", "desk-1")]


def test_progress_is_saved_to_the_job_row_while_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    accs = [issued("D") for _ in range(3)]
    monkeypatch.setattr(print_runner, "PROGRESS_EVERY", 1)
    saved: list[int] = []
    real_update = print_runner.job_update

    def spy(job, **fields):  # type: ignore[no-untyped-def]
        if "done" in fields:
            saved.append(fields["done"])
        real_update(job, **fields)

    monkeypatch.setattr(print_runner, "job_update", spy)
    job = printing.start_print_job(accreditation_ids=[a.pk for a in accs], background=False)
    assert saved[:3] == [1, 2, 3]
    assert (job.done, job.total, job.status) == (3, 3, PrintJobStatus.DONE)


def test_failed_job_records_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    acc = issued("D")

    def boom(*args: object, **kwargs: object) -> None:
        raise DomainError("badges.printer_on_fire", "no")

    monkeypatch.setattr(print_runner, "_package", boom)
    job = printing.start_print_job(accreditation_ids=[acc.pk], background=False)
    assert job.status == PrintJobStatus.FAILED
    assert job.error.startswith("badges.printer_on_fire")


def test_a4_imposition_job() -> None:
    accs = [issued("G") for _ in range(3)]
    job = printing.start_print_job(
        accreditation_ids=[a.pk for a in accs], imposition="a4", background=False
    )
    reader = pypdf.PdfReader(io.BytesIO(job_pdf(job)))
    assert len(reader.pages) == 2  # a sheet of fronts, a sheet of backs
    assert len(decode_qr(rasterise(job_pdf(job), 1, dpi=200))) == 3


@pytest.mark.parametrize("workers", [1, 2])
def test_large_job_is_written_in_parts_zipped(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    # Two workers render the parts in spawned processes; one renders them in this thread.
    monkeypatch.setattr(print_runner, "PART_SIZE", 2)
    monkeypatch.setattr(print_runner, "WORKERS", workers)
    monkeypatch.setattr(print_runner, "POOL_MIN_PARTS", 2)
    pooled: list[int] = []
    real_pool = print_runner._render_parts_in_pool

    def spy(*args):  # type: ignore[no-untyped-def]
        pooled.append(1)
        return real_pool(*args)

    monkeypatch.setattr(print_runner, "_render_parts_in_pool", spy)
    accs = [issued("C") for _ in range(3)]
    job = printing.start_print_job(accreditation_ids=[a.pk for a in accs], background=False)
    assert job.output.endswith(".zip")
    with zipfile.ZipFile(Path(settings.MEDIA_ROOT) / job.output) as zf:
        names = zf.namelist()
        assert names == [f"job-{job.pk}-part-001.pdf", f"job-{job.pk}-part-002.pdf"]
        pages = [len(pypdf.PdfReader(io.BytesIO(zf.read(n))).pages) for n in names]
    assert pages == [4, 2]
    _path, content_type = printing.job_output(job)
    assert content_type == "application/zip"
    assert (job.done, job.total) == (3, 3)
    assert len(pooled) == (1 if workers == 2 else 0)
    assert PrintLogEntry.objects.filter(job=job).count() == 3
    with zipfile.ZipFile(Path(settings.MEDIA_ROOT) / job.output) as zf:
        first, second = (zf.read(n) for n in names)
    decoded = {*decode_qr(rasterise(first, 1)), *decode_qr(rasterise(first, 3))}
    decoded |= set(decode_qr(rasterise(second, 1)))
    assert decoded == {c.qr_text for c in IssuedCredential.objects.filter(accreditation__in=accs)}


def test_collection_needs_a_printed_badge_and_an_id_check() -> None:
    acc = issued("D")
    with pytest.raises(DomainError) as info:
        printing.record_collection(accreditation=acc, id_checked=True, note="")
    assert info.value.code == "badges.not_printed"
    printing.start_print_job(accreditation_ids=[acc.pk], background=False)
    acc.refresh_from_db()
    with pytest.raises(DomainError) as info:
        printing.record_collection(accreditation=acc, id_checked=False, note="forgot ID")
    assert info.value.code == "badges.id_not_checked"
    acc.refresh_from_db()
    assert acc.status == S.PRINTED
    entry = printing.record_collection(
        accreditation=acc, id_checked=True, note="ID matches photo", method="resident_id"
    )
    acc.refresh_from_db()
    assert acc.status == S.COLLECTED
    assert Collection.objects.get(pk=entry.pk).id_checked


def test_badge_without_photo_still_prints() -> None:
    acc = approved("T", photo=False)
    job = printing.start_print_job(accreditation_ids=[acc.pk], background=False)
    assert job.status == PrintJobStatus.DONE, job.error


def test_revoked_credential_is_never_printed_and_reissue_prints_the_new_one() -> None:
    acc = issued("D")
    old = issuance.active_credential(acc)
    assert old is not None
    new = issuance.reissue_credential(accreditation=acc, reason="lost")
    job = printing.start_print_job(accreditation_ids=[acc.pk], background=False)
    assert decode_qr(rasterise(job_pdf(job), 1)) == [new.qr_text]
    assert PrintLogEntry.objects.get(job=job).cid == new.cid != old.cid


def test_cancelled_credential_is_not_quietly_reissued_by_a_reprint() -> None:
    acc = issued("D")
    printing.start_print_job(accreditation_ids=[acc.pk], background=False)
    issuance.cancel_credential(accreditation=acc, reason="withdrawn")
    job = printing.start_print_job(
        accreditation_ids=[acc.pk], only_new=False, allow_reprint=True, background=False
    )
    assert job.skipped == [{"id": acc.pk, "reason": "no active credential (cancelled)"}]
    assert (job.done, job.total) == (0, 0)
    assert not IssuedCredential.objects.filter(accreditation=acc, revoked_at__isnull=True).exists()
