"""Screening records and seizures: the business rules and the only writers.

Every operation is one transaction, writes an audit row and publishes a past-tense event
after the commit. The passage a screening belongs to is kept as a plain ``passage_id``.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from PIL import Image, UnidentifiedImageError

from anbao.accounts.models import User
from anbao.accounts.services import in_checkpoint_scope
from anbao.core import audit, clock
from anbao.core.bus import Event, publish
from anbao.core.errors import DomainError, FieldProblem, Forbidden, NotFound
from anbao.screening import taxonomy as tx
from anbao.screening.models.records import (
    METHODS_BY_SUBJECT,
    Disposition,
    ScreeningMethod,
    ScreeningOutcome,
    ScreeningRecord,
    ScreeningSubject,
    SearcherGender,
    Seizure,
    SeizureStatus,
)
from anbao.screening.receipts import Receipt, render_receipt
from anbao.sites.models import Checkpoint, Lane

PHOTO_MAX_BYTES = 5 * 2**20
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_MAX_SIDE = 1600
_TICKET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_SEIZURE_FIELDS = [
    "checkpoint",
    "lane",
    "screening",
    "item_code",
    "item_class",
    "quantity",
    "disposition",
    "status",
    "ticket",
    "police_case",
    "at",
    "returned_at",
    "returned_checkpoint",
]


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningRecorded(Event):
    """A person, bag or vehicle was screened."""

    relay_latest_only = True

    screening_id: int
    checkpoint: str
    lane: str | None
    subject: str
    method: str
    outcome: str
    at: str


@dataclass(frozen=True)
class SeizureRecorded(Event):
    """An item was seized at screening."""

    relay_latest_only = True

    seizure_id: int
    checkpoint: str
    item_code: str
    item_class: str
    disposition: str
    ticket: str | None
    at: str


@dataclass(frozen=True)
class SeizureDispositionChanged(Event):
    """A seized item's disposition changed."""

    seizure_id: int
    before: str
    after: str
    at: str


@dataclass(frozen=True)
class DepositReturned(Event):
    """A deposited item was returned to its owner on exit."""

    seizure_id: int
    ticket: str
    checkpoint: str
    at: str


# --- helpers -----------------------------------------------------------------------------


def _invalid(field: str, code: str, message: str, status: int = 422) -> DomainError:
    return DomainError(
        code=code, message=message, status=status, problems=[FieldProblem(field, message, code)]
    )


def _check_scope(operator: User | None, checkpoint: Checkpoint) -> None:
    if operator is not None and not in_checkpoint_scope(operator, checkpoint):
        raise Forbidden("screening.out_of_scope", f"Not in your scope: {checkpoint.code}.")


def _check_lane(lane: Lane | None, checkpoint: Checkpoint) -> None:
    if lane is not None and lane.checkpoint_id != checkpoint.pk:
        raise _invalid(
            "lane", "screening.lane_mismatch", f"Lane {lane.code} is not at {checkpoint.code}."
        )


def _snap(seizure: Seizure) -> dict[str, Any]:
    return audit.snapshot(seizure, _SEIZURE_FIELDS)


def _iso(at: datetime) -> str:
    return at.isoformat()


def resolve_place(
    checkpoint_code: str, lane_code: str | None = None, *, event_code: str | None = None
) -> tuple[Checkpoint, Lane | None]:
    """Return the checkpoint (and lane) named by codes in the current event, or a coded 404."""
    from anbao.sites import services as sites

    checkpoint = sites.get_checkpoint(sites.get_event(event_code), checkpoint_code)
    if not lane_code:
        return checkpoint, None
    lane = Lane.objects.filter(checkpoint=checkpoint, code=lane_code).first()
    if lane is None:
        raise NotFound("screening.unknown_lane", f"No lane {lane_code!r} at {checkpoint.code}.")
    return checkpoint, lane


# --- screening records -------------------------------------------------------------------


def record_screening(
    *,
    checkpoint: Checkpoint,
    subject: str,
    method: str,
    outcome: str,
    lane: Lane | None = None,
    operator: User | None = None,
    searcher_gender: str = "",
    plate: str = "",
    public: bool = False,
    passage_id: int | None = None,
) -> ScreeningRecord:
    """Record one screening of a person, bag or vehicle at a lane."""
    if subject not in ScreeningSubject.values:
        raise _invalid("subject", "screening.unknown_subject", f"Unknown subject {subject!r}.")
    if method not in ScreeningMethod.values:
        raise _invalid("method", "screening.unknown_method", f"Unknown method {method!r}.")
    if method not in METHODS_BY_SUBJECT[subject]:
        raise _invalid(
            "method", "screening.method_mismatch", f"{method} is not a way to screen a {subject}."
        )
    if outcome not in ScreeningOutcome.values:
        raise _invalid("outcome", "screening.unknown_outcome", f"Unknown outcome {outcome!r}.")
    if searcher_gender and searcher_gender not in SearcherGender.values:
        raise _invalid(
            "searcher_gender", "screening.unknown_gender", f"Unknown gender {searcher_gender!r}."
        )
    if method == ScreeningMethod.PAT_DOWN and not searcher_gender:
        raise _invalid(
            "searcher_gender",
            "screening.searcher_gender_required",
            "A pat-down records the searcher's gender.",
        )
    plate = plate.strip().upper()
    if method == ScreeningMethod.CREDENTIAL_PLATE and not plate:
        raise _invalid("plate", "screening.plate_required", "A plate check records the plate.")
    _check_lane(lane, checkpoint)
    _check_scope(operator, checkpoint)
    with transaction.atomic():
        rec = ScreeningRecord.objects.create(
            checkpoint=checkpoint,
            lane=lane,
            subject=subject,
            method=method,
            outcome=outcome,
            searcher_gender=searcher_gender,
            plate=plate,
            public=public,
            passage_id=passage_id,
            operator=operator,
            at=clock.now(),
        )
        audit.record("screening.recorded", obj=rec, after=audit.snapshot(rec))
        publish(
            ScreeningRecorded(
                rec.pk,
                checkpoint.code,
                lane.code if lane else None,
                subject,
                method,
                outcome,
                _iso(rec.at),
            )
        )
    return rec


def get_screening(screening_id: int) -> ScreeningRecord:
    """Return one screening record or ``screening.unknown_screening`` (404)."""
    rec = ScreeningRecord.objects.filter(pk=screening_id).first()
    if rec is None:
        raise NotFound("screening.unknown_screening", f"No screening {screening_id}.")
    return rec


def lane_minute_counts(lane: Lane, *, since: datetime, until: datetime) -> dict[datetime, int]:
    """Return screenings per minute at a lane in ``[since, until)``, keyed by the minute (UTC)."""
    out: dict[datetime, int] = {}
    for at in ScreeningRecord.objects.filter(lane=lane, at__gte=since, at__lt=until).values_list(
        "at", flat=True
    ):
        minute = at.replace(second=0, microsecond=0)
        out[minute] = out.get(minute, 0) + 1
    return dict(sorted(out.items()))


# --- photos ------------------------------------------------------------------------------


def validate_photo(data: bytes) -> bytes:
    """Check an item photo with Pillow (JPEG/PNG/WebP, size-capped) and return it as a JPEG."""
    if not data:
        raise _invalid("photo", "screening.photo_empty", "The photo is empty.")
    if len(data) > PHOTO_MAX_BYTES:
        raise _invalid(
            "photo",
            "screening.photo_too_large",
            f"The photo is larger than {PHOTO_MAX_BYTES // 2**20} MB.",
            status=413,
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"JPEG", "PNG", "WEBP"}:
                raise _invalid(
                    "photo", "screening.photo_format", "The photo must be JPEG, PNG or WebP."
                )
            w, h = probe.size
            if w * h > PHOTO_MAX_PIXELS:
                raise _invalid(
                    "photo", "screening.photo_too_large", f"Too many pixels ({w}x{h}).", 413
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _invalid("photo", "screening.photo_invalid", "The photo is not an image.") from exc
    rgb.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


# --- seizures ----------------------------------------------------------------------------


def _new_ticket() -> str:
    body = "".join(secrets.choice(_TICKET_ALPHABET) for _ in range(8))
    return f"D{body}"


def _apply_disposition(
    seizure: Seizure, disposition: str, police_case: str, item_class: str
) -> None:
    if disposition not in Disposition.values:
        raise _invalid(
            "disposition", "screening.unknown_disposition", f"Unknown disposition {disposition!r}."
        )
    police_case = police_case.strip()
    if disposition == Disposition.POLICE and not police_case:
        raise _invalid(
            "police_case",
            "screening.police_case_required",
            "An item handed to the police needs the police case number.",
        )
    if disposition == Disposition.DEPOSITED and item_class == "prohibited":
        raise _invalid(
            "disposition",
            "screening.prohibited_not_depositable",
            "Prohibited (禁) items are confiscated or handed to the police, never deposited.",
        )
    seizure.disposition = disposition
    seizure.police_case = police_case if disposition == Disposition.POLICE else ""
    if disposition == Disposition.DEPOSITED:
        seizure.status = SeizureStatus.HELD
        if not seizure.ticket:
            seizure.ticket = _new_ticket()
    else:
        seizure.status = SeizureStatus.CLOSED


def record_seizure(
    *,
    checkpoint: Checkpoint,
    item_code: str,
    lane: Lane | None = None,
    screening: ScreeningRecord | None = None,
    disposition: str | None = None,
    quantity: int = 1,
    note: str = "",
    police_case: str = "",
    photo: bytes | None = None,
    operator: User | None = None,
    taxonomy: tx.Taxonomy | None = None,
) -> Seizure:
    """Record a seized item with its disposition (the taxonomy's default when none is given)."""
    item = (taxonomy or tx.default()).item(item_code)
    if item is None:
        raise _invalid("item", "screening.unknown_item", f"Unknown item {item_code!r}.")
    if quantity < 1:
        raise _invalid("quantity", "screening.bad_quantity", "Quantity must be at least 1.")
    _check_lane(lane, checkpoint)
    if screening is not None and screening.checkpoint_id != checkpoint.pk:
        raise _invalid(
            "screening", "screening.screening_mismatch", "That screening is at another checkpoint."
        )
    _check_scope(operator, checkpoint)
    jpeg = validate_photo(photo) if photo is not None else None
    seizure = Seizure(
        checkpoint=checkpoint,
        lane=lane,
        screening=screening,
        item_code=item.code,
        item_zh=item.zh,
        item_en=item.en,
        item_class=item.item_class,
        quantity=quantity,
        note=note.strip()[:500],
        photo=jpeg,
        photo_type="image/jpeg" if jpeg else "",
        operator=operator,
        at=clock.now(),
    )
    _apply_disposition(seizure, disposition or item.disposition, police_case, item.item_class)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                seizure.save()
                audit.record("screening.seizure_recorded", obj=seizure, after=_snap(seizure))
                publish(
                    SeizureRecorded(
                        seizure.pk,
                        checkpoint.code,
                        item.code,
                        item.item_class,
                        seizure.disposition,
                        seizure.ticket,
                        _iso(seizure.at),
                    )
                )
            return seizure
        except IntegrityError:  # a ticket collision: draw another
            if not seizure.ticket:
                raise
            seizure.pk = None
            seizure.ticket = _new_ticket()
    raise DomainError("screening.ticket_exhausted", "Could not draw a unique ticket.", 500)


def get_seizure(seizure_id: int) -> Seizure:
    """Return one seizure or ``screening.unknown_seizure`` (404)."""
    seizure = Seizure.objects.select_related("checkpoint", "lane").filter(pk=seizure_id).first()
    if seizure is None:
        raise NotFound("screening.unknown_seizure", f"No seizure {seizure_id}.")
    return seizure


def change_disposition(
    seizure: Seizure, disposition: str, *, police_case: str = "", operator: User | None = None
) -> Seizure:
    """Change a seized item's disposition (not once a deposit is returned)."""
    _check_scope(operator, seizure.checkpoint)
    with transaction.atomic():
        locked = Seizure.objects.select_for_update().get(pk=seizure.pk)
        if locked.status == SeizureStatus.RETURNED:
            raise DomainError(
                "screening.already_returned", "The item was already returned.", status=409
            )
        before = _snap(locked)
        old = locked.disposition
        _apply_disposition(locked, disposition, police_case, locked.item_class)
        locked.save()
        audit.record(
            "screening.disposition_changed", obj=locked, before=before, after=_snap(locked)
        )
        publish(SeizureDispositionChanged(locked.pk, old, locked.disposition, _iso(clock.now())))
    return locked


def get_deposit(ticket: str) -> Seizure:
    """Return the seizure with this claim ticket or ``screening.unknown_ticket`` (404)."""
    seizure = (
        Seizure.objects.select_related("checkpoint", "checkpoint__event")
        .filter(ticket=ticket.strip().upper())
        .first()
        if ticket
        else None
    )
    if seizure is None:
        raise NotFound("screening.unknown_ticket", f"No deposit ticket {ticket!r}.")
    return seizure


def return_deposit(
    ticket: str, *, at_checkpoint: Checkpoint, operator: User | None = None
) -> Seizure:
    """Mark a deposited item returned on exit; refuse an unknown or already-returned ticket."""
    get_deposit(ticket)
    _check_scope(operator, at_checkpoint)
    with transaction.atomic():
        seizure = Seizure.objects.select_for_update().get(ticket=ticket.strip().upper())
        if seizure.status == SeizureStatus.RETURNED:
            raise DomainError(
                "screening.already_returned",
                f"Ticket {seizure.ticket} was already returned.",
                status=409,
                detail={"returned_at": seizure.returned_at.isoformat()}
                if seizure.returned_at
                else {},
            )
        if seizure.disposition != Disposition.DEPOSITED or seizure.status != SeizureStatus.HELD:
            raise DomainError(
                "screening.not_deposited", f"Ticket {seizure.ticket} is not held.", status=409
            )
        before = _snap(seizure)
        seizure.status = SeizureStatus.RETURNED
        seizure.returned_at = clock.now()
        seizure.returned_checkpoint = at_checkpoint
        seizure.returned_by = operator
        seizure.save()
        audit.record("screening.deposit_returned", obj=seizure, before=before, after=_snap(seizure))
        publish(
            DepositReturned(
                seizure.pk, str(seizure.ticket), at_checkpoint.code, _iso(seizure.returned_at)
            )
        )
    return seizure


def receipt_pdf(seizure: Seizure, *, width_mm: int = 58) -> bytes:
    """Render the claim-ticket receipt of a deposited item (58 or 80 mm)."""
    if not seizure.ticket or seizure.disposition != Disposition.DEPOSITED:
        raise DomainError("screening.not_deposited", "This item was not deposited.", status=409)
    if width_mm not in (58, 80):
        raise _invalid("width", "screening.bad_width", "Receipt width is 58 or 80 mm.")
    cp = seizure.checkpoint
    event = cp.event
    local = seizure.at.astimezone(ZoneInfo(event.time_zone))
    return render_receipt(
        Receipt(
            ticket=seizure.ticket,
            item_zh=seizure.item_zh,
            item_en=seizure.item_en,
            quantity=seizure.quantity,
            checkpoint_zh=cp.name,
            checkpoint_en=cp.name_en,
            at=local.strftime("%Y-%m-%d %H:%M"),
            event_name=event.name,
        ),
        width_mm=width_mm,
    )


def list_seizures(
    *,
    checkpoint: Checkpoint | None = None,
    day: date | None = None,
    item_class: str | None = None,
    time_zone: str = "Asia/Shanghai",
) -> QuerySet[Seizure]:
    """Return seizures, newest first, filtered by checkpoint, local day and class."""
    qs = Seizure.objects.select_related("checkpoint", "lane")
    if checkpoint is not None:
        qs = qs.filter(checkpoint=checkpoint)
    if day is not None:
        start = datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone))
        qs = qs.filter(at__gte=start, at__lt=start + timedelta(days=1))
    if item_class:
        if item_class not in tx.CLASSES:
            raise _invalid("class", "screening.unknown_class", f"Unknown class {item_class!r}.")
        qs = qs.filter(item_class=item_class)
    return qs.order_by("-at", "-id")
