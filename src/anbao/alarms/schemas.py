"""Alarms API schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime

# Far dates overflow the database's time conversion; nothing here is planned that far out.
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _sane_moment(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("must lie between 2000 and 2100")
    return value


def _sane_day(value: date) -> date:
    if not _EARLIEST.date() <= value < _LATEST.date():
        raise ValueError("must lie between 2000 and 2100")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_sane_moment)]
Day = Annotated[date, AfterValidator(_sane_day)]


class AlarmOut(Schema):
    """An alarm as the console lists it."""

    id: int
    number: int
    source_type: str
    source_key: str
    title: str
    title_en: str
    priority: int
    colour: str
    sound: str
    test: bool
    condition: str
    workflow: str
    disposition: str
    raised_at: datetime
    last_trigger_at: datetime
    trigger_count: int
    cleared_at: datetime | None
    ack_due_at: datetime
    acknowledged_at: datetime | None
    owner: str | None
    segment: str | None
    section: str | None
    device: str | None
    lon: float | None
    lat: float | None
    overdue: bool


class EntryOut(Schema):
    """A line of an alarm's timeline."""

    at: datetime
    action: str
    user: str | None
    text: str


class SensorEventOut(Schema):
    """A device message behind an alarm."""

    device: str
    message_id: str
    kind: str
    device_time: datetime
    received_at: datetime
    outcome: str
    body: dict[str, Any]


class AlarmDetailOut(AlarmOut):
    """An alarm with its timeline, sensor events, reasons and the cameras to call up."""

    details: dict[str, Any]
    entries: list[EntryOut]
    sensor_events: list[SensorEventOut]
    cameras: list[dict[str, Any]]


class AckIn(Schema):
    """Acknowledge; ``force`` for an alarm whose source is still active (needs a note)."""

    force: bool = False
    note: str = Field("", max_length=1000)


class NoteIn(Schema):
    """A note for the timeline."""

    text: str = Field(min_length=1, max_length=1000)


class CloseIn(Schema):
    """Close with a disposition."""

    disposition: str = Field(pattern="^(real|nuisance|false|test)$")
    note: str = Field("", max_length=1000)


class ArmingWindow(Schema):
    """A local-time window when a source type is armed (may pass midnight)."""

    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")


class DefinitionIn(Schema):
    """How a source type's alarms behave (optionally for one perimeter segment)."""

    source_type: str = Field(max_length=20)
    segment_code: str | None = Field(None, max_length=40)
    priority: int = Field(ge=1, le=4)
    colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    sound: str = Field(min_length=1, max_length=40)
    suppression_s: int = Field(ge=0, le=86_400)
    momentary_clear_s: int = Field(ge=0, le=86_400)
    auto_ack: str = Field(pattern="^(never|on_clear)$")
    arming: list[ArmingWindow] = Field(default_factory=list, max_length=12)
    ack_within_s: int = Field(ge=0, le=86_400)


class DefinitionOut(Schema):
    """An alarm definition."""

    id: int
    source_type: str
    segment: str | None
    priority: int
    colour: str
    sound: str
    suppression_s: int
    momentary_clear_s: int
    auto_ack: str
    arming: list[dict[str, str]]
    ack_within_s: int


class OverrideIn(Schema):
    """Bypass a source or put it in test mode."""

    source_key: str = Field(min_length=3, max_length=120)
    mode: str = Field(pattern="^(bypass|test)$")
    ends_at: Moment
    reason: str = Field(min_length=1, max_length=300)
    starts_at: Moment | None = None


class OverrideOut(Schema):
    """A bypass or test-mode window."""

    id: int
    source_key: str
    mode: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    reason: str
    created_by: str | None
    active: bool


class WalkTestIn(Schema):
    """Walk-test passes over one section: true where the pass was detected."""

    segment_code: str = Field(min_length=1, max_length=40)
    section_code: str = Field(min_length=1, max_length=40)
    detected: list[bool] = Field(min_length=1, max_length=500)
    method: str = Field("walk", max_length=40)
    note: str = Field("", max_length=300)


class DetectionOut(Schema):
    """A section's probability of detection."""

    segment: str
    section: str
    passes: int
    detected: int
    accepted: bool
    probability: float | None


class NuisanceOut(Schema):
    """A section's alarms on a day."""

    segment: str
    section: str
    day: date
    alarms: int
    real: int
    nuisance: int
    false: int
    open: int
    nuisance_rate: float


class DeadLetterOut(Schema):
    """A message that could not be taken."""

    id: int
    received_at: datetime
    topic: str
    size: int
    code: str
    reason: str
    message_id: str
    preview: str


class DeadLetterPageOut(Schema):
    """Recent dead letters and the counts per reason code."""

    total: int
    by_code: dict[str, int]
    items: list[DeadLetterOut]


class DeviceHealthOut(Schema):
    """A device's online state."""

    external_id: str
    name: str
    kind: str
    online: bool
    last_seen: datetime | None
    segment: str | None


class DroneTrackOut(Schema):
    """A drone track with its threat score and factors."""

    track_id: str
    serial: str
    status: str
    first_seen: datetime
    last_seen: datetime
    lon: float
    lat: float
    alt_m: float
    score: float
    level: str
    authorised: bool
    snapshot: dict[str, Any]
    trail: list[Any]
    alarm_id: int | None
    actions: list[dict[str, Any]]


class DroneActionIn(Schema):
    """An operator's decision on a drone."""

    action: str = Field(pattern="^(observe|warn|locate_pilot|request_countermeasure)$")
    note: str = Field("", max_length=500)


class DroneActionOut(Schema):
    """A recorded decision, with the pilot's location for locate_pilot."""

    id: int
    track_id: str
    at: datetime
    action: str
    user: str | None
    note: str
    result: dict[str, Any]


class IngestOut(Schema):
    """What happened to a device message sent over HTTP."""

    accepted: bool
    duplicate: bool
    outcome: str | None
    code: str | None
    reason: str | None


class SectionSettingsIn(Schema):
    """Nuisance control for a segment, or one of its sections."""

    segment_code: str = Field(min_length=1, max_length=40)
    section_code: str | None = Field(None, max_length=40)
    sensitivity_offset: float = Field(0.0, ge=-100, le=100)
    unconfirmed: str = Field("lower", pattern="^(lower|hold)$")
    swinger_limit: int | None = Field(5, ge=1, le=1000)
    wind_sensitive: bool = False
    gust_threshold_mps: float = Field(12.0, ge=0, le=80)
    base_priority: int = Field(2, ge=1, le=4)


class SectionSettingsOut(Schema):
    """Stored nuisance control."""

    segment: str
    section: str | None
    sensitivity_offset: float
    unconfirmed: str
    swinger_limit: int | None
    wind_sensitive: bool
    gust_threshold_mps: float
    base_priority: int


class WhitelistIn(Schema):
    """An authorised drone."""

    serial: str = Field(min_length=4, max_length=20)
    owner: str = Field(min_length=1, max_length=200)
    valid_from: Moment | None = None
    valid_until: Moment | None = None


class WhitelistOut(Schema):
    """An authorised drone."""

    serial: str
    owner: str
    valid_from: datetime | None
    valid_until: datetime | None
