"""The alarm page: live list, actions, sensors, drones and walk tests, in two languages."""

from __future__ import annotations

import pytest
from django.test import Client

from anbao.accounts.roles import Role
from anbao.alarms import services
from anbao.alarms.models import Alarm, Workflow


@pytest.fixture
def panic(night, event):  # type: ignore[no-untyped-def]
    return services.trigger(
        event=event, source_type="panic", source_key="device:PB-wicc-01", at=night.now()
    ).alarm


@pytest.fixture
def placed(night, event):  # type: ignore[no-untyped-def]
    """A panic alarm at its button's surveyed point, as the device path raises it."""
    return services.trigger(
        event=event,
        source_type="panic",
        source_key="device:PB-wicc-01",
        at=night.now(),
        lon=120.4852,
        lat=30.7494,
    ).alarm


def user_client(make_user, role: str, language: str) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user(role, username=f"{role}-{language}", language=language))
    return client


def test_the_page_lists_open_alarms_in_both_languages(night, panic, make_user):  # type: ignore[no-untyped-def]
    zh = user_client(make_user, Role.COMMANDER, "zh-hans").get("/alarms/").content.decode()
    assert "紧急按钮" in zh
    assert "未关闭的告警" in zh
    assert 'id="pd-table"' in zh
    en = user_client(make_user, Role.COMMANDER, "en").get("/alarms/live/").content.decode()
    assert "Panic button" in en
    assert "Force acknowledge" in en


def test_force_acknowledge_from_the_page_needs_a_note(night, panic, client_for):  # type: ignore[no-untyped-def]
    commander = client_for(Role.COMMANDER)
    url = f"/alarms/{panic.pk}/acknowledge/"
    response = commander.post(url, {"force": "1", "note": ""}, follow=True)
    assert "alarms.note_required" in response.content.decode()
    assert Alarm.objects.get(pk=panic.pk).workflow == Workflow.NEW
    commander.post(url, {"force": "1", "note": "guard at the hall"})
    assert Alarm.objects.get(pk=panic.pk).workflow == Workflow.ACKNOWLEDGED


def test_close_from_the_page_after_the_source_clears(night, event, panic, make_user):  # type: ignore[no-untyped-def]
    commander = user_client(make_user, Role.COMMANDER, "en")
    services.clear(event=event, source_type="panic", source_key="device:PB-wicc-01", at=night.now())
    commander.post(f"/alarms/{panic.pk}/close/", {"disposition": ""})
    assert Alarm.objects.get(pk=panic.pk).workflow == Workflow.NEW
    commander.post(f"/alarms/{panic.pk}/close/", {"disposition": "test", "note": "drill"})
    closed = Alarm.objects.get(pk=panic.pk)
    assert closed.workflow == Workflow.CLOSED
    assert closed.disposition == "test"
    assert "No open alarms." in commander.get("/alarms/live/").content.decode()


def test_read_only_roles_see_no_actions_and_cannot_post(night, panic, client_for):  # type: ignore[no-untyped-def]
    police = client_for(Role.POLICE_LIAISON)
    page = police.get("/alarms/live/").content.decode()
    assert f'data-alarm="{panic.number}"' in page
    assert "/acknowledge/" not in page
    assert police.post(f"/alarms/{panic.pk}/take/").status_code == 403
    assert client_for(Role.ACCREDITATION_OFFICER).get("/alarms/").status_code == 403


def test_the_alarm_page_shows_timeline_cameras_and_takes_a_note(night, placed, make_user):  # type: ignore[no-untyped-def]
    from anbao.core.models import AuditEntry

    commander = user_client(make_user, Role.COMMANDER, "en")
    page = commander.get(f"/alarms/{placed.pk}/").content.decode()
    assert 'data-priority="1"' in page
    assert 'data-action="raised"' in page
    assert "data-camera=" in page  # the panic button's point is in view of a camera
    commander.post(f"/alarms/{placed.pk}/note/", {"note": "guest pressed it", "back": "detail"})
    response = commander.post(f"/alarms/{placed.pk}/cameras/", {"back": "detail"})
    assert response.status_code == 302
    assert response["Location"] == f"/alarms/{placed.pk}/"
    actions = list(placed.entries.order_by("pk").values_list("action", "text"))
    assert actions[-2] == ("note", "guest pressed it")
    assert actions[-1][0] == "cameras"
    assert "pan" in actions[-1][1]
    assert AuditEntry.objects.filter(action="alarm.cameras").count() == 1
    page = commander.get(f"/alarms/{placed.pk}/").content.decode()
    assert "guest pressed it" in page
    assert 'data-action="cameras"' in page


def test_an_empty_note_or_unknown_alarm_is_refused_with_a_reason(night, panic, make_user):  # type: ignore[no-untyped-def]
    commander = user_client(make_user, Role.COMMANDER, "en")
    before = panic.entries.count()
    response = commander.post(
        f"/alarms/{panic.pk}/note/", {"note": "  ", "back": "detail"}, follow=True
    )
    assert "alarms.note_required" in response.content.decode()
    assert panic.entries.count() == before
    assert commander.get("/alarms/999999/").status_code == 404
    # The form's "back" cannot send the browser off the site.
    response = commander.post(f"/alarms/{panic.pk}/note/", {"note": "x", "back": "//evil.example"})
    assert response["Location"] == "/alarms/"


def test_an_alarm_without_a_position_calls_up_no_camera(night, event, make_user):  # type: ignore[no-untyped-def]
    alarm = services.trigger(
        event=event, source_type="panic", source_key="device:nowhere", at=night.now()
    ).alarm
    assert alarm is not None
    assert alarm.lon is None
    commander = user_client(make_user, Role.COMMANDER, "en")
    assert 'id="no-camera"' in commander.get(f"/alarms/{alarm.pk}/").content.decode()
    response = commander.post(f"/alarms/{alarm.pk}/cameras/", {"back": "detail"}, follow=True)
    assert "alarms.no_position" in response.content.decode()
    assert not alarm.entries.filter(action="cameras").exists()


def test_the_alarm_page_is_read_only_for_the_police_and_closed_to_others(night, placed, client_for):  # type: ignore[no-untyped-def]
    police = client_for(Role.POLICE_LIAISON)
    page = police.get(f"/alarms/{placed.pk}/").content.decode()
    assert "data-camera=" in page
    assert 'id="note-form"' not in page
    assert 'id="callup-button"' not in page
    assert police.post(f"/alarms/{placed.pk}/note/", {"note": "x"}).status_code == 403
    assert police.post(f"/alarms/{placed.pk}/cameras/").status_code == 403
    assert client_for(Role.CHECKPOINT_OPERATOR).get(f"/alarms/{placed.pk}/").status_code == 403


def test_the_incident_forms_do_not_redirect_off_the_site(night, panic, client_for):  # type: ignore[no-untyped-def]
    commander = client_for(Role.COMMANDER)
    for back in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        response = commander.post(
            "/incidents/new/", {"type": "no-such-type", "alarm_id": panic.pk, "back": back}
        )
        assert response.status_code == 302
        assert "evil" not in response["Location"]
