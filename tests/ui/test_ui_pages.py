"""The web shell and the domain pages, through Django's test client, in both languages."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from anbao.accounts.models import User
from anbao.accounts.roles import Role
from anbao.sites.models import Checkpoint, Device, Lane, PerimeterSegment

PASSWORD = "correct-horse-battery"
DOMAIN_PAGES = [
    "core:home",
    "sites:map",
    "sites:devices",
    "accreditation:index",
    "screening:index",
    "workforce:index",
    "alarms:index",
    "incidents:index",
    "dashboard:index",
    "core:audit",
]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# -- login, lockout, language -------------------------------------------------------------------


def test_login_page_is_chinese_by_default_and_english_on_request(client, db) -> None:  # type: ignore[no-untyped-def]
    zh = _text(client.get(reverse("accounts:login")))
    assert '<html lang="zh-hans">' in zh
    assert "用户名" in zh
    assert "密码" in zh
    en = _text(client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="en">' in en
    assert "Username" in en
    assert "Password" in en


def test_wrong_password_shows_an_error(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.CHECKPOINT_OPERATOR, username="op-li")
    response = client.post(
        reverse("accounts:login"), {"username": "op-li", "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert 'id="login-error"' in _text(response)
    assert "用户名或密码错误" in _text(response)


def test_right_password_logs_in(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.CHECKPOINT_OPERATOR, username="op-li")
    response = client.post(reverse("accounts:login"), {"username": "op-li", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")


def test_repeated_failures_lock_the_login(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.CHECKPOINT_OPERATOR, username="op-li")
    url = reverse("accounts:login")
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(url, {"username": "op-li", "password": f"wrong-{i}"}).status_code == 200
    locked = client.post(url, {"username": "op-li", "password": "wrong-last"})
    assert locked.status_code == 429
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    assert f"该账号已锁定 {minutes} 分钟" in _text(locked)
    # The right password does not get through while locked.
    again = client.post(url, {"username": "op-li", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_locked_page_in_english(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.CHECKPOINT_OPERATOR, username="op-li")
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            reverse("accounts:login"),
            {"username": "op-li", "password": f"wrong-{i}"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 429
    assert "This account is locked for" in _text(response)


def test_language_switch_stores_the_choice(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COMMANDER)
    client = _client(user)
    assert "站点地图" in _text(client.get(reverse("core:home")))
    response = client.post(
        reverse("accounts:language"), {"language": "en", "next": reverse("sites:map")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("sites:map")
    user.refresh_from_db()
    assert user.language == "en"
    page = _text(client.get(reverse("core:home")))
    assert '<html lang="en">' in page
    assert "Site map" in page
    assert "站点地图" not in page
    assert "Commander" in page


def test_logout_is_a_post(make_user) -> None:  # type: ignore[no-untyped-def]
    client = _client(make_user(Role.COMMANDER))
    page = _text(client.get(reverse("core:home")))
    assert re.search(r'<form[^>]+method="post"[^>]+action="/accounts/logout/"', page)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("core:home")).status_code == 302


# -- every page, both languages, every role -----------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("name", DOMAIN_PAGES)
def test_admin_opens_every_page_in_both_languages(make_user, name, language) -> None:  # type: ignore[no-untyped-def]
    client = _client(make_user(Role.ADMIN, language=language))
    response = client.get(reverse(name))
    assert response.status_code == 200, name
    page = _text(response)
    assert f'<html lang="{language}">' in page
    assert "安保" in page
    assert "anbao" in page
    if language == "en":
        assert "Log out" in page
    else:
        assert "退出登录" in page
        assert "Log out" not in page


@pytest.mark.parametrize("role", list(Role))
def test_menu_and_pages_follow_the_role(make_user, role) -> None:  # type: ignore[no-untyped-def]
    user = make_user(role)
    client = _client(user)
    home = client.get(reverse("core:home"))
    nav_urls = [e["url"] for e in home.context["nav"]]
    tiles = [t["url"] for t in home.context["tiles"]]
    assert tiles == nav_urls
    for name in DOMAIN_PAGES[1:]:
        response = client.get(reverse(name))
        expected = 200 if reverse(name) in nav_urls else 403
        assert response.status_code == expected, (role, name)
        if expected == 403:
            assert "无权访问" in _text(response)


def test_anonymous_users_go_to_login(client, db) -> None:  # type: ignore[no-untyped-def]
    for name in DOMAIN_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_unknown_address_is_a_404_page(make_user) -> None:  # type: ignore[no-untyped-def]
    response = _client(make_user(Role.COMMANDER)).get("/no/such/page/")
    assert response.status_code == 404
    assert "页面不存在" in _text(response)


# -- home, map, devices, domains ----------------------------------------------------------------


def test_home_shows_tiles_and_site_summary(make_user) -> None:  # type: ignore[no-untyped-def]
    response = _client(make_user(Role.COMMANDER)).get(reverse("core:home"))
    page = _text(response)
    assert 'data-key="checkpoints"><div class="value">15<' in page
    assert 'data-key="lanes"><div class="value">60<' in page
    online = Device.objects.filter(online=True).count()
    assert f'data-key="devices"><div class="value">{online} / {Device.objects.count()}<' in page
    assert "实时态势" in page  # the command-centre tile's description


def test_site_map_embeds_the_site_and_translated_labels(make_user) -> None:  # type: ignore[no-untyped-def]
    client = _client(make_user(Role.CHECKPOINT_OPERATOR))
    response = client.get(reverse("sites:map"))
    page = _text(response)
    data = json.loads(re.search(r'id="site-geojson"[^>]*>(.*?)</script>', page, re.S).group(1))
    kinds = [f["properties"]["kind"] for f in data["features"]]
    assert kinds.count("checkpoint") == Checkpoint.objects.count() == 15
    assert kinds.count("lane") == Lane.objects.count() == 60
    assert kinds.count("segment") == PerimeterSegment.objects.count()
    labels = json.loads(re.search(r'id="site-map-labels"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert labels["series"]["checkpoints"] == "卡口"
    assert labels["series"]["airspace"] == "禁飞区"
    assert 'id="checkpoint-list"' in page
    assert page.count('<tr data-ref="') == 15
    assert "vendor/echarts/echarts.min.js" in page


@pytest.mark.parametrize(
    "name",
    [
        "core:home",
        "sites:map",
        "sites:devices",
        "screening:index",
        "alarms:index",
        "dashboard:index",
        "core:audit",
    ],
)
def test_pages_need_few_queries(make_user, django_assert_max_num_queries, name) -> None:  # type: ignore[no-untyped-def]
    client = _client(make_user(Role.ADMIN))
    client.get(reverse(name))
    with django_assert_max_num_queries(20):
        assert client.get(reverse(name)).status_code == 200


def test_devices_page_lists_and_filters(make_user) -> None:  # type: ignore[no-untyped-def]
    client = _client(make_user(Role.CHECKPOINT_LEADER, language="en"))
    url = reverse("sites:devices")
    everything = client.get(url)
    assert everything.context["page"].paginator.count == Device.objects.count()
    kind = Device.objects.values_list("kind", flat=True).first()
    by_kind = client.get(url, {"kind": kind})
    assert {d.kind for d in by_kind.context["page"].object_list} == {kind}
    assert by_kind.context["page"].paginator.count == Device.objects.filter(kind=kind).count()
    Device.objects.filter(kind=kind).update(online=True)
    online = client.get(url, {"online": "1"})
    assert all(d.online for d in online.context["page"].object_list)
    offline = client.get(url, {"online": "0"})
    assert not any(d.online for d in offline.context["page"].object_list)
    bad = client.get(url, {"kind": "toaster"})
    assert bad.status_code == 200
    assert bad.context["form"].errors
    assert bad.context["page"] is None


def test_devices_page_shows_last_seen_in_shanghai_time(make_user) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    device = Device.objects.order_by("external_id").first()
    assert device is not None
    Device.objects.filter(pk=device.pk).update(
        online=True, last_seen=datetime(2024, 11, 20, 1, 2, 3, tzinfo=UTC)
    )
    page = _text(
        _client(make_user(Role.ADMIN)).get(reverse("sites:devices"), {"kind": device.kind})
    )
    assert "2024-11-20 09:02:03" in page


def test_devices_page_paginates(make_user) -> None:  # type: ignore[no-untyped-def]
    event = Device.objects.first().event  # type: ignore[union-attr]
    Device.objects.bulk_create(
        Device(event=event, external_id=f"ZZ-{i:03d}", name=f"test {i}", kind="other")
        for i in range(120)
    )
    client = _client(make_user(Role.ADMIN))
    first = client.get(reverse("sites:devices"), {"kind": "other"})
    assert first.context["page"].paginator.num_pages == 2
    assert "page=2" in _text(first)


def test_screening_lists_checkpoints_with_lanes(make_user) -> None:  # type: ignore[no-untyped-def]
    page = _text(_client(make_user(Role.CHECKPOINT_OPERATOR)).get(reverse("screening:index")))
    for cp in Checkpoint.objects.all():
        assert cp.name in page
    assert page.count('<span class="badge" title="') == 60


def test_alarms_lists_segments_and_airspace(make_user) -> None:  # type: ignore[no-untyped-def]
    page = _text(_client(make_user(Role.COMMANDER, language="en")).get(reverse("alarms:index")))
    for seg in PerimeterSegment.objects.all():
        assert (seg.name_en or seg.name) in page
    assert 'id="airspace-table"' in page
    assert "No-fly zone" in page


def test_dashboard_shows_device_status(make_user) -> None:  # type: ignore[no-untyped-def]
    response = _client(make_user(Role.COMMANDER)).get(reverse("dashboard:index"))
    page = _text(response)
    assert 'id="device-status"' in page
    assert 'id="site-summary"' in page


@pytest.mark.parametrize(
    ("name", "zh", "en"),
    [
        ("workforce:index", "暂无岗位或班次", "No posts or shifts yet."),
        ("incidents:index", "暂无事件", "No incidents yet."),
    ],
)
def test_empty_domains_say_what_will_appear(make_user, name, zh, en) -> None:  # type: ignore[no-untyped-def]
    assert zh in _text(_client(make_user(Role.ADMIN)).get(reverse(name)))
    english = make_user(Role.ADMIN, username="admin-en", language="en")
    assert en in _text(_client(english).get(reverse(name)))
