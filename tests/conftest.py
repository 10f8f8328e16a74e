"""Shared fixtures: the demo site loaded once per test database, users for every role."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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


@pytest.fixture(scope="session", autouse=True)
def _one_live_server_request_at_a_time() -> Iterator[None]:
    """On in-memory SQLite, let the live server's threads run one request's view at a time.

    The live server's request threads share the test's one in-memory connection, and Django's
    transaction state on a connection is not thread-safe: two requests inside
    ``transaction.atomic()`` at once can break each other's savepoints or leave the connection
    in a block that never ends, after which ``on_commit`` callbacks (the bus) never run and
    later tests fail. Production gives each thread its own connection. Streaming bodies (the
    SSE streams) are iterated outside the lock; they do no database work.
    """
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    db: dict[str, Any] = settings.DATABASES["default"]
    test: dict[str, Any] = db.get("TEST") or {}
    shared = str(db["ENGINE"]).endswith("sqlite3") and not test.get("NAME")
    if not shared:
        yield
        return
    lock = threading.RLock()
    original = WSGIHandler.__call__

    def one_at_a_time(self: WSGIHandler, environ: Any, start_response: Any) -> Any:
        with lock:
            return original(self, environ, start_response)

    WSGIHandler.__call__ = one_at_a_time  # type: ignore[method-assign]
    yield
    WSGIHandler.__call__ = original  # type: ignore[method-assign]


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
