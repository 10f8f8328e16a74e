"""Users, roles, API tokens, languages, and login brute-force protection."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client

from anbao.accounts import services
from anbao.accounts.models import ApiToken, User
from anbao.accounts.roles import Cap, Role, caps_for
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry


@pytest.mark.django_db
def test_password_is_hashed_with_argon2(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COMMANDER)
    assert user.password.startswith("argon2$")


@pytest.mark.django_db
def test_create_user_reports_every_bad_field() -> None:
    with pytest.raises(DomainError) as err:
        services.create_user(username="", role="pilot", password="123", venue_codes=["nowhere"])
    fields = {p.field for p in err.value.problems}
    assert {"username", "role", "password", "venues"} <= fields
    assert User.objects.filter(username="").count() == 0


@pytest.mark.django_db
def test_duplicate_username_is_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PLANNER, username="dup")
    with pytest.raises(DomainError) as err:
        services.create_user(username="dup", role=Role.PLANNER)
    assert err.value.problems[0].code == "duplicate"


@pytest.mark.django_db
def test_generated_password_is_returned_once_and_works() -> None:
    created = services.create_user(username="gen", role=Role.PLANNER)
    assert created.password
    assert created.user.check_password(created.password)
    assert AuditEntry.objects.filter(
        action="accounts.user_created", object_id=str(created.user.pk)
    ).exists()


def test_police_liaison_is_read_only() -> None:
    caps = caps_for(Role.POLICE_LIAISON)
    assert all(not c.value.endswith((".edit", ".operate", ".manage", ".lead")) for c in caps)
    assert Cap.DASHBOARD_VIEW in caps


@pytest.mark.django_db
def test_api_token_authenticates_and_is_stored_as_digest(client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COMMANDER)
    token = services.issue_api_token(user=user, name="script")
    assert not ApiToken.objects.filter(digest=token).exists()
    r = client.get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["role"] == Role.COMMANDER


@pytest.mark.django_db
def test_expired_and_wrong_tokens_are_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COMMANDER)
    token = services.issue_api_token(user=user, name="short", valid_for=timedelta(seconds=-1))
    assert (
        client.get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    r = client.get("/api/accounts/me", headers={"Authorization": "Bearer abu_nonsense"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "auth.unauthenticated"


@pytest.mark.django_db
def test_inactive_user_token_is_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COMMANDER)
    token = services.issue_api_token(user=user, name="t")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert (
        client.get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


@pytest.mark.django_db
def test_language_is_switched_per_user(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.PLANNER)
    r = client.post(
        "/api/accounts/me/language",
        data=json.dumps({"language": "en"}),
        content_type="application/json",
    )
    assert r.status_code == 200
    assert User.objects.get(username=f"{Role.PLANNER}-user").language == "en"
    bad = client.post(
        "/api/accounts/me/language",
        data=json.dumps({"language": "klingon"}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "accounts.unknown_language"


@pytest.mark.django_db
def test_session_post_without_csrf_is_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.PLANNER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    r = client.post(
        "/api/accounts/me/language",
        data=json.dumps({"language": "en"}),
        content_type="application/json",
    )
    assert r.status_code == 403


@pytest.mark.django_db
def test_brute_force_login_is_locked_out(make_user) -> None:  # type: ignore[no-untyped-def]
    make_user(Role.PLANNER, username="victim")
    client = Client(REMOTE_ADDR="10.9.8.7")
    statuses = [
        client.post(
            "/accounts/login/", {"username": "victim", "password": f"wrong-{i}"}
        ).status_code
        for i in range(6)
    ]
    assert statuses[0] == 200  # the form again, with an error
    assert statuses[-1] == 429
    # Locked: even the right password no longer gets in from there.
    ok = client.post(
        "/accounts/login/", {"username": "victim", "password": "correct-horse-battery"}
    )
    assert ok.status_code == 429


@pytest.mark.django_db
def test_user_scope_limits_checkpoints(make_user) -> None:  # type: ignore[no-untyped-def]
    from anbao.sites.models import Checkpoint

    a, b = Checkpoint.objects.order_by("code")[:2]
    user = make_user(Role.CHECKPOINT_OPERATOR, checkpoint_codes=[a.code])
    assert services.in_checkpoint_scope(user, a)
    assert not services.in_checkpoint_scope(user, b)
    unscoped = make_user(Role.COMMANDER)
    assert services.in_checkpoint_scope(unscoped, b)
