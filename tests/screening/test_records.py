"""Screening records of people, bags and vehicles, and their refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anbao.accounts.roles import Role
from anbao.core import clock
from anbao.core.bus import Event, listen
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.screening import records
from anbao.screening.models.records import ScreeningRecord
from anbao.sites.models import Checkpoint, Lane

pytestmark = pytest.mark.django_db(transaction=False)


def _place() -> tuple[Checkpoint, Lane]:
    lane = Lane.objects.select_related("checkpoint").order_by("checkpoint__code", "code").first()
    assert lane is not None, "the demo site has lanes"
    return lane.checkpoint, lane


@pytest.mark.parametrize(
    ("subject", "method", "extra"),
    [
        ("person", "walk_through", {}),
        ("person", "handheld", {}),
        ("person", "pat_down", {"searcher_gender": "female"}),
        ("bag", "xray", {}),
        ("bag", "opened", {}),
        ("vehicle", "credential_plate", {"plate": "浙f12345"}),
        ("vehicle", "under_vehicle", {}),
        ("vehicle", "canine", {}),
        ("vehicle", "trunk_cargo", {}),
    ],
)
def test_each_kind_of_screening_is_recorded(make_user, subject, method, extra) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    user = make_user(Role.CHECKPOINT_OPERATOR)
    rec = records.record_screening(
        checkpoint=cp,
        lane=lane,
        subject=subject,
        method=method,
        outcome="clear",
        operator=user,
        **extra,
    )
    rec.refresh_from_db()
    assert (rec.subject, rec.method, rec.outcome) == (subject, method, "clear")
    assert rec.operator == user
    assert rec.lane == lane
    assert rec.at is not None
    if method == "credential_plate":
        assert rec.plate == "浙F12345"
    assert AuditEntry.objects.filter(action="screening.recorded", object_id=str(rec.pk)).exists()


@pytest.mark.parametrize("outcome", ["clear", "alarm_resolved", "item_found", "refused"])
def test_every_outcome_and_public_screening_without_passage(outcome: str) -> None:
    cp, lane = _place()
    rec = records.record_screening(
        checkpoint=cp,
        lane=lane,
        subject="person",
        method="walk_through",
        outcome=outcome,
        public=True,
    )
    assert rec.public
    assert rec.passage_id is None
    assert rec.operator is None


def test_screening_can_hang_off_a_passage() -> None:
    cp, lane = _place()
    rec = records.record_screening(
        checkpoint=cp, lane=lane, subject="bag", method="xray", outcome="clear", passage_id=42
    )
    assert ScreeningRecord.objects.get(pk=rec.pk).passage_id == 42


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"subject": "person", "method": "xray"}, "screening.method_mismatch"),
        ({"subject": "bag", "method": "canine"}, "screening.method_mismatch"),
        ({"subject": "pet", "method": "xray"}, "screening.unknown_subject"),
        ({"subject": "person", "method": "sniff"}, "screening.unknown_method"),
        ({"subject": "person", "method": "pat_down"}, "screening.searcher_gender_required"),
        (
            {"subject": "person", "method": "pat_down", "searcher_gender": "x"},
            "screening.unknown_gender",
        ),
        ({"subject": "vehicle", "method": "credential_plate"}, "screening.plate_required"),
        (
            {"subject": "person", "method": "handheld", "outcome": "maybe"},
            "screening.unknown_outcome",
        ),
    ],
)
def test_bad_screenings_are_refused_with_a_code(kwargs, code) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    args = {"outcome": "clear", **kwargs}
    with pytest.raises(DomainError) as exc:
        records.record_screening(checkpoint=cp, lane=lane, **args)
    assert exc.value.code == code
    assert exc.value.status == 422


def test_lane_of_another_checkpoint_is_refused() -> None:
    cp, _ = _place()
    other = Lane.objects.exclude(checkpoint=cp).first()
    assert other is not None
    with pytest.raises(DomainError) as exc:
        records.record_screening(
            checkpoint=cp, lane=other, subject="bag", method="xray", outcome="clear"
        )
    assert exc.value.code == "screening.lane_mismatch"


def test_event_is_published_after_commit(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    cp, lane = _place()
    seen: list[Event] = []
    remove = listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            records.record_screening(
                checkpoint=cp, lane=lane, subject="bag", method="xray", outcome="item_found"
            )
    finally:
        remove()
    assert [e.type for e in seen] == ["ScreeningRecorded"]


def test_lane_minute_counts() -> None:
    cp, lane = _place()
    start = clock.now()
    for _ in range(3):
        records.record_screening(
            checkpoint=cp, lane=lane, subject="person", method="walk_through", outcome="clear"
        )
    counts = records.lane_minute_counts(
        lane, since=start - timedelta(minutes=1), until=clock.now() + timedelta(minutes=1)
    )
    assert sum(counts.values()) == 3
