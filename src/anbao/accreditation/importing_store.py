"""Bulk registration against the database: preview, then commit all rows or only the valid ones.

The pure engine (:mod:`importing`, :mod:`importing_photos`) reads and validates; this module
adds what needs the database (duplicates against stored people, organisations, categories)
and stores everything in one transaction, so that nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from anbao.accreditation import events, services
from anbao.accreditation.importing import (
    CleanRow,
    ImportFileError,
    RowProblem,
    Rules,
    Table,
    map_columns,
    read_table,
    validate_rows,
)
from anbao.accreditation.importing_photos import PhotoSet, read_photo_zip
from anbao.accreditation.importing_sheets import XLSX_TYPE, error_xlsx, template_xlsx
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    AccreditationStep,
    Category,
    Organisation,
    Person,
)
from anbao.accreditation.presets import DEFAULT_CATEGORIES
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.core.models import AuditEntry
from anbao.sites.models import Event

MODES = ("all", "valid")
_BATCH = 500
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """The outcome of a preview or a commit."""

    event_code: str
    rows: int
    valid: int
    problems: list[RowProblem]
    new_organisations: list[str] = field(default_factory=list)
    photos: int = 0
    committed: bool = False
    stored: int = 0
    error_file: bytes | None = None

    @property
    def errors(self) -> list[RowProblem]:
        """Return the problems that block a row (not the warnings)."""
        return [p for p in self.problems if p.severity == "error"]


@dataclass
class _Checked:
    table: Table
    clean: list[CleanRow]
    problems: list[RowProblem]
    photos: PhotoSet | None
    indexes: dict[int, tuple[str, str, str]]
    new_orgs: list[str]


def _file_error(exc: ImportFileError) -> DomainError:
    return DomainError(
        exc.code, exc.message, problems=[FieldProblem("file", exc.message, exc.code, "file")]
    )


def _check(
    event: Event, data: bytes, filename: str, photos_zip: bytes | None, progress: Progress | None
) -> _Checked:
    try:
        table = read_table(data, filename)
    except ImportFileError as exc:
        raise _file_error(exc) from exc
    codes = set(Category.objects.filter(event=event).values_list("code", flat=True))
    if not codes:  # the defaults are created on commit (services.ensure_categories)
        codes = {preset.code for preset in DEFAULT_CATEGORIES}
    clean, problems = validate_rows(table, Rules(categories=codes, today=services.today_in(event)))
    photos = read_photo_zip(photos_zip) if photos_zip is not None else None
    if photos is not None:
        problems.extend(photos.file_problems)
    # Blind indexes, then one query per batch for people already stored.
    indexes: dict[int, tuple[str, str, str]] = {}
    for i, row in enumerate(clean):
        v = row.values
        indexes[row.row] = (
            services.id_index(v["id_number"]),
            services.name_dob_index(v),
            services.phone_index(v["phone"]),
        )
        if progress and i % 1000 == 0:
            progress(i, len(clean))
    known_ids: set[str] = set()
    known_names: set[str] = set()
    triples = list(indexes.values())
    for start in range(0, len(triples), _BATCH):
        chunk = triples[start : start + _BATCH]
        known_ids.update(
            Person.objects.filter(id_index__in=[t[0] for t in chunk]).values_list(
                "id_index", flat=True
            )
        )
        known_names.update(
            Person.objects.filter(name_dob_index__in=[t[1] for t in chunk]).values_list(
                "name_dob_index", flat=True
            )
        )
    kept: list[CleanRow] = []
    for row in clean:
        idx, name_idx, _phone = indexes[row.row]
        bad: list[RowProblem] = []
        if idx in known_ids:
            bad.append(
                RowProblem(
                    row.row, "id_number", "import.duplicate_in_db", "ID number already registered"
                )
            )
        elif name_idx in known_names:
            problems.append(
                RowProblem(
                    row.row,
                    "name_zh",
                    "import.possible_duplicate",
                    "a person with the same name and date of birth is already registered",
                    "warning",
                )
            )
        if photos is not None:
            for p in photos.problems.get(row.values["id_number"], []):
                bad.append(RowProblem(row.row, p.column, p.code, p.message))
        problems.extend(bad)
        if not bad:
            kept.append(row)
    if photos is not None:
        in_file = {r.values["id_number"] for r in clean}
        for number in sorted((set(photos.photos) | set(photos.problems)) - in_file):
            problems.append(
                RowProblem(
                    0,
                    f"photos:{number}",
                    "import.photo_unmatched",
                    "no row has this ID number; the photo is ignored",
                    "warning",
                )
            )
    orgs = {o.lower() for o in Organisation.objects.values_list("name", flat=True)}
    new_orgs = sorted(
        {r.values["organisation"] for r in kept if r.values["organisation"].lower() not in orgs}
    )
    problems.sort(key=lambda p: (p.row, p.column))
    return _Checked(table, kept, problems, photos, indexes, new_orgs)


def preview_import(
    *,
    data: bytes,
    filename: str,
    photos_zip: bytes | None = None,
    event: Event | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Read and check a people file without storing anything; list every problem."""
    ev = _event(event)
    checked = _check(ev, data, filename, photos_zip, progress)
    return _report(ev, checked)


def _report(ev: Event, checked: _Checked) -> ImportReport:
    rows = sum(1 for r in checked.table.rows if any(c not in (None, "") for c in r))
    return ImportReport(
        event_code=ev.code,
        rows=rows,
        valid=len(checked.clean),
        problems=checked.problems,
        new_organisations=checked.new_orgs,
        photos=len(checked.photos.photos) if checked.photos else 0,
    )


def _event(event: Event | None) -> Event:
    from anbao.sites import services as sites

    ev = event or sites.current_event()
    if ev is None:
        raise DomainError("accreditation.no_event", "Load a site first: there is no event.")
    return ev


def commit_import(
    *,
    data: bytes,
    filename: str,
    mode: str = "all",
    photos_zip: bytes | None = None,
    event: Event | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Store the file: ``all`` rows or none, or the ``valid`` rows plus an error spreadsheet."""
    if mode not in MODES:
        raise DomainError("import.unknown_mode", f"mode must be one of {', '.join(MODES)}")
    ev = _event(event)
    checked = _check(ev, data, filename, photos_zip, progress)
    report = _report(ev, checked)
    if mode == "all" and report.errors:
        raise DomainError(
            "import.has_problems",
            f"{len(report.errors)} problems; nothing was stored.",
            problems=[
                FieldProblem(p.column, p.message, p.code, f"row {p.row}") for p in report.errors
            ],
            detail={"rows": report.rows, "valid": report.valid},
        )
    with transaction.atomic():
        stored = _store(ev, checked, progress)
    report.committed = True
    report.stored = stored
    if report.errors:
        report.error_file = error_xlsx(checked.table, report.errors)
    return report


def _store(ev: Event, checked: _Checked, progress: Progress | None) -> int:
    now = clock.now()
    ctx = audit.current_context()
    orgs = {o.name.lower(): o for o in Organisation.objects.all()}
    created_orgs = 0
    for name in checked.new_orgs:
        if name.lower() not in orgs:
            orgs[name.lower()] = Organisation.objects.create(name=name)
            created_orgs += 1
    if not Category.objects.filter(event=ev).exists():
        services.ensure_categories(ev)
    cats = {
        c.code: c for c in Category.objects.filter(event=ev).prefetch_related("zones", "venues")
    }
    photos = checked.photos.photos if checked.photos else {}
    people: list[Person] = []
    for row in checked.clean:
        v = row.values
        idx, name_idx, phone_idx = checked.indexes[row.row]
        photo = photos.get(v["id_number"])
        people.append(
            Person(
                ref=v["ref"],
                name_zh=v["name_zh"],
                family_name=v["family_name"],
                given_name=v["given_name"],
                gender=v["gender"],
                birth_date=v["birth_date"],
                nationality=v["nationality"],
                id_type=v["id_type"],
                id_number=v["id_number"],
                id_index=idx,
                phone=v["phone"],
                phone_index=phone_idx,
                name_dob_index=name_idx,
                organisation=orgs[v["organisation"].lower()],
                photo=photo.jpeg if photo else None,
                photo_sha256=photo.sha256 if photo else "",
                created_at=now,
                updated_at=now,
            )
        )
    Person.objects.bulk_create(people, batch_size=_BATCH)
    if people and people[0].pk is None:  # backends that do not return ids
        by_index = dict(
            Person.objects.filter(id_index__in=[p.id_index for p in people]).values_list(
                "id_index", "pk"
            )
        )
        for p in people:
            p.pk = by_index[p.id_index]
    start, end = services.event_window(ev)
    accs = [
        Accreditation(
            person=p,
            event=ev,
            category=cats[row.values["category"]],
            function=row.values["function"],
            status=AccreditationStatus.APPLIED,
            valid_from=start,
            valid_until=end,
            created_at=now,
            updated_at=now,
        )
        for p, row in zip(people, checked.clean, strict=True)
    ]
    Accreditation.objects.bulk_create(accs, batch_size=_BATCH)
    if accs and accs[0].pk is None:
        by_person = dict(
            Accreditation.objects.filter(event=ev, person__in=people).values_list("person_id", "pk")
        )
        for a in accs:
            a.pk = by_person[a.person_id]
    zone_rows = []
    venue_rows = []
    zone_through = Accreditation.zones.through
    venue_through = Accreditation.venues.through
    for a in accs:
        cat = cats[a.category.code]
        zone_rows += [zone_through(accreditation_id=a.pk, zone_id=z.pk) for z in cat.zones.all()]
        venue_rows += [
            venue_through(accreditation_id=a.pk, venue_id=v.pk) for v in cat.venues.all()
        ]
    zone_through.objects.bulk_create(zone_rows, batch_size=2000)
    venue_through.objects.bulk_create(venue_rows, batch_size=2000)
    AccreditationStep.objects.bulk_create(
        [
            AccreditationStep(
                accreditation=a,
                from_status="",
                to_status=AccreditationStatus.APPLIED,
                actor_id=ctx.actor_id,
                actor_label=ctx.actor_label[:150],
                at=now,
                note="import",
            )
            for a in accs
        ],
        batch_size=_BATCH,
    )
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                at=now,
                actor_id=ctx.actor_id,
                actor_label=ctx.actor_label[:150],
                source=ctx.source,
                action="accreditation.person_imported",
                object_type=Person._meta.label_lower,
                object_id=str(p.pk),
                object_repr=str(p)[:200],
                after={"ref": p.ref, "accreditation": a.pk},
                ip=ctx.ip,
            )
            for p, a in zip(people, accs, strict=True)
        ],
        batch_size=_BATCH,
    )
    audit.record(
        "accreditation.import",
        object_type="accreditation.import",
        object_id=ev.code,
        after={"people": len(people), "organisations": created_orgs},
    )
    if progress:
        progress(len(people), len(people))
    bus.publish(events.PeopleImported(ev.pk, len(people), len(accs), created_orgs))
    return len(people)


def import_template(event: Event | None = None) -> tuple[bytes, str, str]:
    """Return the import template as (bytes, file name, media type)."""
    ev = _event(event)
    cats = [(c.code, f"{c.name_zh} / {c.name_en}") for c in services.ensure_categories(ev)]
    return template_xlsx(cats), f"anbao-people-template-{ev.code}.xlsx", XLSX_TYPE


def report_dict(report: ImportReport) -> dict[str, Any]:
    """Return a report as a JSON-ready dict (the error file is left out)."""
    return {
        "event": report.event_code,
        "rows": report.rows,
        "valid": report.valid,
        "photos": report.photos,
        "committed": report.committed,
        "stored": report.stored,
        "new_organisations": report.new_organisations,
        "problems": [p.as_dict() for p in report.problems],
    }


def _validate_one(raw: dict[str, Any], event: Event) -> dict[str, Any]:
    table = map_columns(list(raw), [list(raw.values())])
    codes = set(Category.objects.filter(event=event).values_list("code", flat=True))
    clean, problems = validate_rows(table, Rules(categories=codes, today=services.today_in(event)))
    errors = [p for p in problems if p.severity == "error"]
    if errors or not clean:
        raise DomainError(
            "accreditation.invalid_person",
            "The person's data is not valid.",
            problems=[FieldProblem(p.column, p.message, p.code) for p in errors],
        )
    return clean[0].values


@transaction.atomic
def register_one(*, raw: dict[str, Any], event: Event | None = None) -> Accreditation:
    """Register one person and apply for an accreditation, with the import's rules."""
    ev = _event(event)
    if not Category.objects.filter(event=ev).exists():
        services.ensure_categories(ev)
    values = _validate_one(raw, ev)
    org = services.organisation_by_name(values["organisation"])
    person = services.create_person(values=values, organisation=org)
    category = Category.objects.get(event=ev, code=values["category"])
    return services.create_accreditation(
        person=person, event=ev, category=category, function=values["function"]
    )


@transaction.atomic
def update_one(person: Person, *, patch: dict[str, Any]) -> Person:
    """Change a person's fields; the merged values are checked with the import's rules."""
    ev = _event(None)
    acc = person.accreditations.select_related("category").first()
    current: dict[str, Any] = {
        "ref": person.ref,
        "name_zh": person.name_zh,
        "family_name": person.family_name,
        "given_name": person.given_name,
        "gender": person.gender,
        "birth_date": person.birth_date.isoformat(),
        "nationality": person.nationality,
        "id_type": person.id_type,
        "id_number": person.id_number,
        "phone": person.phone,
        "organisation": person.organisation.name if person.organisation else "",
        "category": acc.category.code if acc else "",
    }
    current.update({k: v for k, v in patch.items() if v is not None})
    if acc is not None:
        ev = acc.event
    values = _validate_one(current, ev)
    values["organisation"] = services.organisation_by_name(values["organisation"])
    values.pop("category", None)
    values.pop("function", None)
    return services.update_person(person, values=values)
