"""Running a print job: credentials first, then parts rendered, logged and packaged.

Called by :func:`anbao.accreditation.printing.run_print_job`, which owns the job's status.
A job writes its PDF in parts of :data:`PART_SIZE` badges (reportlab keeps a document in
memory until it is saved); one part is served as a PDF, several as a zip of PDFs.
"""

from __future__ import annotations

import multiprocessing
import os
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from anbao.accreditation import badge_templates as templates
from anbao.accreditation import badges as B
from anbao.accreditation import issuance
from anbao.accreditation import services as registry
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    BadgeTemplate,
    IssuedCredential,
    PrintJob,
    PrintLogEntry,
)
from anbao.core import audit, clock
from anbao.core.errors import DomainError

S = AccreditationStatus
#: Badges per PDF part of a job.
PART_SIZE = 1000
#: Worker processes that render the parts of a large job.
WORKERS = min(2, os.cpu_count() or 1)
#: A job of at least this many parts renders them in worker processes; below it, spawning the
#: workers (about a second each: reportlab, Pillow, the font) costs more than it saves.
POOL_MIN_PARTS = 3
#: ``on_progress(done, total)``
Progress = Callable[[int, int], None]
_BATCH = 200
PROGRESS_EVERY = 25


def print_dir() -> Path:
    """Return ``ANBAO_HOME/media/print/``, created if missing."""
    path = Path(settings.MEDIA_ROOT) / "print"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_update(job: PrintJob, **fields: Any) -> None:
    """Set fields on the job and save only them (progress is written while rendering)."""
    for key, value in fields.items():
        setattr(job, key, value)
    PrintJob.objects.filter(pk=job.pk).update(**fields)


def run(job: PrintJob, on_progress: Progress | None) -> None:
    """Issue missing credentials, render the parts, log them and package the output."""
    tpl: BadgeTemplate | str = job.template or job.template_name
    _name, layout, assets = templates.resolve_layout(tpl)
    ids: list[int] = list(job.filters.get("accreditation_ids") or [])
    skipped = list(job.skipped)
    ready = _ensure_credentials(ids, skipped)
    job_update(job, skipped=skipped, total=len(ready))
    parts = [ready[i : i + PART_SIZE] for i in range(0, len(ready), PART_SIZE)]
    if len(parts) >= POOL_MIN_PARTS and WORKERS > 1:
        paths = _render_parts_in_pool(job, layout, assets, parts, on_progress)
    else:
        paths = _render_parts_here(job, layout, assets, parts, on_progress)
    output = _package(job, paths)
    job_update(
        job,
        output=str(output.relative_to(Path(settings.MEDIA_ROOT))),
        output_bytes=output.stat().st_size,
    )


def _part_path(job: PrintJob, n: int) -> Path:
    return print_dir() / f"job-{job.pk}-part-{n:03d}.pdf"


def _imposition(job: PrintJob) -> B.Imposition:
    return "a4" if job.imposition == "a4" else "single"


def _render_parts_here(
    job: PrintJob,
    layout: B.Layout,
    assets: dict[str, bytes],
    parts: list[list[int]],
    on_progress: Progress | None,
) -> list[Path]:
    """Render part after part in this thread, saving progress every few badges."""
    renderer = B.BadgeRenderer(layout, assets=assets)
    paths: list[Path] = []
    done = 0
    for n, part_ids in enumerate(parts, start=1):
        printed: list[tuple[Accreditation, IssuedCredential]] = []

        def tick(count: int, base: int = done) -> None:
            if count % PROGRESS_EVERY == 0:
                job_update(job, done=base + count)
            if on_progress is not None:
                on_progress(base + count, job.total)

        path = _part_path(job, n)
        with path.open("wb") as fp:
            renderer.render_to(
                fp,
                badge_stream(part_ids, printed),
                imposition=_imposition(job),
                progress=tick,
                title=f"anbao print job {job.pk} part {n}",
            )
        paths.append(path)
        _log_printed(job, printed)
        done += len(printed)
        job_update(job, done=done)
    return paths


def _render_parts_in_pool(
    job: PrintJob,
    layout: B.Layout,
    assets: dict[str, bytes],
    parts: list[list[int]],
    on_progress: Progress | None,
) -> list[Path]:
    """Render parts in worker processes while this thread reads the next part and logs.

    Workers are spawned, not forked: the server process runs threads, and a fork copies their
    locks in whatever state they are. The renderer is pure, so a worker needs no Django.
    """
    paths: list[Path] = []
    done = 0
    pending: deque[tuple[Future[int], Path, list[tuple[Accreditation, IssuedCredential]]]]
    pending = deque()

    def finish() -> None:
        nonlocal done
        future, path, printed = pending.popleft()
        future.result()
        paths.append(path)
        _log_printed(job, printed)
        done += len(printed)
        job_update(job, done=done)
        if on_progress is not None:
            on_progress(done, job.total)

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        for n, part_ids in enumerate(parts, start=1):
            printed: list[tuple[Accreditation, IssuedCredential]] = []
            data = list(badge_stream(part_ids, printed))
            path = _part_path(job, n)
            future = pool.submit(
                B.render_part,
                str(path),
                layout.document,
                data,
                assets=assets,
                imposition=_imposition(job),
                title=f"anbao print job {job.pk} part {n}",
            )
            pending.append((future, path, printed))
            # At most one part per worker in flight: bounded memory, both cores busy.
            while len(pending) >= WORKERS:
                finish()
        while pending:
            finish()
    return paths


def _ensure_credentials(ids: list[int], skipped: list[dict[str, Any]]) -> list[int]:
    """Issue credentials for approved accreditations that lack one; return the printable ids.

    Only an approved accreditation is issued here. One further along without an active
    credential had it cancelled: printing must not quietly undo that, so it is skipped.
    """
    have = set(
        IssuedCredential.objects.filter(
            accreditation_id__in=ids, purpose="badge", revoked_at__isnull=True
        ).values_list("accreditation_id", flat=True)
    )
    for acc in Accreditation.objects.filter(pk__in=[i for i in ids if i not in have]):
        if acc.status != S.APPROVED:
            skipped.append({"id": acc.pk, "reason": "no active credential (cancelled)"})
            continue
        try:
            issuance.issue_credential(accreditation=acc, reason="issued for printing")
        except DomainError as exc:
            skipped.append({"id": acc.pk, "reason": f"{exc.code}: {exc.message}"})
        else:
            have.add(acc.pk)
    return [i for i in ids if i in have]


def badge_data(acc: Accreditation, cred: IssuedCredential) -> B.BadgeData:
    """Return what the badge of ``acc`` shows, with the QR stored on ``cred``."""
    person, category, event = acc.person, acc.category, acc.event
    org = person.organisation
    tz = ZoneInfo(event.time_zone or "Asia/Shanghai")
    start = cred.valid_from.astimezone(tz)
    end = cred.valid_until.astimezone(tz)
    return B.BadgeData(
        name_zh=person.name_zh,
        family_name=person.family_name,
        given_name=person.given_name,
        organisation=org.name if org else "",
        function=acc.function,
        category_code=category.code,
        category_name=" ".join(p for p in (category.name_zh, category.name_en) if p),
        category_colour=category.colour or "#808080",
        zones=tuple(sorted((z.number for z in acc.zones.all()), key=_natural)),
        venues=tuple(sorted(v.code for v in acc.venues.all())),
        photo=bytes(person.photo) if person.photo else None,
        qr_png=bytes(cred.qr_png) if cred.qr_png else None,
        qr_text=cred.qr_text,
        credential_id=cred.cid[:12],
        event_name=" ".join(p for p in (event.name, event.name_en) if p),
        validity=f"{start:%Y-%m-%d} - {end:%Y-%m-%d}",
        badge_number=f"{acc.pk:06d}",
    )


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (10**9, text)


def badge_stream(
    ids: list[int], printed: list[tuple[Accreditation, IssuedCredential]]
) -> Iterator[B.BadgeData]:
    """Yield badge data batch by batch, so a large job never holds every photo in memory."""
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        accs = {
            a.pk: a
            for a in Accreditation.objects.filter(pk__in=batch)
            .select_related("person__organisation", "category", "event")
            .prefetch_related("zones", "venues")
        }
        creds: dict[int, IssuedCredential] = {}
        for cred in IssuedCredential.objects.filter(
            accreditation_id__in=batch, purpose="badge", revoked_at__isnull=True
        ).order_by("issued_at", "id"):
            assert cred.accreditation_id is not None  # noqa: S101 (filtered on it)
            creds[cred.accreditation_id] = cred  # the latest wins
        for pk in batch:
            acc, found = accs.get(pk), creds.get(pk)
            if acc is None or found is None:
                continue
            printed.append((acc, found))
            yield badge_data(acc, found)


def _log_printed(job: PrintJob, printed: list[tuple[Accreditation, IssuedCredential]]) -> None:
    counts = dict(
        PrintLogEntry.objects.filter(accreditation_id__in=[a.pk for a, _ in printed])
        .values("accreditation_id")
        .annotate(n=Count("id"))
        .values_list("accreditation_id", "n")
    )
    now = clock.now()
    label = audit.current_context().actor_label[:150]
    with transaction.atomic():
        PrintLogEntry.objects.bulk_create(
            PrintLogEntry(
                accreditation=acc,
                credential=cred,
                cid=cred.cid,
                job=job,
                printed_at=now,
                printed_by_label=label,
                reprint=counts.get(acc.pk, 0),
            )
            for acc, cred in printed
        )
    for acc, _cred in printed:
        if acc.status == S.ISSUED:
            try:
                registry.transition(acc, to=S.PRINTED, note=f"print job {job.pk}")
            except DomainError as exc:
                # Suspended or revoked while the job ran: the badge exists, the log says so,
                # and the job lists it rather than failing the whole run.
                job.skipped.append({"id": acc.pk, "reason": f"printed; status kept: {exc.code}"})
                job_update(job, skipped=job.skipped)
        elif counts.get(acc.pk):
            audit.record(
                "badges.reprinted", obj=acc, after={"job": job.pk, "reprint": counts[acc.pk]}
            )


def _package(job: PrintJob, parts: list[Path]) -> Path:
    if len(parts) == 1:
        final = print_dir() / f"job-{job.pk}.pdf"
        parts[0].replace(final)
        return final
    final = print_dir() / f"job-{job.pk}.zip"
    # PDFs are compressed already: store them, do not deflate again.
    with zipfile.ZipFile(final, "w", zipfile.ZIP_STORED) as zf:
        for part in parts:
            zf.write(part, arcname=part.name)
            part.unlink()
    return final
