"""Checkpoint leader page, seizure log and deposit desk, statistics page: render, guard, act."""

from __future__ import annotations

import pytest
from django.test import Client

from anbao.accounts.roles import Role
from anbao.core.models import AuditEntry
from anbao.screening import lanes, records
from anbao.screening.models import GateState, LaneState, OfflineConflict, SeizureStatus
from anbao.sites.models import Device
from tests.accreditation.factories import image_bytes
from tests.screening.test_lanes import at, conflict, fixed, lane_of, passage, screening

pytestmark = pytest.mark.django_db
__all__ = ["fixed"]  # the clock fixture, shared with the service tests

PAGES = [
    "/screening/checkpoints/wicc-n/",
    "/screening/checkpoints/wicc-n/live/",
    "/screening/seizures/",
    "/screening/statistics/",
]


def leader(make_user, language: str = "en") -> Client:  # type: ignore[no-untyped-def]
    """Return a logged-in checkpoint leader using ``language``."""
    c = Client()
    c.force_login(make_user(Role.CHECKPOINT_LEADER, username=f"lead-{language}", language=language))
    return c


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_the_leader(make_user, fixed, path) -> None:  # type: ignore[no-untyped-def]
    r = leader(make_user).get(path)
    assert r.status_code == 200, path


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", [Role.ACCREDITATION_OFFICER, Role.ROSTER_MANAGER])
def test_pages_are_refused_without_screening_view(client_for, path, role) -> None:  # type: ignore[no-untyped-def]
    assert client_for(role).get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_users_to_the_login(client, path) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path)
    assert r.status_code == 302
    assert "/accounts/login/" in r["Location"]


def test_unknown_checkpoint_is_a_404(make_user) -> None:  # type: ignore[no-untyped-def]
    assert leader(make_user).get("/screening/checkpoints/nope/").status_code == 404


def test_index_links_the_new_pages(make_user) -> None:  # type: ignore[no-untyped-def]
    html = leader(make_user).get("/screening/").content.decode()
    for href in ("checkpoints/wicc-n/", "seizures/", "statistics/"):
        assert f'href="/screening/{href}"' in html


def test_checkpoint_page_shows_the_live_picture(make_user, fixed) -> None:  # type: ignore[no-untyped-def]
    l1 = lane_of()
    lanes.set_lane_open(lane_of(code="l2"), False)
    passage(l1, at(-2))
    passage(l1, at(-1), status="deny", reason="revoked")
    lanes.set_equipment(l1, kind="xray", label="X-7", status="fault")
    lanes.report_queue(l1, 9)
    device = Device.objects.get(external_id="GS-wicc-n-l1")
    GateState.objects.create(device=device, mode="offline", pending=3, clock_skew_s=95.0)
    conflict(l1, at(-20))
    html = leader(make_user).get("/screening/checkpoints/wicc-n/").content.decode()
    assert 'hx-get="/screening/checkpoints/wicc-n/live/"' in html
    assert 'hx-trigger="every 5s"' in html
    assert 'id="close-l1"' in html
    assert 'id="open-l2"' in html
    assert "Credential revoked" in html
    assert "X-7" in html
    assert "manual report" in html
    assert "clock off by 95 s" in html
    assert 'class="skew-alert"' in html
    assert "csrfmiddlewaretoken" in html
    assert "/conflicts/" in html


def test_denial_reasons_follow_the_users_language(make_user, fixed) -> None:  # type: ignore[no-untyped-def]
    passage(lane_of(), at(-1), status="deny", reason="revoked")
    zh = leader(make_user, "zh-hans").get("/screening/checkpoints/wicc-n/live/").content.decode()
    en = leader(make_user, "en").get("/screening/checkpoints/wicc-n/live/").content.decode()
    assert "证件已注销" in zh
    assert "关闭通道" in zh  # the page's own words are translated too
    assert "Credential revoked" not in zh
    assert "Credential revoked" in en


def test_viewer_sees_no_toggle(client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    html = client_for(Role.POLICE_LIAISON).get("/screening/checkpoints/wicc-n/").content.decode()
    assert 'id="close-l1"' not in html


def test_the_toggle_closes_and_reopens_with_audit(make_user, fixed) -> None:  # type: ignore[no-untyped-def]
    c = leader(make_user)
    url = "/screening/checkpoints/wicc-n/lanes/l1/toggle/"
    r = c.post(url, {"open": "0"})
    assert r.status_code == 302
    assert r["Location"] == "/screening/checkpoints/wicc-n/"
    assert LaneState.objects.get(lane=lane_of()).is_open is False
    entry = AuditEntry.objects.get(action="screening.lane_closed")
    assert entry.actor_label == "lead-en"
    assert entry.source == "ui"
    c.post(url, {"open": "1"})
    assert LaneState.objects.get(lane=lane_of()).is_open is True
    assert AuditEntry.objects.filter(action="screening.lane_opened").count() == 1


def test_the_toggle_needs_the_lead_capability_and_a_post(client_for, make_user) -> None:  # type: ignore[no-untyped-def]
    url = "/screening/checkpoints/wicc-n/lanes/l1/toggle/"
    assert client_for(Role.CHECKPOINT_OPERATOR).post(url, {"open": "0"}).status_code == 403
    assert not LaneState.objects.exists()
    assert leader(make_user).get(url).status_code == 405
    assert (
        leader(make_user, "zh-hans")
        .post("/screening/checkpoints/wicc-n/lanes/nope/toggle/", {"open": "0"})
        .status_code
        == 404
    )


def test_the_toggle_checks_csrf(make_user) -> None:  # type: ignore[no-untyped-def]
    c = Client(enforce_csrf_checks=True)
    c.force_login(make_user(Role.CHECKPOINT_LEADER))
    r = c.post("/screening/checkpoints/wicc-n/lanes/l1/toggle/", {"open": "0"})
    assert r.status_code == 403
    assert not LaneState.objects.exists()


def test_out_of_scope_leader_gets_a_message_not_a_change(make_user) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(make_user(Role.CHECKPOINT_LEADER, checkpoint_codes=["wicc-s"]))
    r = c.post("/screening/checkpoints/wicc-n/lanes/l1/toggle/", {"open": "0"}, follow=True)
    assert r.status_code == 200
    assert "Not in your scope" in r.content.decode()
    assert not LaneState.objects.exists()


def test_resolve_a_conflict_from_the_page(make_user, fixed) -> None:  # type: ignore[no-untyped-def]
    row = conflict(lane_of(), at(-10))
    c = leader(make_user)
    url = f"/screening/checkpoints/wicc-n/conflicts/{row.pk}/resolve/"
    assert c.post(url, {"resolution": "  "}, follow=True).status_code == 200
    assert OfflineConflict.objects.get(pk=row.pk).resolved_at is None
    assert c.post(url, {"resolution": "checked on camera"}).status_code == 302
    row.refresh_from_db()
    assert row.resolution == "checked on camera"
    assert row.resolved_by is not None
    missing = "/screening/checkpoints/wicc-n/conflicts/999999/resolve/"
    assert c.post(missing, {"resolution": "x"}).status_code == 404
    elsewhere = conflict(lane_of("wicc-s"), at(-10))
    wrong = f"/screening/checkpoints/wicc-n/conflicts/{elsewhere.pk}/resolve/"
    assert c.post(wrong, {"resolution": "x"}).status_code == 404


def test_seizure_log_filters_and_deposit_desk(make_user, fixed) -> None:  # type: ignore[no-untyped-def]
    l1 = lane_of()
    kept = records.record_seizure(
        checkpoint=l1.checkpoint, lane=l1, item_code="lighter", photo=image_bytes()
    )
    records.record_seizure(checkpoint=l1.checkpoint, lane=l1, item_code="folding_knife")
    c = leader(make_user)
    html = c.get("/screening/seizures/?item_class=restricted&day=2026-11-09").content.decode()
    assert "Lighter" in html
    assert "Folding knife" not in html
    html = c.get("/screening/seizures/?disposition=confiscated").content.decode()
    assert "Folding knife" in html
    assert 'id="unclaimed-table"' in html
    assert str(kept.ticket) in html  # unclaimed deposits are always listed
    html = c.get(f"/screening/seizures/?ticket={str(kept.ticket).lower()}").content.decode()
    assert 'id="deposit-found"' in html
    assert f"/api/screening/deposits/{kept.ticket}/receipt.pdf" in html
    assert f'id="deposit-photo" src="/api/screening/seizures/{kept.pk}/photo"' in html
    assert 'id="return-form"' in html
    html = c.get("/screening/seizures/?ticket=DNOPE").content.decode()
    assert "No deposit ticket" in html
    html = c.get("/screening/seizures/?disposition=lost").content.decode()
    assert "form-errors" in html


def test_return_a_deposit_from_the_desk(make_user, client_for, fixed) -> None:  # type: ignore[no-untyped-def]
    l1 = lane_of()
    kept = records.record_seizure(checkpoint=l1.checkpoint, lane=l1, item_code="lighter")
    body = {"ticket": kept.ticket, "checkpoint": "wicc-s"}
    viewer = client_for(Role.POLICE_LIAISON)
    assert viewer.post("/screening/seizures/return/", body).status_code == 403
    c = leader(make_user)
    r = c.post("/screening/seizures/return/", body)
    assert r.status_code == 302
    assert r["Location"] == f"/screening/seizures/?ticket={kept.ticket}"
    kept.refresh_from_db()
    assert kept.status == SeizureStatus.RETURNED
    assert kept.returned_checkpoint is not None
    assert kept.returned_checkpoint.code == "wicc-s"
    again = c.post("/screening/seizures/return/", body, follow=True).content.decode()
    assert "already returned" in again
    assert 'id="return-form"' not in again


def test_statistics_page(make_user, fixed) -> None:  # type: ignore[no-untyped-def]
    l1 = lane_of()
    passage(l1, at(1))
    passage(l1, at(2), status="deny", reason="zone_denied")
    screening(l1, at(3), "bag")
    records.record_seizure(checkpoint=l1.checkpoint, lane=l1, item_code="drone")
    c = leader(make_user)
    html = c.get("/screening/statistics/?day=2026-11-09&checkpoint=wicc-n").content.decode()
    assert 'id="statistics-table"' in html
    assert "No access to this zone" in html
    assert "Drones and aircraft" in html
    zh = leader(make_user, "zh-hans").get("/screening/statistics/?day=2026-11-09").content.decode()
    assert "无权进入该区域" in zh
    assert "无人机" in zh
    bad = c.get("/screening/statistics/?day=2026-13-45")
    assert bad.status_code == 200
    assert "form-errors" in bad.content.decode()
