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
