"""The zh-Hans catalogue: every message translated, and the compiled .mo matching the .po."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"


def _entries() -> list[dict[str, str]]:
    """Parse the .po file: msgctxt, msgid, msgid_plural and msgstr (or msgstr[0]) per entry."""
    entries = []
    for block in (LOCALE / "django.po").read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, str] = {}
        key = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if line.startswith("#") or not line.strip():
                continue
            match = re.match(
                r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[0\])?|msgstr\[\d+\]) (\".*\")$", line
            )
            if match:
                key = match.group(1).replace("[0]", "")
                entry[key] = ast.literal_eval(match.group(2))
            elif key is not None:
                entry[key] += ast.literal_eval(line)
        if entry.get("msgid"):
            entry["fuzzy"] = "yes" if fuzzy else ""
            entries.append(entry)
    return entries


def test_every_message_has_a_chinese_translation() -> None:
    entries = _entries()
    assert len(entries) > 150
    untranslated = [e["msgid"] for e in entries if not e.get("msgstr") or e["fuzzy"]]
    assert untranslated == []


def test_placeholders_survive_translation() -> None:
    def names(text: str) -> set[str]:
        return set(re.findall(r"%\((\w+)\)s", text))

    for e in _entries():
        assert names(e["msgid"]) == names(e["msgstr"]), e["msgid"]


def test_compiled_catalogue_matches_the_po_file() -> None:
    with (LOCALE / "django.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for e in _entries():
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            got = compiled.ngettext(msgid, e["msgid_plural"], 1)
        else:
            got = compiled.gettext(msgid)
        assert got == e["msgstr"], f"{msgid!r}: recompile the .mo (compilemessages)"


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Site map", "站点地图"),
        ("Checkpoints", "卡口"),
        ("Alarms", "告警"),
        ("Incidents", "事件"),
        ("Command centre", "指挥中心"),
        ("No-fly zone", "禁飞区"),
        ("Perimeter", "周界"),
        ("Checkpoint operator", "卡口安检员"),
    ],
)
def test_key_terms(english, chinese) -> None:  # type: ignore[no-untyped-def]
    with translation.override("zh-hans"):
        assert translation.gettext(english) == chinese
