"""Staff services: import guards from a sheet, qualifications, leave, dogs, squads.

An import is all or nothing: every row is checked first and every problem is reported with
its row and field; only a clean file writes anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from anbao.core import audit, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.models import Event
from anbao.workforce.models import (
    Dog,
    Employer,
    EnglishLevel,
    Guard,
    Leave,
    Qualification,
    Skill,
    Squad,
)

#: Columns an import understands; the demo's generated sheet uses the aliases on the right.
COLUMNS = {
    "employee_no": ("employee_no",),
    "name": ("name", "name_zh"),
    "name_en": ("name_en", "name_latin"),
    "gender": ("gender",),
    "phone": ("phone",),
    "employer": ("employer",),
    "squad": ("squad",),
    "skills": ("skills",),
    "english": ("english", "english_level"),
    "languages": ("languages",),
    "party_member": ("party_member",),
    "base_name": ("base_name", "home_base"),
    "base_lon": ("base_lon",),
    "base_lat": ("base_lat",),
    "max_hours_week": ("max_hours_week",),
    "leave": ("leave",),
}
#: Other names a sheet may use for a skill (a planner's words, the Chinese certificate names).
SKILL_ALIASES = {
    "handheld": "search",
    "team_leader": "leader",
    "k9": "canine",
    "dog": "canine",
    "first-aid": "first_aid",
    "保安员证": "licence",
    "x光": "xray",
    "判图": "xray",
    "手检": "search",
    "车检": "vehicle",
    "犬导": "canine",
    "带班": "leader",
    "急救": "first_aid",
    "驾驶": "driver",
    "英语": "english",
}
REQUIRED = ("employee_no", "name", "gender", "employer", "skills")
_GENDERS = {
    "f": "female",
    "female": "female",
    "女": "female",
    "m": "male",
    "male": "male",
    "男": "male",
}
_TRUE = {"1", "true", "yes", "y", "是"}
_FALSE = {"", "0", "false", "no", "n", "否"}
MAX_ROWS = 20_000


@dataclass
class GuardRow:
    """One checked row of a staff import."""

    row: int
    employee_no: str
    name: str
    name_en: str
    gender: str
    phone: str
    employer: str
    squad: str
    skills: list[tuple[str, date | None]]
    english: str
    languages: str
    party_member: bool
    base_name: str
    base_lon: float | None
    base_lat: float | None
    max_hours_week: float | None
    leave: list[tuple[date, date]] = field(default_factory=list)


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    rows: int
    created: int
    updated: int
    qualifications: int
    leaves: int
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "qualifications": self.qualifications,
            "leaves": self.leaves,
            "dry_run": self.dry_run,
        }


def _problem(row: int, name: str, message: str, code: str) -> FieldProblem:
    return FieldProblem(name, message, code, location=f"row {row}")


def read_sheet(data: bytes, filename: str) -> list[dict[str, str]]:
    """Read a CSV (UTF-8, with or without BOM) or an .xlsx sheet into dicts by header."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise DomainError(
                "workforce.bad_file", f"Not a readable .xlsx file: {exc}", 422
            ) from exc
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            raise DomainError("workforce.empty_file", "The sheet is empty.", 422)
        header = [str(h or "").strip() for h in rows[0]]
        return [
            {
                header[i]: ("" if v is None else str(v).strip())
                for i, v in enumerate(r)
                if i < len(header)
            }
            for r in rows[1:]
            if any(v not in (None, "") for v in r)
        ]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(
            "workforce.bad_encoding", f"The file is not UTF-8 (byte {exc.start}).", 422
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise DomainError("workforce.empty_file", "The file has no header row.", 422)
    return [{k.strip(): (v or "").strip() for k, v in r.items() if k} for r in reader]


def _column(raw: dict[str, str], name: str) -> str:
    for alias in COLUMNS[name]:
        if alias in raw:
            return raw[alias]
    return ""


def _date(text: str, row: int, name: str, problems: list[FieldProblem]) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append(_problem(row, name, f"{text!r} is not a date (YYYY-MM-DD).", "bad_date"))
        return None


def _float(text: str, row: int, name: str, problems: list[FieldProblem]) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        problems.append(_problem(row, name, f"{text!r} is not a number.", "bad_number"))
        return None


def check_rows(
    rows: Sequence[dict[str, str]], *, today: date
) -> tuple[list[GuardRow], list[FieldProblem]]:
    """Check every row; return the good rows and every problem found (row and field named)."""
    problems: list[FieldProblem] = []
    out: list[GuardRow] = []
    if not rows:
        problems.append(FieldProblem("file", "The file has no rows.", "empty_file"))
    if len(rows) > MAX_ROWS:
        problems.append(
            FieldProblem("file", f"{len(rows)} rows; at most {MAX_ROWS} per file.", "too_many")
        )
        return out, problems
    if rows:
        missing = [c for c in REQUIRED if not any(a in rows[0] for a in COLUMNS[c])]
        for name in missing:
            problems.append(
                FieldProblem(name, f"The column {name!r} is missing.", "missing_column")
            )
        if missing:
            return out, problems
    seen: dict[str, int] = {}
    for n, raw in enumerate(rows, start=2):  # row 1 is the header
        before = len(problems)
        values = {name: _column(raw, name).strip() for name in COLUMNS}
        for name in REQUIRED:
            if not values[name]:
                problems.append(_problem(n, name, f"{name} is required.", "required"))
        number = values["employee_no"]
        if number in seen:
            problems.append(
                _problem(n, "employee_no", f"{number} is also on row {seen[number]}.", "duplicate")
            )
        seen.setdefault(number, n)
        if len(number) > 30 or len(values["name"]) > 100:
            problems.append(
                _problem(n, "name", "employee_no ≤ 30, name ≤ 100 characters.", "too_long")
            )
        gender = _GENDERS.get(values["gender"].lower(), "")
        if values["gender"] and not gender:
            problems.append(
                _problem(
                    n,
                    "gender",
                    f"{values['gender']!r}: use female/male (F/M, 女/男).",
                    "bad_gender",
                )
            )
        skills: list[tuple[str, date | None]] = []
        for part in filter(
            None, (p.strip() for p in values["skills"].replace(",", ";").split(";"))
        ):
            code, _sep, expires_text = part.partition(":")
            code = code.strip().lower()
            code = SKILL_ALIASES.get(code, code)
            if code not in Skill.values:
                problems.append(
                    _problem(
                        n,
                        "skills",
                        f"Unknown skill {code!r}; known: {', '.join(Skill.values)}.",
                        "unknown_skill",
                    )
                )
                continue
            expires = _date(expires_text, n, "skills", problems) if expires_text.strip() else None
            if expires is not None and expires < today:
                problems.append(
                    _problem(
                        n,
                        "skills",
                        f"The {code} certificate expired on {expires.isoformat()}.",
                        "certificate_expired",
                    )
                )
            if any(c == code for c, _e in skills):
                problems.append(
                    _problem(n, "skills", f"{code} is listed twice.", "duplicate_skill")
                )
            skills.append((code, expires))
        english = values["english"].lower() or EnglishLevel.NONE
        if english not in EnglishLevel.values:
            problems.append(
                _problem(
                    n, "english", f"{english!r}: use {', '.join(EnglishLevel.values)}.", "bad_level"
                )
            )
        elif english in (EnglishLevel.WORKING, EnglishLevel.FLUENT) and not any(
            c == Skill.ENGLISH for c, _e in skills
        ):
            # Working English is what a VIP or foreign-delegate lane asks for.
            skills.append((Skill.ENGLISH, None))
        party = values["party_member"].lower()
        if party not in _TRUE | _FALSE:
            problems.append(_problem(n, "party_member", f"{party!r} is not yes/no.", "bad_flag"))
        lon = _float(values["base_lon"], n, "base_lon", problems)
        lat = _float(values["base_lat"], n, "base_lat", problems)
        if lon is not None and not -180 <= lon <= 180:
            problems.append(
                _problem(n, "base_lon", "Longitude must be within ±180.", "out_of_range")
            )
        if lat is not None and not -90 <= lat <= 90:
            problems.append(_problem(n, "base_lat", "Latitude must be within ±90.", "out_of_range"))
        hours = _float(values["max_hours_week"], n, "max_hours_week", problems)
        if hours is not None and not 0 < hours <= 84:
            problems.append(
                _problem(n, "max_hours_week", "Between 1 and 84 hours.", "out_of_range")
            )
        leave: list[tuple[date, date]] = []
        for part in filter(None, (p.strip() for p in values["leave"].split(";"))):
            first, _sep, last = part.partition("/")
            start = _date(first, n, "leave", problems)
            end = _date(last or first, n, "leave", problems)
            if start is None or end is None:
                continue
            if end < start:
                problems.append(
                    _problem(n, "leave", f"{part}: the end is before the start.", "bad_range")
                )
                continue
            for s, e in leave:
                if start <= e and s <= end:
                    problems.append(
                        _problem(
                            n,
                            "leave",
                            f"{part} overlaps {s.isoformat()}/{e.isoformat()}.",
                            "overlapping_leave",
                        )
                    )
            leave.append((start, end))
        if len(problems) == before:
            out.append(
                GuardRow(
                    row=n,
                    employee_no=number,
                    name=values["name"],
                    name_en=values["name_en"][:100],
                    gender=gender,
                    phone=values["phone"][:40],
                    employer=values["employer"][:200],
                    squad=values["squad"][:40],
                    skills=skills,
                    english=english,
                    languages=values["languages"][:100],
                    party_member=party in _TRUE,
                    base_name=values["base_name"][:100],
                    base_lon=lon,
                    base_lat=lat,
                    max_hours_week=hours,
                    leave=leave,
                )
            )
    return out, problems


def _local_day(event: Event | None, day: date, end: bool) -> datetime:
    tz = ZoneInfo(event.time_zone if event else "Asia/Shanghai")
    at = datetime.combine(day, time(0, 0), tzinfo=tz)
    # Leave days are inclusive: a leave "to" a date lasts until the end of that day.
    return at + timedelta(days=1) if end else at


def import_staff(
    data: bytes, filename: str, *, event: Event | None = None, dry_run: bool = False
) -> ImportResult:
    """Import guards from CSV or XLSX; on any problem refuse the file, naming rows and fields."""
    today = clock.now().date()
    rows, problems = check_rows(read_sheet(data, filename), today=today)
    squads: dict[str, Squad] = {}
    if event is not None:
        squads = {s.code: s for s in Squad.objects.filter(event=event)}
    for r in rows:
        if r.squad and r.squad not in squads:
            problems.append(
                _problem(r.row, "squad", f"No squad {r.squad!r} at this event.", "unknown_squad")
            )
    existing = {
        g.employee_no: g
        for g in Guard.objects.filter(employee_no__in=[r.employee_no for r in rows])
    }
    for r in rows:
        guard = existing.get(r.employee_no)
        if guard is None or not r.leave:
            continue
        for leave in guard.leaves.all():
            for start, end in r.leave:
                s, e = _local_day(event, start, False), _local_day(event, end, True)
                if s < leave.end and leave.start < e:
                    problems.append(
                        _problem(
                            r.row,
                            "leave",
                            f"{start.isoformat()}/{end.isoformat()} overlaps leave already "
                            f"recorded from {leave.start:%Y-%m-%d}.",
                            "overlapping_leave",
                        )
                    )
    if problems:
        raise DomainError(
            "workforce.import_invalid",
            f"{len(problems)} problem(s); nothing was imported.",
            422,
            problems=problems[:500],
        )
    created = updated = quals = leaves = 0
    with transaction.atomic():
        employers = {e.name: e for e in Employer.objects.all()}
        for r in rows:
            employer = employers.get(r.employer)
            if employer is None:
                employer = employers[r.employer] = Employer.objects.create(name=r.employer)
            values = {
                "name": r.name,
                "name_en": r.name_en,
                "gender": r.gender,
                "employer": employer,
                "squad": squads.get(r.squad),
                "english": r.english,
                "languages": r.languages,
                "party_member": r.party_member,
                "base_name": r.base_name,
                "base_lon": r.base_lon,
                "base_lat": r.base_lat,
                "max_hours_week": r.max_hours_week,
            }
            guard = existing.get(r.employee_no)
            if guard is None:
                guard = Guard(employee_no=r.employee_no, phone=r.phone, **values)
                guard.save()
                created += 1
            else:
                for k, v in values.items():
                    setattr(guard, k, v)
                if r.phone:
                    guard.phone = r.phone
                guard.save()
                updated += 1
            for code, expires in r.skills:
                Qualification.objects.update_or_create(
                    guard=guard, skill=code, defaults={"expires": expires}
                )
                quals += 1
            for start, end in r.leave:
                Leave.objects.create(
                    guard=guard,
                    start=_local_day(event, start, False),
                    end=_local_day(event, end, True),
                    reason="import",
                )
                leaves += 1
        audit.record(
            "workforce.staff_imported",
            object_type="workforce.Guard",
            after={"file": filename, "rows": len(rows), "created": created, "updated": updated},
        )
        result = ImportResult(len(rows), created, updated, quals, leaves, dry_run)
        if dry_run:
            transaction.set_rollback(True)
    return result


def add_leave(
    guard: Guard, *, start: datetime, end: datetime, kind: str, reason: str = ""
) -> Leave:
    """Record leave or an absence; refuse one that overlaps leave already recorded."""
    if end <= start:
        raise DomainError(
            "workforce.bad_range",
            "The end must be after the start.",
            422,
            problems=[FieldProblem("end", "The end must be after the start.", "bad_range")],
        )
    clash = guard.leaves.filter(start__lt=end, end__gt=start).first()
    if clash is not None:
        message = f"Overlaps leave from {clash.start:%Y-%m-%d %H:%M} to {clash.end:%Y-%m-%d %H:%M}."
        raise DomainError(
            "workforce.overlapping_leave",
            message,
            409,
            problems=[FieldProblem("start", message, "overlapping_leave")],
        )
    leave = Leave.objects.create(guard=guard, start=start, end=end, kind=kind, reason=reason[:200])
    audit.record(
        "workforce.leave_added",
        obj=leave,
        after={
            "guard": guard.employee_no,
            "kind": kind,
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )
    return leave


def read_phone(guard: Guard) -> str:
    """Return a guard's full phone number, auditing the read."""
    audit.record_read("guard.phone", obj=guard)
    return guard.phone or ""


def make_squads(
    event: Event, guards: Iterable[Guard], *, size: int = 12, prefix: str = "sq"
) -> list[Squad]:
    """Group guards into squads of ``size`` with the first leader-qualified member as leader."""
    made: list[Squad] = []
    batch: list[Guard] = []
    ordered = list(guards)
    leaders = set(
        Qualification.objects.filter(guard__in=ordered, skill=Skill.LEADER).values_list(
            "guard_id", flat=True
        )
    )

    def flush() -> None:
        number = len(made) + 1
        squad, _ = Squad.objects.get_or_create(
            event=event, code=f"{prefix}{number:02d}", defaults={"name": f"{number:02d}"}
        )
        lead = next((g for g in batch if g.pk in leaders), None)
        squad.leader = lead
        squad.save()
        Guard.objects.filter(pk__in=[g.pk for g in batch]).update(squad=squad)
        made.append(squad)
        batch.clear()

    for guard in ordered:
        batch.append(guard)
        if len(batch) == size:
            flush()
    if batch:
        flush()
    return made


def add_dog(*, name: str, chip_no: str, handler: Guard, detection: str) -> Dog:
    """Register a detection dog with its handler, who must hold the canine qualification."""
    if not handler.qualifications.filter(skill=Skill.CANINE).exists():
        raise DomainError(
            "workforce.not_a_handler",
            f"{handler.employee_no} holds no canine handler qualification.",
            422,
            problems=[FieldProblem("handler", "Not a qualified canine handler.", "not_a_handler")],
        )
    dog = Dog.objects.create(name=name, chip_no=chip_no, handler=handler, detection=detection)
    audit.record("workforce.dog_added", obj=dog, after={"handler": handler.employee_no})
    return dog
