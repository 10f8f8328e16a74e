"""The rows a publication is made of: one :class:`RosterEntry` per guard per shift on a post.

The caller reads the published roster from the database and hands a :class:`RosterSheet` to
the renderers; nothing here touches the database. Instants are timezone-aware and are shown
in the event's time zone (``RosterSheet.tz``). A shift belongs to the local day it starts on,
so a night shift from 22:00 to 06:00 is listed under the evening it begins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "LANGS",
    "SKILL_LABELS",
    "GuardRef",
    "Lang",
    "PlaceRef",
    "RosterEntry",
    "RosterSheet",
    "check_lang",
    "format_hours",
    "skill_label",
]

#: Document languages: the first language is printed first and larger, the other follows.
Lang = Literal["zh-hans", "en"]
LANGS: tuple[Lang, ...] = ("zh-hans", "en")

#: Skill code -> (Chinese, English) labels, the codes of ``workforce.models.Skill``.
SKILL_LABELS: dict[str, tuple[str, str]] = {
    "licence": ("保安员证", "Security guard licence"),
    "xray": ("X光机判图员", "X-ray screener"),
    "search": ("手检及搜查", "Handheld and search"),
    "vehicle": ("车辆检查", "Vehicle inspection"),
    "canine": ("犬导员", "Canine handler"),
    "leader": ("带班队长", "Team leader"),
    "first_aid": ("急救", "First aid"),
    "driver": ("驾驶员", "Driver"),
    "english": ("英语口语", "Spoken English"),
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is a document language, else raise ValueError."""
    if lang == "zh-hans":
        return "zh-hans"
    if lang == "en":
        return "en"
    raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGS)}")


def skill_label(code: str) -> tuple[str, str]:
    """Return the (Chinese, English) label of a skill; an unknown code stands for itself."""
    return SKILL_LABELS.get(code, (code, code))


def format_hours(hours: float) -> str:
    """Format hours without trailing zeros: 8 -> "8", 7.5 -> "7.5", 7.25 -> "7.25"."""
    text = f"{hours:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _require_aware(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One guard on one post for one shift, as published; ``start`` and ``end`` are kept in UTC."""

    guard_id: int
    employee_no: str
    guard_name: str
    guard_name_en: str
    squad: str
    post_code: str
    post_name: str
    post_name_en: str
    place_code: str
    place_name: str
    place_name_en: str
    skill: str
    shift_code: str
    start: dt.datetime
    end: dt.datetime
    note: str = ""

    def __post_init__(self) -> None:
        _require_aware("start", self.start)
        _require_aware("end", self.end)
        # Held in UTC: arithmetic and comparison between datetimes that share a zone use wall
        # clock time in Python, which is wrong across a daylight saving change.
        object.__setattr__(self, "start", self.start.astimezone(dt.UTC))
        object.__setattr__(self, "end", self.end.astimezone(dt.UTC))
        if self.end <= self.start:
            raise ValueError(
                f"shift {self.shift_code} of guard {self.guard_id} on {self.post_code} "
                f"ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})"
            )

    @property
    def hours(self) -> float:
        """Length of the shift in hours (real elapsed time, so DST days count right)."""
        return (self.end - self.start).total_seconds() / 3600

    @property
    def sort_key(self) -> tuple[dt.datetime, dt.datetime, str, str, str, int]:
        """Order by time, then place, post, employee number: the order every document uses."""
        return (
            self.start,
            self.end,
            self.place_code,
            self.post_code,
            self.employee_no,
            self.guard_id,
        )


@dataclass(frozen=True, slots=True)
class GuardRef:
    """A guard on the roster without shifts in this publication (so their page can say so)."""

    guard_id: int
    employee_no: str
    guard_name: str
    guard_name_en: str = ""
    squad: str = ""


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """A checkpoint or area with no shifts in this publication (so its page can say so)."""

    place_code: str
    place_name: str
    place_name_en: str = ""


@dataclass(frozen=True, slots=True)
class RosterSheet:
    """One publication of an event's roster: its version, time zone and entries.

    ``guards`` and ``places`` are optional: they name guards and places that have no entries,
    so that asking for them gives a document saying "no shifts" instead of a ValueError.
    """

    event_code: str
    event_name: str
    event_name_en: str
    tz: str
    version: int
    published_at: dt.datetime
    entries: tuple[RosterEntry, ...]
    guards: tuple[GuardRef, ...] = field(default=())
    places: tuple[PlaceRef, ...] = field(default=())

    def __post_init__(self) -> None:
        _require_aware("published_at", self.published_at)
        object.__setattr__(self, "published_at", self.published_at.astimezone(dt.UTC))
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.tz!r}") from exc
        if self.version < 1:
            raise ValueError(f"version must be 1 or more, got {self.version}")
        # Callers often build these from querysets or lists; keep the sheet hashable and frozen.
        for name in ("entries", "guards", "places"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    @property
    def zone(self) -> ZoneInfo:
        """The event's time zone."""
        return ZoneInfo(self.tz)

    def local(self, instant: dt.datetime) -> dt.datetime:
        """Return ``instant`` in the event's time zone."""
        return instant.astimezone(self.zone)

    def local_day(self, entry: RosterEntry) -> dt.date:
        """Return the local date a shift belongs to: the day it starts."""
        return self.local(entry.start).date()

    def for_guard(self, guard_id: int) -> tuple[RosterEntry, ...]:
        """Return a guard's entries in time order."""
        return _sorted(e for e in self.entries if e.guard_id == guard_id)

    def for_place(self, place_code: str) -> tuple[RosterEntry, ...]:
        """Return a place's entries in time order."""
        return _sorted(e for e in self.entries if e.place_code == place_code)

    def guard_ref(self, guard_id: int) -> GuardRef:
        """Return who a guard is, from their entries or ``guards``; ValueError if unknown."""
        for entry in self.entries:
            if entry.guard_id == guard_id:
                return GuardRef(
                    entry.guard_id,
                    entry.employee_no,
                    entry.guard_name,
                    entry.guard_name_en,
                    entry.squad,
                )
        for ref in self.guards:
            if ref.guard_id == guard_id:
                return ref
        raise ValueError(
            f"guard {guard_id} is not on roster {self.event_code} version {self.version}"
        )

    def place_ref(self, place_code: str) -> PlaceRef:
        """Return a place's names, from its entries or ``places``; ValueError if unknown."""
        for entry in self.entries:
            if entry.place_code == place_code:
                return PlaceRef(entry.place_code, entry.place_name, entry.place_name_en)
        for ref in self.places:
            if ref.place_code == place_code:
                return ref
        raise ValueError(
            f"place {place_code!r} is not on roster {self.event_code} version {self.version}"
        )


def _sorted(entries: Iterable[RosterEntry]) -> tuple[RosterEntry, ...]:
    return tuple(sorted(entries, key=lambda e: e.sort_key))
