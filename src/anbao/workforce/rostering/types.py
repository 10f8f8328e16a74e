"""Plain data types of the roster engine: the problem, the roster and the reports on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

Skill = str
"""A skill code: licence, xray, search, vehicle, canine, leader, first_aid, driver, english."""


@dataclass(frozen=True, slots=True)
class Qualification:
    """A skill a guard holds, with the certificate's last valid day (None: never expires)."""

    skill: str
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class Guard:
    """A guard who can be rostered."""

    id: int
    gender: str  # "female" | "male"
    qualifications: tuple[Qualification, ...]
    squad: str | None = None
    reserve: bool = False
    base: tuple[float, float] | None = None  # lon, lat of hotel/home
    unavailable: tuple[tuple[datetime, datetime], ...] = ()
    max_hours_week: float | None = None  # overrides Rules.max_hours_week when set
    prefers_off: frozenset[int] = frozenset()
    prefers_on: frozenset[int] = frozenset()
    home_place: str | None = None  # the place the guard's squad is tied to


@dataclass(frozen=True, slots=True)
class Dog:
    """A working dog and the limits its handler's canine shifts must respect."""

    id: int
    handler_id: int
    max_hours_day: float = 8
    min_rest_hours: float = 16
    active: bool = True


@dataclass(frozen=True, slots=True)
class Post:
    """A post to be staffed; ``place`` groups posts of one checkpoint or area."""

    id: int
    code: str
    place: str
    location: tuple[float, float] | None = None
    kind: str = "lane"  # lane|patrol|command|reserve|vip_route|other


@dataclass(frozen=True, slots=True)
class Shift:
    """A time slot; the guard's hours count on the day (and ISO week) the shift starts."""

    id: int
    start: datetime
    end: datetime
    night: bool = False
    weekend: bool = False


@dataclass(frozen=True, slots=True)
class Need:
    """``count`` seats at a post in a shift needing a skill (and maybe a female guard)."""

    post_id: int
    shift_id: int
    skill: str
    count: int
    gender: str | None = None
    soft: bool = False


@dataclass(frozen=True, slots=True)
class Rules:
    """Hard limits and the weights of the objective."""

    min_rest_hours: float = 11
    max_hours_day: float = 12
    max_hours_week: float = 60
    max_consecutive_days: int = 6
    weight_uncovered: int = 1000
    weight_preference: int = 5
    weight_night_fairness: int = 3
    weight_weekend_fairness: int = 2
    weight_squad_split: int = 1
    weight_reserve: int = 50
    weight_change: int = 20
    neighbour_places: int = 2  # places besides home a guard may be sent to when short


@dataclass(frozen=True, slots=True)
class Pin:
    """A seat a manager fixed for a guard."""

    guard_id: int
    shift_id: int
    post_id: int
    skill: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """One guard in one seat: a post, a shift and the skill the seat needs."""

    guard_id: int
    shift_id: int
    post_id: int
    skill: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Everything the engine needs to build a roster."""

    guards: tuple[Guard, ...]
    dogs: tuple[Dog, ...]
    posts: tuple[Post, ...]
    shifts: tuple[Shift, ...]
    needs: tuple[Need, ...]
    rules: Rules = Rules()
    pins: tuple[Pin, ...] = ()
    previous: tuple[Assignment, ...] = ()
    freeze_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Seats left empty and why."""

    post_id: int
    shift_id: int
    skill: str
    gender: str | None
    missing: int
    reason: str
    detail: str
    soft: bool = False


@dataclass(frozen=True, slots=True)
class Violation:
    """A hard rule a roster breaks."""

    rule: str
    guard_id: int
    shift_id: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Solution:
    """A roster with its quality figures."""

    assignments: tuple[Assignment, ...]
    uncovered: tuple[Shortfall, ...]
    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    changed: int
    violations: tuple[Violation, ...]
    coverage_bound: int = 0  # most seats any roster could fill (per-shift relaxation)
    forced_changes: int = 0  # previous seats that can no longer be kept


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot reported while solving."""

    seconds: float
    objective: float
    bound: float
    gap: float
    assigned: int
    uncovered: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A guard who could take a seat, with the facts behind the ranking."""

    guard_id: int
    score: float
    reasons: tuple[str, ...]
    distance_km: float | None
    hours_week: float
