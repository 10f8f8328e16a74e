"""Badge production API (mounted at ``/api/badges``): templates, preview, print jobs, collection.

Reads need ``accreditation.view``, writes ``accreditation.edit``. Each route parses, calls one
service in :mod:`~anbao.accreditation.printing` or
:mod:`~anbao.accreditation.badge_templates`, and returns.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from anbao.accounts.auth import need
from anbao.accounts.roles import Cap
from anbao.accreditation import badge_templates as templates
from anbao.accreditation import badges as B
from anbao.accreditation import printing
from anbao.accreditation import services as registry
from anbao.accreditation.models import BadgeTemplate, Collection, PrintJob
from anbao.core.errors import DomainError, FieldProblem

VIEW = need(Cap.ACCREDITATION_VIEW)
EDIT = need(Cap.ACCREDITATION_EDIT)

router = Router(tags=["badges"], auth=VIEW)


class TemplateOut(Schema):
    """A badge template."""

    id: int
    name: str
    description: str
    size: str
    sides: int
    is_default: bool
    has_logo: bool
    has_background: bool
    layout: dict[str, Any]
    updated_at: datetime

    @staticmethod
    def resolve_has_logo(obj: BadgeTemplate) -> bool:
        """Whether a logo is uploaded."""
        return bool(obj.logo)

    @staticmethod
    def resolve_has_background(obj: BadgeTemplate) -> bool:
        """Whether a background PDF is uploaded."""
        return bool(obj.background_pdf)


class TemplateIn(Schema):
    """A template to save; images come base64-encoded (empty string removes one)."""

    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=300)
    layout: dict[str, Any]
    is_default: bool | None = None
    logo_base64: str | None = Field(None, description="PNG or JPEG")
    background_pdf_base64: str | None = Field(None, description="a PDF: page 1 front, 2 back")


class PreviewIn(Schema):
    """What to preview: a layout being edited, or a saved or bundled template."""

    layout: dict[str, Any] | None = None
    template: str | None = Field(None, description="template name, or a bundled one")
    format: Literal["pdf", "png"] = "png"
    side: int = Field(0, ge=0, le=1)


class SelectionIn(Schema):
    """Which badges a job prints."""

    category: str | None = None
    only_new: bool = True
    accreditation_ids: list[int] | None = None


class JobIn(SelectionIn):
    """A print job to start."""

    template: str | None = None
    allow_reprint: bool = False
    imposition: Literal["single", "a4"] = "single"


class PrintedBeforeOut(Schema):
    """A selected accreditation that was printed before."""

    accreditation_id: int
    prints: int
    last_printed_at: datetime


class JobOut(Schema):
    """A print job and its progress."""

    id: int
    status: str
    done: int
    total: int
    template_name: str
    imposition: str
    filters: dict[str, Any]
    skipped: list[dict[str, Any]]
    error: str
    output_bytes: int
    created_by_label: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class CollectionIn(Schema):
    """A badge handed over at the desk."""

    accreditation_id: int
    id_checked: bool
    method: str = "resident_id"
    note: str = Field("", max_length=300)


class CollectionOut(Schema):
    """A recorded collection."""

    id: int
    accreditation_id: int
    collected_at: datetime
    collected_by_label: str
    id_check_method: str
    id_checked: bool
    note: str


def _b64(value: str | None, field: str) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DomainError(
            "badges.bad_upload",
            f"{field} is not valid base64.",
            problems=[FieldProblem(field, "not valid base64", "invalid")],
        ) from exc


@router.get("/templates", response=list[TemplateOut], summary="Badge templates")
def list_templates(request: HttpRequest) -> list[BadgeTemplate]:
    """Return the saved badge templates."""
    return list(BadgeTemplate.objects.all())


@router.get("/templates/bundled/{name}", response=dict[str, Any], summary="A bundled layout")
def bundled_layout(request: HttpRequest, name: str) -> dict[str, Any]:
    """Return a bundled layout document (``cr80-double``, ``a6-single``) to start a template."""
    if name not in B.DEFAULT_TEMPLATES:
        raise DomainError("badges.unknown_template", f"No bundled template {name!r}.", 404)
    return B.default_layout_document(name)


@router.post("/templates", response={201: TemplateOut}, auth=EDIT, summary="Save a new template")
def create_template(request: HttpRequest, payload: TemplateIn) -> Status[BadgeTemplate]:
    """Create a template; the layout is checked and each problem names its element."""
    tpl = templates.save_template(
        name=payload.name,
        layout=payload.layout,
        description=payload.description,
        logo=_b64(payload.logo_base64, "logo_base64"),
        background_pdf=_b64(payload.background_pdf_base64, "background_pdf_base64"),
        is_default=payload.is_default,
    )
    return Status(201, tpl)


@router.get("/templates/{template_id}", response=TemplateOut, summary="A template")
def read_template(request: HttpRequest, template_id: int) -> BadgeTemplate:
    """Return one template."""
    return templates.get_template(template_id)


@router.put("/templates/{template_id}", response=TemplateOut, auth=EDIT, summary="Change")
def update_template(request: HttpRequest, template_id: int, payload: TemplateIn) -> BadgeTemplate:
    """Replace a template's layout, name and images (checked like a new one)."""
    return templates.save_template(
        template=templates.get_template(template_id),
        name=payload.name,
        layout=payload.layout,
        description=payload.description,
        logo=_b64(payload.logo_base64, "logo_base64"),
        background_pdf=_b64(payload.background_pdf_base64, "background_pdf_base64"),
        is_default=payload.is_default,
    )


@router.delete("/templates/{template_id}", response={204: None}, auth=EDIT, summary="Delete")
def delete_template(request: HttpRequest, template_id: int) -> Status[None]:
    """Delete a template."""
    templates.delete_template(templates.get_template(template_id))
    return Status(204, None)


def _file(data: bytes, fmt: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else "image/png")
    response["Content-Disposition"] = f'inline; filename="{name}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@router.post("/preview", summary="Preview a sample badge (PDF or PNG)")
def preview(request: HttpRequest, payload: PreviewIn) -> HttpResponse:
    """Render one sample badge with a layout being edited, or with a saved template."""
    template: BadgeTemplate | str | None = payload.template
    if payload.template and payload.template not in B.DEFAULT_TEMPLATES:
        template = templates.get_template(payload.template)
    data = templates.preview(
        layout=payload.layout, template=template, fmt=payload.format, side=payload.side
    )
    return _file(data, payload.format, "badge-preview")


@router.get("/templates/{template_id}/preview", summary="Preview a saved template")
def preview_template(
    request: HttpRequest, template_id: int, format: Literal["pdf", "png"] = "png", side: int = 0
) -> HttpResponse:
    """Render one sample badge with a saved template."""
    tpl = templates.get_template(template_id)
    return _file(templates.preview(template=tpl, fmt=format, side=side), format, tpl.name)


@router.post("/reprint-check", response=list[PrintedBeforeOut], summary="Warn before a reprint")
def reprint_check(request: HttpRequest, payload: SelectionIn) -> list[dict[str, Any]]:
    """List the selected accreditations whose badge was printed before."""
    before = printing.reprint_warning(
        category=payload.category,
        only_new=payload.only_new,
        accreditation_ids=payload.accreditation_ids,
    )
    return [p.as_dict() for p in before]


@router.post("/jobs", response={202: JobOut}, auth=EDIT, summary="Start a print job")
def start_job(request: HttpRequest, payload: JobIn) -> Status[PrintJob]:
    """Queue a print job and run it in the background; a reprint needs ``allow_reprint``."""
    job = printing.start_print_job(
        category=payload.category,
        only_new=payload.only_new,
        accreditation_ids=payload.accreditation_ids,
        template=payload.template,
        allow_reprint=payload.allow_reprint,
        imposition=payload.imposition,
    )
    return Status(202, job)


@router.get("/jobs", response=list[JobOut], summary="Recent print jobs")
def list_jobs(request: HttpRequest, limit: int = 50) -> list[PrintJob]:
    """Return the latest print jobs, newest first."""
    return list(PrintJob.objects.all()[: max(1, min(limit, 500))])


@router.get("/jobs/{job_id}", response=JobOut, summary="A print job and its progress")
def read_job(request: HttpRequest, job_id: int) -> PrintJob:
    """Return a print job; poll it for progress."""
    return printing.get_job(job_id)


@router.get("/jobs/{job_id}/download", auth=EDIT, summary="Download a job's PDF (or zip)")
def download_job(request: HttpRequest, job_id: int) -> FileResponse:
    """Return the job's PDF, or a zip of PDFs for a job written in parts."""
    path, content_type = printing.job_output(printing.get_job(job_id))
    return FileResponse(path.open("rb"), content_type=content_type, as_attachment=True,
                        filename=path.name)  # fmt: skip


@router.post("/collections", response={201: CollectionOut}, auth=EDIT, summary="Collect a badge")
def collect(request: HttpRequest, payload: CollectionIn) -> Status[Collection]:
    """Record a badge handed over at the desk after the collector's ID was checked."""
    entry = printing.record_collection(
        accreditation=registry.get_accreditation(payload.accreditation_id),
        id_checked=payload.id_checked,
        note=payload.note,
        method=payload.method,
    )
    return Status(201, entry)
