"""``anbao site load|validate|export``: a summary table, or one line per problem and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from anbao.sites.demo import DEMO_SITE_PATH
from anbao.sites.models import Event
from tests.sites.sitefiles import SiteFolder

pytestmark = pytest.mark.django_db


def test_load_prints_a_summary_table(tmp_path: Path) -> None:
    out = StringIO()
    call_command("site", "load", str(SiteFolder(tmp_path / "tiny").write()), stdout=out)
    text = out.getvalue()
    assert "tiny" in text
    assert "created" in text
    assert "lanes" in text
    assert Event.objects.filter(code="tiny").exists()


def test_load_with_problems_lists_each_and_fails(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    site.data["checkpoints"][0]["to_zone"] = "9"
    site.data["airspace"][0]["ceiling_m"] = -1
    site.write()
    err = StringIO()
    with pytest.raises(CommandError, match=r"sites\.invalid_site_files"):
        call_command("site", "load", str(site.root), stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    line = site.line_of("to_zone", after="gate-a")
    assert f"site.yaml:{line}: checkpoints[0].to_zone: checkpoint gate-a: unknown zone '9'" in lines
    assert any(ln.startswith("site.yaml:") and "floor" in ln for ln in lines)
    assert not Event.objects.filter(code="tiny").exists()


def test_validate_stores_nothing(tmp_path: Path) -> None:
    out = StringIO()
    call_command("site", "validate", str(SiteFolder(tmp_path / "t").write()), stdout=out)
    assert "valid" in out.getvalue()
    assert not Event.objects.filter(code="tiny").exists()


def test_export_writes_both_files(tmp_path: Path) -> None:
    out = StringIO()
    call_command("site", "export", str(tmp_path / "x"), "--event", "wic2026", stdout=out)
    assert (tmp_path / "x" / "site.yaml").read_text("utf-8").startswith("# anbao site file")
    assert (tmp_path / "x" / "geometry.geojson").exists()
    assert "wrote" in out.getvalue()


@pytest.mark.slow
def test_cli_exit_code_and_no_traceback(tmp_path: Path) -> None:
    bad = SiteFolder(tmp_path / "bad")
    bad.data["zones"][1]["number"] = "1"
    bad.write()
    env = {**os.environ, "ANBAO_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1"}
    env.pop("ANBAO_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "anbao.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    assert run("migrate", "-v0").returncode == 0
    failed = run("site", "load", str(bad.root))
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert "duplicate zone '1'" in failed.stderr
    loaded = run("site", "load", str(DEMO_SITE_PATH))
    assert loaded.returncode == 0, loaded.stderr
    assert "wic2026" in loaded.stdout
