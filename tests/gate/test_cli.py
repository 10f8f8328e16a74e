"""``anbao gate``: the management command hands its argv to the gate CLI."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from anbao.gate import cli
from anbao.gate.gate import Gate
from tests.gate.factory import NOW, Keys, claims, envelope, payload, person


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_root_key_from_hex_or_file(tmp_path: Path) -> None:
    key = bytes(range(32))
    assert cli.parse_root_key(key.hex()) == key
    (tmp_path / "root.hex").write_text(key.hex() + "\n")
    assert cli.parse_root_key(str(tmp_path / "root.hex")) == key
    (tmp_path / "root.bin").write_bytes(key)
    assert cli.parse_root_key(str(tmp_path / "root.bin")) == key
    with pytest.raises(ValueError, match="32 bytes"):
        cli.parse_root_key("abcd")


def test_status_and_sync_through_the_command(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    keys = Keys()
    settings = {
        "server": f"http://127.0.0.1:{closed_port()}",
        "token": "t",
        "device": "GS-wicc-n-l1",
        "checkpoint": "wicc-n",
        "lane": "l1",
        "root_key": keys.root_public.hex(),
    }
    cli.save_config(tmp_path, settings)
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o600
    at = datetime.fromtimestamp(NOW, UTC)
    c = claims()
    gate = Gate(cli.gate_config(tmp_path, settings), clock=lambda: at)
    gate.store.accept(envelope(keys, payload(keys, [person(c, 1)], serial=9)), at)
    gate.scan(keys.badge.sign(c))
    gate.save_state()
    gate.stop()

    call_command("gate", "status", "--home", str(tmp_path))
    state = json.loads(capsys.readouterr().out)
    assert state["bundle"]["serial"] == 9
    assert state["pending"] == 1
    assert state["recent"][0]["status"] == "allow"
    assert state["last_run"]["mode"] == "offline"
    assert "connection refused" in state["last_run"]["last_error"].lower()

    with pytest.raises(CommandError):
        call_command("gate", "sync", "--home", str(tmp_path))  # the server is unreachable
    assert "cannot be reached" in capsys.readouterr().err
    assert cli.main(["status", "--home", str(tmp_path / "none")]) == 2


def test_run_needs_its_settings(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["run", "--home", str(tmp_path), "--server", "http://127.0.0.1:1"]) == 2
    assert "missing --token" in capsys.readouterr().err


def test_the_anbao_console_script_runs_the_gate_cli(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    anbao = Path(sys.executable).parent / "anbao"
    env = {**os.environ, "ANBAO_HOME": str(tmp_path / "instance")}
    done = subprocess.run(
        [str(anbao), "gate", "status", "--home", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "no gate at" in done.stderr


def test_a_second_gate_on_the_same_home_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import fcntl

    keys = Keys()
    args = ["run", "--home", str(tmp_path), "--server", "http://127.0.0.1:1", "--token", "t",
            "--device", "d", "--checkpoint", "c", "--lane", "l",
            "--root-key", keys.root_public.hex()]  # fmt: skip
    with open(tmp_path / "gate.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a running gate holds it
        assert cli.main(args) == 2
    assert "another gate runs" in capsys.readouterr().err


def test_gate_run_serves_the_lane_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    from http.client import HTTPConnection

    keys = Keys()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code = "import sys; from anbao.gate.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["run", "--home", str(tmp_path), "--server", f"http://127.0.0.1:{closed_port()}",
            "--token", "t", "--device", "GS-wicc-n-l1", "--checkpoint", "wicc-n", "--lane", "l1",
            "--root-key", keys.root_public.hex(), "--port", "0"]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "lane screen at http://127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1].strip().strip("/"))
        conn = HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/state")
        state = json.loads(conn.getresponse().read())
        conn.close()
        assert state["device"] == "GS-wicc-n-l1"
        assert state["bundle"] is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["mode"] == "offline"
