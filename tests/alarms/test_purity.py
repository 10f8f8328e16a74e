"""The alarms domain's engines stay pure: importing them loads no Django."""

from __future__ import annotations

import subprocess
import sys

PURE = [
    "anbao.alarms.airspace",
    "anbao.alarms.cap",
    "anbao.alarms.devicesim",
    "anbao.alarms.mosquitto",
    "anbao.alarms.payloads",
    "anbao.alarms.perimeter",
    "anbao.alarms.perimeter_core",
    "anbao.alarms.perimeter_decisions",
    "anbao.alarms.perimeter_inputs",
    "anbao.alarms.perimeter_map",
    "anbao.alarms.ptz",
    "anbao.alarms.remoteid",
    "anbao.alarms.ridencode",
    "anbao.alarms.threat",
    "anbao.alarms.tracker",
    "anbao.alarms.tracker_core",
    "anbao.alarms.tracker_remoteid",
    "anbao.alarms.tracker_types",
]
_LOADED = (
    "import sys, importlib\n"
    "for name in sys.argv[1:]:\n"
    "    importlib.import_module(name)\n"
    "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'django'))\n"
)


def _django_loaded_by(*modules: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_engines_import_no_django() -> None:
    assert _django_loaded_by(*PURE) == "[]"


def test_the_check_sees_django_when_it_is_loaded() -> None:
    assert "django.utils.timezone" in _django_loaded_by("django.utils.timezone")
