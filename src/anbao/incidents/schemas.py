"""Request and response shapes of the incidents API."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema


class OpenIn(Schema):
    """Open an incident by hand or from alarms."""

    type: str = Field(max_length=20)
    title: str = Field("", max_length=200)
    priority: int | None = Field(None, ge=1, le=4)
    lon: float | None = None
    lat: float | None = None
    checkpoint: str = Field("", max_length=40)
    segment: str = Field("", max_length=40)
    venue: str = Field("", max_length=40)
    alarm_ids: list[int] = Field(default_factory=list, max_length=50)


class AttachIn(Schema):
    """Attach an alarm."""

    alarm_id: int


class StepIn(Schema):
    """Do or skip an SOP step; skipping needs a comment."""

    comment: str = Field("", max_length=1000)


class DispatchIn(Schema):
    """Send a reserve unit, by its code."""

    unit: str = Field(max_length=40)


class UnitStateIn(Schema):
    """A dispatched unit's new state."""

    state: str = Field(max_length=12)


class ResolveIn(Schema):
    """Resolve, with what was done."""

    note: str = Field("", max_length=1000)


class CloseIn(Schema):
    """Close with a disposition."""

    disposition: str = Field(max_length=12)
    note: str = Field("", max_length=1000)


class NoteIn(Schema):
    """A note for the timeline."""

    text: str = Field(max_length=1000)


class TimerOut(Schema):
    """One timer."""

    due: str
    met_at: str | None
    overdue: bool
    late: bool
    left_s: int


class UnitOut(Schema):
    """A unit on an incident."""

    code: str
    state: str


class IncidentOut(Schema):
    """An incident in a list."""

    id: int
    number: int
    type: str
    type_label: str
    type_label_zh: str
    title: str
    priority: int
    state: str
    opened_at: str
    lon: float | None
    lat: float | None
    venue: str | None
    checkpoint: str | None
    segment: str | None
    timers: dict[str, TimerOut]
    overdue: bool
    escalation: int
    units: list[UnitOut]


class ProposalOut(Schema):
    """A free unit proposed for an incident."""

    code: str
    name: str
    name_en: str
    kind: str
    size: int
    lon: float
    lat: float
    state: str
    distance_km: float
    preferred: bool


class DispatchOut(Schema):
    """A dispatch and its phone link."""

    id: int
    unit: str
    state: str
    distance_km: float | None
    link: str


class TypeOut(Schema):
    """An incident type with its SOP."""

    code: str
    name: str
    name_en: str
    priority: int
    ack_s: int
    respond_s: int
    resolve_s: int
    supervisor_role: str
    escalation: list[str]
    unit_kinds: list[str]
    steps: list[dict[str, Any]]
