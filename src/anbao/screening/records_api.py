"""Screening records and seizures API (mounted at ``/api/screening``): a thin router."""

from datetime import date, datetime
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from anbao.accounts.auth import need
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core import audit
from anbao.core.errors import NotFound
from anbao.core.pagination import BoundedPageNumberPagination
from anbao.screening import records
from anbao.screening import taxonomy as tx
from anbao.screening.models.records import ScreeningRecord, Seizure

VIEW = need(Cap.SCREENING_VIEW)
OPERATE = need(Cap.SCREENING_OPERATE)

router = Router(tags=["screening records"], auth=VIEW)


def _operator(request: HttpRequest) -> User:
    """Return the authenticated user (auth has run: it is never anonymous here)."""
    return cast(User, request.user)


class ScreeningIn(Schema):
    """One screening to record."""

    checkpoint: str = Field(max_length=40)
    lane: str | None = Field(None, max_length=40)
    subject: str = Field(max_length=10)
    method: str = Field(max_length=20)
    outcome: str = Field(max_length=16)
    searcher_gender: str = Field("", max_length=6)
    plate: str = Field("", max_length=20)
    public: bool = False
    passage_id: int | None = None


class ScreeningOut(Schema):
    """A recorded screening."""

    id: int
    checkpoint: str = Field(alias="checkpoint.code")
    lane: str | None = None
    subject: str
    method: str
    outcome: str
    searcher_gender: str
    plate: str
    public: bool
    passage_id: int | None
    at: datetime

    @staticmethod
    def resolve_lane(obj: ScreeningRecord) -> str | None:
        """Return the lane code."""
        return obj.lane.code if obj.lane else None


class SeizureIn(Schema):
    """A seized item (form fields; the photo comes as a file part)."""

    checkpoint: str = Field(max_length=40)
    lane: str | None = Field(None, max_length=40)
    item: str = Field(max_length=40)
    disposition: str | None = Field(None, max_length=12)
    quantity: int = Field(1, ge=1, le=1000)
    note: str = Field("", max_length=500)
    police_case: str = Field("", max_length=60)
    screening_id: int | None = None


class SeizureOut(Schema):
    """A seized item."""

    id: int
    checkpoint: str = Field(alias="checkpoint.code")
    lane: str | None = None
    screening_id: int | None
    item_code: str
    item_zh: str
    item_en: str
    item_class: str
    quantity: int
    note: str
    disposition: str
    status: str
    ticket: str | None
    police_case: str
    has_photo: bool = False
    at: datetime
    returned_at: datetime | None

    @staticmethod
    def resolve_lane(obj: Seizure) -> str | None:
        """Return the lane code."""
        return obj.lane.code if obj.lane else None

    @staticmethod
    def resolve_has_photo(obj: Seizure) -> bool:
        """Say whether a photo is stored."""
        return bool(obj.photo_type)


class DispositionIn(Schema):
    """A new disposition."""

    disposition: str = Field(max_length=12)
    police_case: str = Field("", max_length=60)


class ReturnIn(Schema):
    """Where a deposit is returned."""

    checkpoint: str = Field(max_length=40)


@router.get("/taxonomy", summary="Item taxonomy for the three-tap picker")
def read_taxonomy(request: HttpRequest) -> dict[str, Any]:
    """Return the ten most common items, then class → group → items."""
    return tx.default().as_picker()


@router.post(
    "/screenings", response={201: ScreeningOut}, auth=OPERATE, summary="Record a screening"
)
def create_screening(request: HttpRequest, payload: ScreeningIn) -> Status[ScreeningRecord]:
    """Record the screening of a person, bag or vehicle."""
    checkpoint, lane = records.resolve_place(payload.checkpoint, payload.lane)
    data = payload.dict(exclude={"checkpoint", "lane"})
    rec = records.record_screening(
        checkpoint=checkpoint, lane=lane, operator=_operator(request), **data
    )
    return Status(201, rec)


@router.post("/seizures", response={201: SeizureOut}, auth=OPERATE, summary="Record a seizure")
def create_seizure(
    request: HttpRequest,
    payload: Form[SeizureIn],
    photo: UploadedFile | None = File(None),  # noqa: B008  (Ninja's declaration style)
) -> Status[Seizure]:
    """Record a seized item, with an optional photo (multipart)."""
    checkpoint, lane = records.resolve_place(payload.checkpoint, payload.lane)
    screening = records.get_screening(payload.screening_id) if payload.screening_id else None
    seizure = records.record_seizure(
        checkpoint=checkpoint,
        lane=lane,
        screening=screening,
        item_code=payload.item,
        disposition=payload.disposition,
        quantity=payload.quantity,
        note=payload.note,
        police_case=payload.police_case,
        photo=None if photo is None else photo.read(records.PHOTO_MAX_BYTES + 1),
        operator=_operator(request),
    )
    return Status(201, seizure)


@router.get("/seizures", response=list[SeizureOut], summary="List seizures")
@paginate(BoundedPageNumberPagination, page_size=50)
def list_seizures(
    request: HttpRequest,
    checkpoint: str | None = None,
    day: date | None = None,
    item_class: str | None = Query(None, alias="class"),
) -> QuerySet[Seizure]:
    """List seizures, newest first; filter by checkpoint code, local day and class."""
    cp = records.resolve_place(checkpoint)[0] if checkpoint else None
    return records.list_seizures(checkpoint=cp, day=day, item_class=item_class)


@router.get("/seizures/{seizure_id}/photo", summary="A seized item's photo")
def seizure_photo(request: HttpRequest, seizure_id: int) -> HttpResponse:
    """Serve the photo taken of a seized item (the read is audited)."""
    seizure = records.get_seizure(seizure_id)
    data = bytes(seizure.photo or b"")
    if not data:
        raise NotFound("screening.no_photo", "No photo of this item.")
    audit.record_read("seizure_photo", obj=seizure)
    response = HttpResponse(data, content_type=seizure.photo_type or "image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@router.post(
    "/seizures/{seizure_id}/disposition",
    response=SeizureOut,
    auth=OPERATE,
    summary="Change a disposition",
)
def change_disposition(request: HttpRequest, seizure_id: int, payload: DispositionIn) -> Seizure:
    """Change what happens to a seized item (police needs a case number)."""
    return records.change_disposition(
        records.get_seizure(seizure_id),
        payload.disposition,
        police_case=payload.police_case,
        operator=_operator(request),
    )


@router.get("/deposits/{ticket}/receipt.pdf", summary="Deposit claim-ticket receipt (PDF)")
def deposit_receipt(request: HttpRequest, ticket: str, width: int = 58) -> HttpResponse:
    """Return the 58 or 80 mm claim-ticket receipt of a deposit."""
    pdf = records.receipt_pdf(records.get_deposit(ticket), width_mm=width)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="deposit-{ticket}.pdf"'
    return response


@router.post(
    "/deposits/{ticket}/return", response=SeizureOut, auth=OPERATE, summary="Return a deposit"
)
def return_deposit(request: HttpRequest, ticket: str, payload: ReturnIn) -> Seizure:
    """Mark a deposited item returned on exit at a checkpoint."""
    checkpoint, _ = records.resolve_place(payload.checkpoint)
    return records.return_deposit(ticket, at_checkpoint=checkpoint, operator=_operator(request))
