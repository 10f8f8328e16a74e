"""Read Shift Scheduling Benchmark instances (Curtois and Qu's text format)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SECTIONS = (
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
)


class SsbFormatError(ValueError):
    """A line of an instance file that cannot be read."""

    def __init__(self, line_no: int, message: str, path: str | None = None) -> None:
        """Keep the line number (1-based; 0 for the file as a whole), the reason and the file."""
        where = f"{path}, line {line_no}" if path else f"line {line_no}"
        super().__init__(f"{where}: {message}")
        self.line_no = line_no
        self.message = message
        self.path = path


@dataclass(frozen=True, slots=True)
class Shift:
    """A shift type: its length and the shift types that may not follow it the next day."""

    id: str
    minutes: int
    forbidden_next: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Staff:
    """An employee's hard limits."""

    id: str
    max_shifts: dict[str, int]
    max_total_minutes: int
    min_total_minutes: int
    max_consecutive_shifts: int
    min_consecutive_shifts: int
    min_consecutive_days_off: int
    max_weekends: int

    def __hash__(self) -> int:
        """Hash by id (the per-type limits dict is not hashable)."""
        return hash(self.id)


@dataclass(frozen=True, slots=True)
class Request:
    """A wish to work (on-request) or not to work (off-request) a shift on a day."""

    employee: str
    day: int
    shift: str
    weight: int


@dataclass(frozen=True, slots=True)
class Cover:
    """The number of people wanted on a shift on a day, and the cost of each one short or over."""

    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A whole instance; days count from 0, and day 0 is a Monday."""

    name: str
    horizon: int
    shifts: tuple[Shift, ...]
    staff: tuple[Staff, ...]
    days_off: dict[str, frozenset[int]]
    on_requests: tuple[Request, ...]
    off_requests: tuple[Request, ...]
    cover: tuple[Cover, ...]

    def __hash__(self) -> int:
        """Hash by name and size (the dict fields are not hashable)."""
        return hash((self.name, self.horizon, len(self.staff), len(self.shifts)))

    def shift(self, shift_id: str) -> Shift:
        """Return the shift type with this id."""
        for s in self.shifts:
            if s.id == shift_id:
                return s
        raise KeyError(shift_id)


def _int(text: str, line_no: int, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SsbFormatError(line_no, f"{field}: {text.strip()!r} is not an integer") from None


def _fields(line: str, line_no: int, count: int, section: str) -> list[str]:
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != count:
        raise SsbFormatError(line_no, f"{section}: expected {count} fields, found {len(parts)}")
    return parts


def parse(text: str, name: str = "instance") -> Instance:
    """Parse an instance from its text; raise :class:`SsbFormatError` naming the bad line."""
    rows: dict[str, list[tuple[int, str]]] = {s: [] for s in SECTIONS}
    section: str | None = None
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            if line not in rows:
                raise SsbFormatError(line_no, f"unknown section {line!r}")
            section = line
            continue
        if section is None:
            raise SsbFormatError(line_no, "data before the first SECTION_ header")
        rows[section].append((line_no, line))
    return _build(rows, name)


def _build(rows: dict[str, list[tuple[int, str]]], name: str) -> Instance:
    horizon_rows = rows["SECTION_HORIZON"]
    if len(horizon_rows) != 1:
        line_no = horizon_rows[1][0] if horizon_rows else 0
        raise SsbFormatError(line_no, "SECTION_HORIZON: expected exactly one value")
    h_line, h_text = horizon_rows[0]
    horizon = _int(h_text, h_line, "horizon")
    if horizon <= 0:
        raise SsbFormatError(h_line, "horizon: must be positive")

    shifts: list[Shift] = []
    for line_no, line in rows["SECTION_SHIFTS"]:
        sid, minutes, forbidden = _fields(line, line_no, 3, "SECTION_SHIFTS")
        if not sid:
            raise SsbFormatError(line_no, "shift id: empty")
        if any(s.id == sid for s in shifts):
            raise SsbFormatError(line_no, f"shift id: {sid!r} defined twice")
        nxt = tuple(f.strip() for f in forbidden.split("|") if f.strip())
        shifts.append(Shift(sid, _int(minutes, line_no, "shift minutes"), nxt))
    shift_ids = {s.id for s in shifts}
    for line_no, line in rows["SECTION_SHIFTS"]:
        for f in line.split(",")[2].split("|"):
            if f.strip() and f.strip() not in shift_ids:
                raise SsbFormatError(line_no, f"forbidden successor: unknown shift {f.strip()!r}")

    staff: list[Staff] = []
    for line_no, line in rows["SECTION_STAFF"]:
        parts = _fields(line, line_no, 8, "SECTION_STAFF")
        max_shifts: dict[str, int] = {}
        for item in parts[1].split("|"):
            if not item.strip():
                continue
            if "=" not in item:
                raise SsbFormatError(line_no, f"MaxShifts: {item!r} is not SHIFT=N")
            sid, value = (p.strip() for p in item.split("=", 1))
            if sid not in shift_ids:
                raise SsbFormatError(line_no, f"MaxShifts: unknown shift {sid!r}")
            max_shifts[sid] = _int(value, line_no, "MaxShifts")
        if any(s.id == parts[0] for s in staff):
            raise SsbFormatError(line_no, f"employee id: {parts[0]!r} defined twice")
        labels = (
            "MaxTotalMinutes",
            "MinTotalMinutes",
            "MaxConsecutiveShifts",
            "MinConsecutiveShifts",
            "MinConsecutiveDaysOff",
            "MaxWeekends",
        )
        nums = [_int(v, line_no, lab) for v, lab in zip(parts[2:], labels, strict=True)]
        staff.append(Staff(parts[0], max_shifts, *nums))
    staff_ids = {e.id for e in staff}

    def check_employee(eid: str, line_no: int) -> str:
        if eid not in staff_ids:
            raise SsbFormatError(line_no, f"employee: unknown id {eid!r}")
        return eid

    def check_day(text: str, line_no: int) -> int:
        day = _int(text, line_no, "day")
        if not 0 <= day < horizon:
            raise SsbFormatError(line_no, f"day: {day} is outside the horizon 0..{horizon - 1}")
        return day

    def check_shift(sid: str, line_no: int) -> str:
        if sid not in shift_ids:
            raise SsbFormatError(line_no, f"shift: unknown id {sid!r}")
        return sid

    days_off: dict[str, set[int]] = {e.id: set() for e in staff}
    for line_no, line in rows["SECTION_DAYS_OFF"]:
        parts = [p.strip() for p in line.split(",")]
        eid = check_employee(parts[0], line_no)
        days_off[eid].update(check_day(p, line_no) for p in parts[1:] if p)

    def requests(section: str) -> tuple[Request, ...]:
        out = []
        for line_no, line in rows[section]:
            eid, day, sid, weight = _fields(line, line_no, 4, section)
            out.append(
                Request(
                    check_employee(eid, line_no),
                    check_day(day, line_no),
                    check_shift(sid, line_no),
                    _int(weight, line_no, "weight"),
                )
            )
        return tuple(out)

    cover: list[Cover] = []
    for line_no, line in rows["SECTION_COVER"]:
        day, sid, req, under, over = _fields(line, line_no, 5, "SECTION_COVER")
        cover.append(
            Cover(
                check_day(day, line_no),
                check_shift(sid, line_no),
                _int(req, line_no, "requirement"),
                _int(under, line_no, "under weight"),
                _int(over, line_no, "over weight"),
            )
        )
    return Instance(
        name=name,
        horizon=horizon,
        shifts=tuple(shifts),
        staff=tuple(staff),
        days_off={k: frozenset(v) for k, v in days_off.items()},
        on_requests=requests("SECTION_SHIFT_ON_REQUESTS"),
        off_requests=requests("SECTION_SHIFT_OFF_REQUESTS"),
        cover=tuple(cover),
    )


def read(path: str | Path) -> Instance:
    """Read an instance file; its name is the file's stem (``Instance1``)."""
    p = Path(path)
    try:
        return parse(p.read_text(encoding="utf-8"), name=p.stem)
    except SsbFormatError as exc:
        raise SsbFormatError(exc.line_no, exc.message, str(p)) from None


def dumps(inst: Instance) -> str:
    """Write an instance back in the benchmark's text format."""
    out = ["SECTION_HORIZON", str(inst.horizon), "", "SECTION_SHIFTS"]
    out += [f"{s.id},{s.minutes},{'|'.join(s.forbidden_next)}" for s in inst.shifts]
    out += ["", "SECTION_STAFF"]
    for e in inst.staff:
        ms = "|".join(f"{k}={v}" for k, v in e.max_shifts.items())
        out.append(
            f"{e.id},{ms},{e.max_total_minutes},{e.min_total_minutes},"
            f"{e.max_consecutive_shifts},{e.min_consecutive_shifts},"
            f"{e.min_consecutive_days_off},{e.max_weekends}"
        )
    out += ["", "SECTION_DAYS_OFF"]
    for eid, days in inst.days_off.items():
        if days:
            out.append(",".join([eid, *(str(d) for d in sorted(days))]))
    for title, reqs in (
        ("SECTION_SHIFT_ON_REQUESTS", inst.on_requests),
        ("SECTION_SHIFT_OFF_REQUESTS", inst.off_requests),
    ):
        out += ["", title]
        out += [f"{r.employee},{r.day},{r.shift},{r.weight}" for r in reqs]
    out += ["", "SECTION_COVER"]
    out += [
        f"{c.day},{c.shift},{c.requirement},{c.under_weight},{c.over_weight}" for c in inst.cover
    ]
    return "\n".join(out) + "\n"


def instance_number(name: str) -> int | None:
    """Return the number in a name like ``Instance12`` (None when there is none)."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else None


def iter_instances(paths: Iterable[Path]) -> list[Instance]:
    """Read several files."""
    return [read(p) for p in paths]
