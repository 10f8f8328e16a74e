"""Shared fixtures: the demo site loaded once per test database, users for every role."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.test import Client

from anbao.accounts import services as accounts
from anbao.accounts.models import User
from anbao.accounts.roles import Role

IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass
class MovingClock:
    """A clock that stands still until moved."""

    current: datetime

    def now(self) -> datetime:
        """Return the current moment."""
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move the clock on by ``seconds``."""
        self.current += timedelta(seconds=seconds)
        return self.current


def require_service(available: bool, reason: str) -> None:
    """Skip when a local service is missing, except in CI, where it is a failure."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """Load the bundled demo site once into the test database."""
    from anbao.sites import services as sites
    from anbao.sites.demo import DEMO_SITE_PATH

    with django_db_blocker.unblock():
        sites.load_site(DEMO_SITE_PATH)


@pytest.fixture
def make_user(db) -> Callable[..., User]:  # type: ignore[no-untyped-def]
    """Create a user with a role (password ``correct-horse-battery``)."""

    def _make(role: str = Role.ADMIN, username: str | None = None, **kwargs: object) -> User:
        name = username or f"{role}-user"
        return accounts.create_user(
            username=name,
            role=role,
            password="correct-horse-battery",
            **kwargs,  # type: ignore[arg-type]
        ).user

    return _make


@pytest.fixture
def client_for(make_user) -> Callable[[str], Client]:  # type: ignore[no-untyped-def]
    """Return a logged-in test client for a role."""

    def _client(role: str) -> Client:
        user = make_user(role)
        client = Client()
        client.force_login(user)
        return client

    return _client


@pytest.fixture
def admin_client_(client_for) -> Client:  # type: ignore[no-untyped-def]
    """A logged-in admin."""
    return client_for(Role.ADMIN)
