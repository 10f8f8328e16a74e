"""Badge printing services: selection, reprint warning, print jobs, print log, collection.

The pure renderer is :mod:`anbao.accreditation.badges`; templates live in
:mod:`~anbao.accreditation.badge_templates`, and the work of a running job in
:mod:`~anbao.accreditation.print_runner`. A job prints the QR stored on the accreditation's
active badge credential (rendered once at issuance). An approved accreditation without one
gets it issued first, through :func:`anbao.accreditation.issuance.issue_credential`; one that
cannot be issued is skipped with the reason in ``PrintJob.skipped``.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, Max, QuerySet

from anbao.accreditation import badge_templates as templates
from anbao.accreditation import badges as B
from anbao.accreditation import print_runner as runner
from anbao.accreditation import services as registry
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    BadgeTemplate,
    Collection,
    IssuedCredential,
    PrintJob,
    PrintJobStatus,
    PrintLogEntry,
)
from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound

log = logging.getLogger(__name__)
S = AccreditationStatus
#: Statuses a badge may be printed in; ``approved`` gets its credential issued first.
PRINTABLE = frozenset({S.APPROVED, S.ISSUED, S.PRINTED, S.COLLECTED})


# --- selection and reprint warnings --------------------------------------------------------


def select_accreditations(
    *,
    category: str | None = None,
    only_new: bool = True,
    accreditation_ids: Sequence[int] | None = None,
) -> QuerySet[Accreditation]:
    """Return the accreditations a job would print (printable statuses only)."""
    qs = Accreditation.objects.filter(status__in=PRINTABLE)
    if accreditation_ids is not None:
        qs = qs.filter(pk__in=list(accreditation_ids))
    if category:
        qs = qs.filter(category__code=category)
    if only_new:
        qs = qs.filter(status__in=[S.APPROVED, S.ISSUED]).exclude(prints__isnull=False)
    return qs.order_by("category__code", "person__family_name", "person__given_name", "pk")


@dataclass(frozen=True)
class PrintedBefore:
    """An accreditation printed before: how often and when last (the reprint warning)."""

    accreditation_id: int
    prints: int
    last_printed_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "accreditation_id": self.accreditation_id,
            "prints": self.prints,
            "last_printed_at": self.last_printed_at.isoformat(),
        }


def printed_before(accreditation_ids: Iterable[int]) -> list[PrintedBefore]:
    """List which of the given accreditations already have a printed badge."""
    rows = (
        PrintLogEntry.objects.filter(accreditation_id__in=list(accreditation_ids))
        .values("accreditation_id")
        .annotate(n=Count("id"), last=Max("printed_at"))
        .order_by("accreditation_id")
    )
    return [PrintedBefore(r["accreditation_id"], r["n"], r["last"]) for r in rows]


def reprint_warning(
    *,
    category: str | None = None,
    only_new: bool = True,
    accreditation_ids: Sequence[int] | None = None,
) -> list[PrintedBefore]:
    """Return the selected accreditations that were printed before (warn before a reprint)."""
    ids = select_accreditations(
        category=category, only_new=only_new, accreditation_ids=accreditation_ids
    ).values_list("pk", flat=True)
    return printed_before(ids)


# --- jobs ----------------------------------------------------------------------------------


@transaction.atomic
def create_print_job(
    *,
    category: str | None = None,
    only_new: bool = True,
    accreditation_ids: Sequence[int] | None = None,
    template: BadgeTemplate | str | None = None,
    allow_reprint: bool = False,
    imposition: str = "single",
) -> PrintJob:
    """Queue a print job; refuse ``badges.reprint`` when any selected badge was printed before."""
    if imposition not in ("single", "a4"):
        raise DomainError("badges.bad_imposition", "Imposition is 'single' or 'a4'.")
    name, _layout, _assets = templates.resolve_layout(template)
    ids = list(
        select_accreditations(
            category=category, only_new=only_new, accreditation_ids=accreditation_ids
        ).values_list("pk", flat=True)
    )
    skipped: list[dict[str, Any]] = []
    if accreditation_ids is not None:
        chosen = set(ids)
        states = dict(
            Accreditation.objects.filter(pk__in=list(accreditation_ids)).values_list("pk", "status")
        )
        for pk in accreditation_ids:
            if pk in chosen:
                continue
            status = states.get(pk)
            reason = (
                "no such accreditation"
                if status is None
                else "already printed"
                if status in PRINTABLE
                else f"status {status} is not printable"
            )
            skipped.append({"id": pk, "reason": reason})
    if not ids:
        raise DomainError(
            "badges.nothing_to_print",
            "No accreditation matches: none is approved or issued and unprinted.",
            detail={"skipped": skipped},
        )
    before = printed_before(ids)
    if before and not allow_reprint:
        raise DomainError(
            "badges.reprint",
            f"{len(before)} of the selected badges were printed before; confirm the reprint.",
            status=409,
            detail={"printed_before": [p.as_dict() for p in before]},
        )
    ctx = audit.current_context()
    tpl = template if isinstance(template, BadgeTemplate) else None
    if tpl is None and name not in B.DEFAULT_TEMPLATES:
        tpl = BadgeTemplate.objects.filter(name=name).first()
    job = PrintJob.objects.create(
        created_by_id=ctx.actor_id,
        created_by_label=ctx.actor_label[:150],
        template=tpl,
        template_name=name,
        filters={
            "category": category,
            "only_new": only_new,
            "accreditation_ids": ids,
            "allow_reprint": allow_reprint,
            "reprints": len(before),
        },
        imposition=imposition,
        total=len(ids),
        skipped=skipped,
        created_at=clock.now(),
    )
    audit.record("badges.print_job_queued", obj=job, after={"total": len(ids), "template": name})
    return job


def start_print_job(
    *,
    category: str | None = None,
    only_new: bool = True,
    accreditation_ids: Sequence[int] | None = None,
    template: BadgeTemplate | str | None = None,
    allow_reprint: bool = False,
    imposition: str = "single",
    background: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> PrintJob:
    """Queue a print job and run it in a background thread (or inline when not ``background``).

    ``on_progress(done, total)`` is called as badges are drawn when the job runs inline (the
    CLI's progress bar); a background job's progress is read from its row.
    """
    job = create_print_job(
        category=category,
        only_new=only_new,
        accreditation_ids=accreditation_ids,
        template=template,
        allow_reprint=allow_reprint,
        imposition=imposition,
    )
    if not background:
        run_print_job(job.pk, on_progress=on_progress)
        job.refresh_from_db()
        return job
    # The thread keeps the caller's audit context, so its audit rows name who started the job.
    ctx = contextvars.copy_context()
    thread = threading.Thread(
        target=ctx.run, args=(_run_in_thread, job.pk), name=f"print-job-{job.pk}", daemon=True
    )
    thread.start()
    _threads[job.pk] = thread
    return job


_threads: dict[int, threading.Thread] = {}


def wait_for_job(job: PrintJob, timeout: float | None = None) -> PrintJob:
    """Wait for a background job started in this process; return it refreshed."""
    thread = _threads.get(job.pk)
    if thread is not None:
        thread.join(timeout)
        if not thread.is_alive():
            _threads.pop(job.pk, None)
    job.refresh_from_db()
    return job


def _run_in_thread(job_id: int) -> None:
    # A fresh thread must not reuse a connection that went stale; inline runs (the CLI, a
    # request, a test transaction) keep theirs, since closing it would end their transaction.
    close_old_connections()
    try:
        run_print_job(job_id)
    except Exception:
        # run_print_job marks the job failed itself; this catches a job that vanished.
        log.exception("print job %s could not run", job_id)
    finally:
        connection.close()  # each thread has its own connection; do not leak it


def run_print_job(
    job_id: int, *, on_progress: Callable[[int, int], None] | None = None
) -> PrintJob:
    """Run a queued job: issue missing credentials, render, write the PDF, log, mark printed."""
    job = PrintJob.objects.select_related("template").get(pk=job_id)
    if job.status != PrintJobStatus.QUEUED:
        raise DomainError("badges.job_not_queued", f"Print job {job_id} is {job.status}.", 409)
    runner.job_update(job, status=PrintJobStatus.RUNNING, started_at=clock.now())
    try:
        runner.run(job, on_progress)
    except Exception as exc:
        log.exception("print job %s failed", job.pk)
        message = f"{exc.code}: {exc.message}" if isinstance(exc, DomainError) else repr(exc)
        runner.job_update(
            job, status=PrintJobStatus.FAILED, error=message[:2000], finished_at=clock.now()
        )
        audit.record("badges.print_job_failed", obj=job, after={"error": message[:200]})
        return job
    runner.job_update(job, status=PrintJobStatus.DONE, finished_at=clock.now())
    audit.record(
        "badges.print_job_done",
        obj=job,
        after={"done": job.done, "skipped": len(job.skipped), "output": job.output},
    )
    return job


def get_job(job_id: int) -> PrintJob:
    """Return a print job; raise ``badges.unknown_job``."""
    job = PrintJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound("badges.unknown_job", f"No print job {job_id}.")
    return job


def job_output(job: PrintJob) -> tuple[Path, str]:
    """Return the job's file and its content type; raise ``badges.job_not_done``."""
    if job.status != PrintJobStatus.DONE or not job.output:
        raise DomainError("badges.job_not_done", f"Print job {job.pk} is {job.status}.", 409)
    path = Path(settings.MEDIA_ROOT) / job.output
    if not path.is_file():
        raise NotFound("badges.output_missing", f"The file of print job {job.pk} is gone.")
    audit.record_read("badge_pdf", obj=job)
    return path, "application/zip" if path.suffix == ".zip" else "application/pdf"


# --- collection ----------------------------------------------------------------------------


@transaction.atomic
def record_collection(
    *, accreditation: Accreditation, id_checked: bool, note: str = "", method: str = "resident_id"
) -> Collection:
    """Record a badge handed over at the desk; refuse unless the holder's ID was checked."""
    if not id_checked:
        raise DomainError(
            "badges.id_not_checked",
            "A badge is handed over only after the collector's ID document was checked.",
        )
    acc = Accreditation.objects.select_for_update().get(pk=accreditation.pk)
    if acc.status != S.PRINTED:
        raise DomainError(
            "badges.not_printed",
            f"Only a printed badge can be collected (this accreditation is {acc.status}).",
            status=409,
        )
    from anbao.accreditation.models import IdCheckMethod

    if method not in IdCheckMethod.values:
        raise DomainError(
            "badges.bad_id_check",
            f"Unknown ID check method {method!r}.",
            problems=[FieldProblem("method", f"one of {', '.join(IdCheckMethod.values)}")],
        )
    ctx = audit.current_context()
    entry = Collection.objects.create(
        accreditation=acc,
        collected_at=clock.now(),
        collected_by_id=ctx.actor_id,
        collected_by_label=ctx.actor_label[:150],
        id_check_method=method,
        id_checked=True,
        note=note[:300],
    )
    registry.transition(acc, to=S.COLLECTED, note=f"collected, ID checked ({method})")
    audit.record(
        "badges.collected", obj=acc, after={"method": method, "note": note[:100] if note else ""}
    )
    accreditation.status = S.COLLECTED
    return entry


def print_history(accreditation: Accreditation) -> list[PrintLogEntry]:
    """Return the print log of one accreditation, newest first."""
    return list(
        PrintLogEntry.objects.filter(accreditation=accreditation)
        .select_related("job")
        .order_by("-printed_at", "-id")
    )


def render_badges(
    *,
    accreditation_ids: Sequence[int],
    template: BadgeTemplate | str | None = None,
    imposition: B.Imposition = "single",
) -> bytes:
    """Render the badges of accreditations that hold a credential, without logging a print."""
    _name, layout, assets = templates.resolve_layout(template)
    printed: list[tuple[Accreditation, IssuedCredential]] = []
    return B.BadgeRenderer(layout, assets=assets).render(
        runner.badge_stream(list(accreditation_ids), printed), imposition=imposition
    )
