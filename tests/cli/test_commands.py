"""The ``anbao`` command: demo on a fresh home, users, devices, and Django's own commands."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from anbao.accounts.models import DeviceCredential, User
from anbao.core.models import AuditEntry
from anbao.sites.models import Device

ANBAO = [sys.executable, "-m", "anbao.cli"]


def _run(args: list[str], home: Path, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANBAO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("ANBAO_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [*ANBAO, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_demo_no_serve_on_a_fresh_home_then_reuse(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _run(["demo", "--no-serve"], home)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "admin password (shown once)" in out
    for word in ("checkpoints", "lanes", "zones", "venues", "cameras"):
        assert word in out
    assert (home / "anbao.sqlite3").exists()
    assert (home / "secrets.json").stat().st_mode & 0o077 == 0
    assert (home / "demo" / "people.csv").exists()
    second = _run(["demo", "--no-serve"], home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "admin password (shown once)" not in second.stdout
    assert "admin exists" in second.stdout


def test_help_lists_django_and_anbao_commands(tmp_path: Path) -> None:
    result = _run(["help"], tmp_path / "h")
    assert result.returncode == 0
    for command in ("demo", "serve", "site", "user", "device", "migrate"):
        assert command in result.stdout


@pytest.mark.django_db
def test_user_add_prints_generated_password_once() -> None:
    out = StringIO()
    call_command("user", "add", "duty-chief", "--role", "commander", stdout=out)
    text = out.getvalue()
    assert "password (shown once)" in text
    password = text.rsplit(": ", 1)[1].strip()
    user = User.objects.get(username="duty-chief")
    assert user.check_password(password)
    entry = AuditEntry.objects.get(action="accounts.user_created", object_id=str(user.pk))
    assert entry.source == "cli"


@pytest.mark.django_db
def test_user_add_with_unknown_role_or_scope_fails_cleanly() -> None:
    with pytest.raises(CommandError):
        call_command("user", "add", "x", "--role", "pilot", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="unknown checkpoints"):
        call_command(
            "user",
            "add",
            "y",
            "--role",
            "checkpoint_operator",
            "--checkpoint",
            "NOPE",
            stdout=StringIO(),
        )
    assert not User.objects.filter(username__in=["x", "y"]).exists()


@pytest.mark.django_db
def test_device_enrol_rotate_revoke() -> None:
    device = Device.objects.order_by("external_id").first()
    assert device is not None
    out = StringIO()
    call_command("device", "enrol", device.external_id, stdout=out)
    assert "enrolment code" in out.getvalue()
    assert "█" in out.getvalue() or "\x1b[" in out.getvalue()  # the QR in the terminal
    cred = DeviceCredential.objects.get(device=device)
    assert cred.enrolment_digest
    with pytest.raises(CommandError, match="device_not_enrolled"):
        call_command("device", "rotate", device.external_id, stdout=StringIO())
    with pytest.raises(CommandError, match="unknown_device"):
        call_command("device", "enrol", "NO-SUCH-DEVICE", stdout=StringIO())


def test_serve_refuses_an_unmigrated_instance(tmp_path: Path) -> None:
    result = _run(["serve", "--port", "8799"], tmp_path / "fresh", timeout=60)
    assert result.returncode != 0
    assert "unapplied migrations" in result.stderr


def test_serve_with_workers_listens_in_each_worker_and_names_a_taken_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import time
    from http.client import HTTPConnection

    monkeypatch.setenv("ANBAO_SOCKET_PER_WORKER", "1")  # PostgreSQL's default; SQLite shares one
    home = tmp_path / "home"
    assert _run(["migrate"], home).returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        refused = _run(["serve", "--port", str(port), "--workers", "2"], home, timeout=60)
    assert refused.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in refused.stderr
    env = {**os.environ, "ANBAO_HOME": str(home)}
    env.pop("ANBAO_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [*ANBAO, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        statuses: list[int] = []
        deadline = time.monotonic() + 60
        while len(statuses) < 8 and time.monotonic() < deadline:
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/accounts/login/")
                statuses.append(conn.getresponse().status)
                conn.close()
            except OSError:
                time.sleep(0.2)
        assert statuses == [200] * 8
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert err.count("Started server process") == 2, err[-2000:]
