"""Accreditation API (mounted at ``/api/accreditation``): people, accreditations, imports.

Reads need ``accreditation.view``, writes ``accreditation.edit``. People are always returned
masked; ``/people/{id}/reveal`` unmasks for the roles that may, and audits every call.
"""

from __future__ import annotations

import base64
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Status, UploadedFile
from ninja.pagination import paginate

from anbao.accounts.auth import need
from anbao.accounts.roles import Cap
from anbao.accreditation import importing_store, services, vetting
from anbao.accreditation.models import Accreditation, Person
from anbao.accreditation.schemas import (
    AccreditationDetailOut,
    AccreditationOut,
    BulkTransitionIn,
    BulkTransitionOut,
    ImportReportOut,
    PersonDetailOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    RevealOut,
    TransitionIn,
    VettingReportOut,
)
from anbao.core.pagination import BoundedPageNumberPagination
from anbao.sites import services as sites

VIEW = need(Cap.ACCREDITATION_VIEW)
EDIT = need(Cap.ACCREDITATION_EDIT)

router = Router(tags=["accreditation"], auth=VIEW)


def _upload(f: UploadedFile | None) -> bytes | None:
    return None if f is None else f.read()


@router.get("/people", response=list[PersonOut], summary="Search people (masked)")
@paginate(BoundedPageNumberPagination, page_size=50)
def list_people(
    request: HttpRequest, q: str = "", organisation: str = "", category: str = ""
) -> QuerySet[Person]:
    """Search people by name, reference, organisation, category, exact ID number or phone."""
    return services.search_people(q=q, organisation=organisation, category=category)


@router.post("/people", response={201: AccreditationOut}, auth=EDIT, summary="Register a person")
def create_person(
    request: HttpRequest, payload: PersonIn, event: str | None = None
) -> Status[Accreditation]:
    """Register a person and apply for an accreditation (the import's rules apply)."""
    ev = sites.get_event(event)
    return Status(201, importing_store.register_one(raw=payload.model_dump(), event=ev))


@router.get("/people/{person_id}", response=PersonDetailOut, summary="A person (masked)")
def read_person(request: HttpRequest, person_id: int) -> Person:
    """Return a person with accreditations and history; ID number and phone stay masked."""
    return services.get_person(person_id)


@router.patch("/people/{person_id}", response=PersonOut, auth=EDIT, summary="Change a person")
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> Person:
    """Change a person's fields (checked with the import's rules)."""
    return importing_store.update_one(
        services.get_person(person_id), patch=payload.model_dump(exclude_unset=True)
    )


@router.post(
    "/people/{person_id}/reveal", response=RevealOut, auth=VIEW, summary="Unmask (audited)"
)
def reveal_person(request: HttpRequest, person_id: int) -> dict[str, str]:
    """Return the unmasked ID number and phone to roles that may see them; audited."""
    return services.reveal_person(services.get_person(person_id), user=request.user)


@router.get("/accreditations", response=list[AccreditationOut], summary="List accreditations")
@paginate(BoundedPageNumberPagination, page_size=50)
def list_accreditations(
    request: HttpRequest,
    event: str | None = None,
    status: str = "",
    category: str = "",
    q: str = "",
) -> QuerySet[Accreditation]:
    """List the event's accreditations, filtered by status, category or person search."""
    return services.search_accreditations(
        event=sites.get_event(event), status=status, category=category, q=q
    ).prefetch_related("zones", "venues")


@router.post(
    "/accreditations/bulk-transition",
    response=BulkTransitionOut,
    auth=EDIT,
    summary="Bulk approval",
)
def bulk_transition(request: HttpRequest, payload: BulkTransitionIn) -> dict[str, Any]:
    """Move many accreditations (default: approve); refusals are listed per id."""
    result = services.bulk_transition(payload.ids, to=payload.to, note=payload.note)
    return {"done": result.done, "problems": [p.as_dict() for p in result.problems]}


@router.get("/accreditations/{acc_id}", response=AccreditationDetailOut, summary="An accreditation")
def read_accreditation(request: HttpRequest, acc_id: int) -> Accreditation:
    """Return an accreditation with its lifecycle history."""
    return services.get_accreditation(acc_id)


@router.post(
    "/accreditations/{acc_id}/transition",
    response=AccreditationOut,
    auth=EDIT,
    summary="Move along the lifecycle",
)
def transition(request: HttpRequest, acc_id: int, payload: TransitionIn) -> Accreditation:
    """Move an accreditation to another status; illegal moves get a 409."""
    return services.transition(services.get_accreditation(acc_id), to=payload.to, note=payload.note)


@router.get("/import/template", auth=VIEW, summary="Download the import template (.xlsx)")
def import_template(request: HttpRequest, event: str | None = None) -> HttpResponse:
    """Return the people import template for the event."""
    data, name, ctype = importing_store.import_template(sites.get_event(event))
    response = HttpResponse(data, content_type=ctype)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.post("/import/preview", response=ImportReportOut, auth=EDIT, summary="Check a people file")
def import_preview(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008  (Ninja's declaration style)
    photos: UploadedFile | None = File(None),  # noqa: B008
    event: str | None = Form(None),
) -> dict[str, Any]:
    """List every problem of a people file (and photo zip) without storing anything."""
    report = importing_store.preview_import(
        data=file.read(),
        filename=file.name or "upload",
        photos_zip=_upload(photos),
        event=sites.get_event(event),
    )
    return importing_store.report_dict(report)


@router.post("/import/commit", response=ImportReportOut, auth=EDIT, summary="Store a people file")
def import_commit(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008
    photos: UploadedFile | None = File(None),  # noqa: B008
    mode: str = Form("all"),
    event: str | None = Form(None),
) -> dict[str, Any]:
    """Store all rows or none (``all``), or the valid rows plus an error spreadsheet."""
    report = importing_store.commit_import(
        data=file.read(),
        filename=file.name or "upload",
        mode=mode,
        photos_zip=_upload(photos),
        event=sites.get_event(event),
    )
    out = importing_store.report_dict(report)
    if report.error_file is not None:
        out["error_file_base64"] = base64.b64encode(report.error_file).decode("ascii")
    return out


@router.post(
    "/vetting/import", response=VettingReportOut, auth=EDIT, summary="Apply police vetting"
)
def vetting_import(
    request: HttpRequest,
    file: UploadedFile = File(...),  # noqa: B008
    event: str | None = Form(None),
) -> dict[str, Any]:
    """Apply a police vetting result file (cleared, refused, pending)."""
    report = vetting.import_vetting(
        data=file.read(), filename=file.name or "upload", event=sites.get_event(event)
    )
    return vetting.report_dict(report)
