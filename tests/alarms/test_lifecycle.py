"""The alarm lifecycle: condition kept apart from workflow, folding, timers, overrides, arming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anbao.accounts.roles import Role
from anbao.alarms import config, services, stats
from anbao.alarms.events import AlarmChanged, AlarmRaised
from anbao.alarms.models import Alarm, AlarmAction, AlarmDefinition, Condition, Workflow
from anbao.core import bus
from anbao.core.errors import DomainError
from anbao.sites.models import AlarmSection, PerimeterSegment


@pytest.fixture
def canal(event):  # type: ignore[no-untyped-def]
    segment = PerimeterSegment.objects.get(event=event, code="canal-n")
    return segment, AlarmSection.objects.get(segment=segment, code="s3")


@pytest.fixture
def commander(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.COMMANDER)


def intrusion(event, canal, at, **kw):  # type: ignore[no-untyped-def]
    segment, section = canal
    return services.trigger(
        event=event,
        source_type="intrusion",
        source_key=f"section:{segment.code}/{section.code}",
        at=at,
        segment=segment,
        section=section,
        lon=120.4985,
        lat=30.7530,
        **kw,
    )


def test_raise_numbers_the_alarm_and_publishes_after_commit(
    night, event, canal, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    seen: list[bus.Event] = []
    remove = bus.listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = intrusion(event, canal, night.now())
            second = services.trigger(
                event=event,
                source_type="panic",
                source_key="device:PB-wicc-01",
                at=night.now(),
            )
    finally:
        remove()
    assert first.outcome == "raised"
    assert second.outcome == "raised"
    assert first.alarm is not None
    assert second.alarm is not None
    assert second.alarm.number == first.alarm.number + 1
    assert first.alarm.condition == Condition.ACTIVE
    assert first.alarm.workflow == Workflow.NEW
    assert "运河北段漏缆" in first.alarm.title
    assert "Canal north" in first.alarm.title_en
    raised = [e for e in seen if isinstance(e, AlarmRaised)]
    assert [e.number for e in raised] == [first.alarm.number, second.alarm.number]
    assert raised[1].priority == 1  # the panic button is critical by default
    assert first.alarm.ack_due_at == night.now() + timedelta(seconds=60)


def test_retriggers_fold_into_the_open_alarm(night, event, canal):  # type: ignore[no-untyped-def]
    first = intrusion(event, canal, night.now())
    assert first.alarm is not None
    again = intrusion(event, canal, night.advance(10))
    assert again.outcome == "folded"
    assert again.alarm is not None
    assert again.alarm.pk == first.alarm.pk
    assert again.alarm.trigger_count == 2
    later = intrusion(event, canal, night.advance(120))  # outside the 60 s window
    assert later.outcome == "retriggered"
    assert Alarm.objects.filter(event=event).count() == 1
    actions = list(first.alarm.entries.values_list("action", flat=True))
    assert actions == [AlarmAction.RAISED, AlarmAction.RETRIGGERED]
    first.alarm.refresh_from_db()
    assert first.alarm.trigger_count == 3


def test_a_higher_priority_trigger_escalates_the_alarm(night, event, canal):  # type: ignore[no-untyped-def]
    first = intrusion(event, canal, night.now(), priority=3)
    again = intrusion(event, canal, night.advance(5), priority=1)
    assert again.outcome == "retriggered"
    assert again.alarm is not None
    assert again.alarm.priority == 1
    assert first.alarm is not None


def test_acknowledging_never_hides_an_active_source(night, event, canal, commander):  # type: ignore[no-untyped-def]
    alarm = intrusion(event, canal, night.now()).alarm
    assert alarm is not None
    with pytest.raises(DomainError) as err:
        services.acknowledge(alarm_id=alarm.pk, user=commander)
    assert err.value.code == "alarms.source_active"
    with pytest.raises(DomainError) as err:
        services.acknowledge(alarm_id=alarm.pk, user=commander, force=True)
    assert err.value.code == "alarms.note_required"
    acked = services.acknowledge(
        alarm_id=alarm.pk, user=commander, force=True, note="guard sent to look"
    )
    assert acked.workflow == Workflow.ACKNOWLEDGED
    assert acked.condition == Condition.ACTIVE
    assert alarm.pk in set(services.open_alarms(event).values_list("pk", flat=True))
    assert acked.entries.filter(action=AlarmAction.FORCED_ACK).exists()
    with pytest.raises(DomainError) as err:
        services.close(alarm_id=alarm.pk, user=commander, disposition="real")
    assert err.value.code == "alarms.source_active"


def test_close_needs_a_disposition_and_a_cleared_source(night, event, canal, commander):  # type: ignore[no-untyped-def]
    segment, section = canal
    alarm = intrusion(event, canal, night.now()).alarm
    assert alarm is not None
    key = f"section:{segment.code}/{section.code}"
    assert (
        services.clear(event=event, source_type="intrusion", source_key=key, at=night.advance(5))
        == 1
    )
    with pytest.raises(DomainError) as err:
        services.close(alarm_id=alarm.pk, user=commander, disposition="")
    assert err.value.code == "alarms.disposition_required"
    services.acknowledge(alarm_id=alarm.pk, user=commander)
    services.take(alarm_id=alarm.pk, user=commander)
    services.add_note(alarm_id=alarm.pk, user=commander, text="fox on the bank")
    closed = services.close(alarm_id=alarm.pk, user=commander, disposition="nuisance")
    assert closed.workflow == Workflow.CLOSED
    assert closed.disposition == "nuisance"
    assert alarm.pk not in set(services.open_alarms(event).values_list("pk", flat=True))
    with pytest.raises(DomainError) as err:
        services.close(alarm_id=alarm.pk, user=commander, disposition="real")
    assert err.value.code == "alarms.closed"
    # A new trigger after closing is a new alarm.
    again = intrusion(event, canal, night.advance(5))
    assert again.outcome == "raised"
    assert again.alarm is not None
    assert again.alarm.pk != alarm.pk
    actions = list(closed.entries.values_list("action", flat=True))
    assert actions == ["raised", "cleared", "acknowledged", "owned", "note", "closed"]


def test_a_cleared_alarm_reactivates_when_triggered_again(night, event, canal):  # type: ignore[no-untyped-def]
    segment, section = canal
    alarm = intrusion(event, canal, night.now()).alarm
    assert alarm is not None
    services.clear(
        event=event,
        source_type="intrusion",
        source_key=f"section:{segment.code}/{section.code}",
        at=night.advance(2),
    )
    again = intrusion(event, canal, night.advance(3))
    assert again.outcome == "retriggered"
    assert again.alarm is not None
    assert again.alarm.condition == Condition.ACTIVE
    assert again.alarm.cleared_at is None
    assert again.alarm.entries.filter(action=AlarmAction.REACTIVATED).exists()


def test_auto_acknowledge_on_clear(night, event):  # type: ignore[no-untyped-def]
    raised = services.trigger(
        event=event, source_type="device_offline", source_key="device:WX-01", at=night.now()
    )
    assert raised.alarm is not None
    services.clear(
        event=event, source_type="device_offline", source_key="device:WX-01", at=night.advance(30)
    )
    raised.alarm.refresh_from_db()
    assert raised.alarm.workflow == Workflow.ACKNOWLEDGED
    assert raised.alarm.entries.filter(action=AlarmAction.AUTO_ACK).exists()


def test_tick_clears_momentary_sources_and_marks_overdue_once(
    night, event, canal, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    alarm = intrusion(event, canal, night.now()).alarm
    assert alarm is not None
    assert services.tick(event, now=night.advance(20)) == {"cleared": 0, "overdue": 0}
    seen: list[bus.Event] = []
    remove = bus.listen(seen.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            out = services.tick(event, now=night.advance(50))
    finally:
        remove()
    assert out == {"cleared": 1, "overdue": 1}
    alarm.refresh_from_db()
    assert alarm.condition == Condition.CLEARED
    assert alarm.cleared_at == alarm.last_trigger_at + timedelta(seconds=30)
    assert {e.change for e in seen if isinstance(e, AlarmChanged)} == {"cleared", "overdue"}
    assert services.tick(event, now=night.advance(60))["overdue"] == 0


def test_bypass_raises_nothing_and_test_mode_pages_nobody(night, event, canal, commander):  # type: ignore[no-untyped-def]
    bypass = config.start_override(
        event=event,
        source_key="section:canal-n/s3",
        mode="bypass",
        ends_at=night.now() + timedelta(hours=1),
        reason="cable repair",
        user=commander,
    )
    assert intrusion(event, canal, night.advance(1)).outcome == "bypassed"
    config.end_override(override_id=bypass.pk, user=commander)
    config.start_override(
        event=event,
        source_key="segment:canal-n",
        mode="test",
        ends_at=night.now() + timedelta(hours=1),
        reason="walk test",
        user=commander,
    )
    result = intrusion(event, canal, night.advance(1))
    assert result.outcome == "raised"
    assert result.alarm is not None
    assert result.alarm.test
    services.tick(event, now=night.advance(3600))
    assert not result.alarm.entries.filter(action=AlarmAction.OVERDUE).exists()


def test_arming_schedule_night_only(night, event, canal, commander):  # type: ignore[no-untyped-def]
    config.set_definition(
        event=event,
        source_type="intrusion",
        segment_code="canal-n",
        priority=2,
        colour="#d32f2f",
        sound="alarm-high",
        suppression_s=60,
        momentary_clear_s=30,
        auto_ack="never",
        arming=[{"start": "18:00", "end": "06:00"}],
        ack_within_s=60,
    )
    assert intrusion(event, canal, night.now()).outcome == "raised"  # 23:30 local
    assert intrusion(event, canal, night.now() + timedelta(hours=9)).outcome == "disarmed"
    d = AlarmDefinition.objects.get(event=event, source_type="intrusion", segment__code="canal-n")
    assert services.is_armed(d, night.now() + timedelta(hours=6, minutes=29), "Asia/Shanghai")
    assert not services.is_armed(d, night.now() + timedelta(hours=6, minutes=31), "Asia/Shanghai")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"arming": [{"start": "18:00"}]}, "alarms.bad_arming"),
        ({"arming": [{"start": "25:00", "end": "06:00"}]}, "alarms.bad_arming"),
        ({"arming": [{"start": "06:00", "end": "06:00"}]}, "alarms.bad_arming"),
        ({"colour": "red"}, "alarms.bad_definition"),
        ({"priority": 0}, "alarms.bad_definition"),
        ({"source_type": "earthquake"}, "alarms.bad_definition"),
        ({"segment_code": "nowhere"}, "alarms.unknown_segment"),
    ],
)
def test_bad_definitions_are_refused(night, event, change, code):  # type: ignore[no-untyped-def]
    args = {
        "source_type": "intrusion",
        "priority": 2,
        "colour": "#d32f2f",
        "sound": "alarm-high",
        "suppression_s": 60,
        "momentary_clear_s": 30,
        "auto_ack": "never",
        "arming": [],
        "ack_within_s": 60,
        **change,
    }
    before = list(AlarmDefinition.objects.filter(event=event).values())
    with pytest.raises(DomainError) as err:
        config.set_definition(event=event, **args)
    assert err.value.code == code
    assert list(AlarmDefinition.objects.filter(event=event).values()) == before


@pytest.mark.parametrize(
    ("key", "mode", "hours", "code"),
    [
        ("section canal", "bypass", 1, "alarms.bad_source_key"),
        ("section:canal-n/s99", "bypass", 1, "alarms.unknown_source"),
        ("device:NOPE", "test", 1, "alarms.unknown_source"),
        ("segment:canal-n", "off", 1, "alarms.bad_mode"),
        ("segment:canal-n", "bypass", -1, "alarms.bad_window"),
        ("segment:canal-n", "bypass", 24 * 8, "alarms.bad_window"),
    ],
)
def test_bad_overrides_are_refused(night, event, commander, key, mode, hours, code):  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as err:
        config.start_override(
            event=event,
            source_key=key,
            mode=mode,
            ends_at=night.now() + timedelta(hours=hours),
            reason="x",
            user=commander,
        )
    assert err.value.code == code


def test_walk_tests_accept_a_zone_at_49_of_50(night, event, commander):  # type: ignore[no-untyped-def]
    config.record_walk_test(
        event=event,
        segment_code="canal-n",
        section_code="s1",
        detected=[True] * 49 + [False],
        user=commander,
    )
    config.record_walk_test(
        event=event,
        segment_code="canal-n",
        section_code="s2",
        detected=[True] * 48 + [False] * 2,
        user=commander,
    )
    config.record_walk_test(
        event=event,
        segment_code="canal-n",
        section_code="s3",
        detected=[True] * 49,
        user=commander,
    )
    rows = {(r.segment, r.section): r for r in stats.detection_by_section(event)}
    assert rows[("canal-n", "s1")].accepted
    assert rows[("canal-n", "s1")].probability == 0.98
    assert not rows[("canal-n", "s2")].accepted
    assert not rows[("canal-n", "s3")].accepted  # 49 passes are not yet a full test
    assert rows[("canal-n", "s4")].passes == 0
    assert rows[("canal-n", "s4")].probability is None
    with pytest.raises(DomainError) as err:
        config.record_walk_test(
            event=event, segment_code="canal-n", section_code="s9", detected=[True], user=commander
        )
    assert err.value.code == "alarms.unknown_section"


def test_nuisance_rate_per_section_per_day(night, event, canal, commander):  # type: ignore[no-untyped-def]
    segment, section = canal
    key = f"section:{segment.code}/{section.code}"
    for disposition in ["nuisance", "nuisance", "real", "false"]:
        alarm = intrusion(event, canal, night.advance(1)).alarm
        assert alarm is not None
        services.clear(event=event, source_type="intrusion", source_key=key, at=night.advance(1))
        services.close(alarm_id=alarm.pk, user=commander, disposition=disposition)
    intrusion(event, canal, night.advance(1))  # still open
    day = night.now().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).date()
    rows = stats.nuisance_by_section(event, day)
    assert len(rows) == 1
    row = rows[0]
    assert (row.alarms, row.real, row.nuisance, row.false, row.open) == (5, 1, 2, 1, 1)
    assert row.nuisance_rate == pytest.approx(0.75)
