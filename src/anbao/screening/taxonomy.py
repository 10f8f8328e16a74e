"""The seizure item taxonomy: two levels (class 禁/限 → group → item), validated on load.

Pure: no Django. The default taxonomy ships as ``taxonomy/default.json`` next to this module.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

CLASSES = ("prohibited", "restricted")
DISPOSITIONS = ("deposited", "confiscated", "police", "refused")
COMMON_TOP = 10


class TaxonomyError(ValueError):
    """A taxonomy file is invalid; ``problems`` lists every problem found, each with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid taxonomy: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Item:
    """One seizable item."""

    code: str
    zh: str
    en: str
    item_class: str
    group: str
    disposition: str
    common: int = 0

    @property
    def mark(self) -> str:
        """Return 禁 or 限."""
        return "禁" if self.item_class == "prohibited" else "限"


@dataclass(frozen=True)
class Group:
    """A group of items within a class (the picker's second level)."""

    code: str
    zh: str
    en: str
    item_class: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Taxonomy:
    """A validated taxonomy."""

    version: str
    classes: Mapping[str, Mapping[str, str]]
    groups: tuple[Group, ...]
    _by_code: Mapping[str, Item] = field(repr=False, default_factory=dict)

    def item(self, code: str) -> Item | None:
        """Return the item with this code, or None."""
        return self._by_code.get(code)

    def items(self) -> list[Item]:
        """Return every item in file order."""
        return [i for g in self.groups for i in g.items]

    def common(self, n: int = COMMON_TOP) -> list[Item]:
        """Return the ``n`` most common items (rank 1 first)."""
        ranked = sorted((i for i in self.items() if i.common > 0), key=lambda i: i.common)
        return ranked[:n]

    def as_picker(self) -> dict[str, Any]:
        """Return the three-tap picker: the common items first, then class → group → items."""

        def _item(i: Item) -> dict[str, Any]:
            return {
                "code": i.code,
                "zh": i.zh,
                "en": i.en,
                "class": i.item_class,
                "mark": i.mark,
                "group": i.group,
                "disposition": i.disposition,
                "common": i.common,
            }

        classes = []
        for cls in CLASSES:
            meta = self.classes.get(cls, {})
            classes.append(
                {
                    "code": cls,
                    "mark": meta.get("mark", ""),
                    "zh": meta.get("zh", ""),
                    "en": meta.get("en", ""),
                    "groups": [
                        {
                            "code": g.code,
                            "zh": g.zh,
                            "en": g.en,
                            "items": [_item(i) for i in g.items],
                        }
                        for g in self.groups
                        if g.item_class == cls
                    ],
                }
            )
        return {
            "version": self.version,
            "common": [_item(i) for i in self.common()],
            "classes": classes,
        }


def _text(obj: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: missing {key}")
        return ""
    return value.strip()


def parse(data: Any) -> Taxonomy:
    """Validate a decoded taxonomy document; raise TaxonomyError listing every problem."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise TaxonomyError(["document: must be an object"])
    classes_raw = data.get("classes") or {}
    if not isinstance(classes_raw, Mapping):
        problems.append("classes: must be an object")
        classes_raw = {}
    for name in classes_raw:
        if name not in CLASSES:
            problems.append(f"classes.{name}: unknown class (expected one of {', '.join(CLASSES)})")
    groups_raw = data.get("groups")
    if not isinstance(groups_raw, list) or not groups_raw:
        raise TaxonomyError([*problems, "groups: must be a non-empty list"])
    seen_groups: set[str] = set()
    seen_items: dict[str, str] = {}
    ranks: dict[int, str] = {}
    groups: list[Group] = []
    for gi, graw in enumerate(groups_raw):
        gw = f"groups[{gi}]"
        if not isinstance(graw, Mapping):
            problems.append(f"{gw}: must be an object")
            continue
        gcode = _text(graw, "code", gw, problems)
        if gcode:
            gw = f"groups[{gi}]({gcode})"
            if gcode in seen_groups:
                problems.append(f"{gw}: duplicate group code {gcode}")
            seen_groups.add(gcode)
        gcls = graw.get("class")
        if gcls not in CLASSES:
            problems.append(f"{gw}: unknown class {gcls!r} (expected one of {', '.join(CLASSES)})")
            gcls = ""
        gzh = _text(graw, "zh", gw, problems)
        gen = _text(graw, "en", gw, problems)
        items_raw = graw.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            problems.append(f"{gw}: items must be a non-empty list")
            items_raw = []
        items: list[Item] = []
        for ii, iraw in enumerate(items_raw):
            iw = f"{gw}.items[{ii}]"
            if not isinstance(iraw, Mapping):
                problems.append(f"{iw}: must be an object")
                continue
            code = _text(iraw, "code", iw, problems)
            if code:
                iw = f"{gw}.items[{ii}]({code})"
                if code in seen_items:
                    problems.append(
                        f"{iw}: duplicate item code {code} (first in {seen_items[code]})"
                    )
                seen_items.setdefault(code, gw)
            zh = _text(iraw, "zh", iw, problems)
            en = _text(iraw, "en", iw, problems)
            disposition = iraw.get("disposition")
            if disposition not in DISPOSITIONS:
                problems.append(f"{iw}: unknown disposition {disposition!r}")
                disposition = ""
            common = iraw.get("common", 0)
            if not isinstance(common, int) or isinstance(common, bool) or common < 0:
                problems.append(f"{iw}: common must be a whole number >= 0")
                common = 0
            if common:
                if common in ranks:
                    problems.append(f"{iw}: common rank {common} already used by {ranks[common]}")
                ranks[common] = code
            items.append(Item(code, zh, en, str(gcls), gcode, str(disposition), common))
        groups.append(Group(gcode, gzh, gen, str(gcls), tuple(items)))
    if problems:
        raise TaxonomyError(problems)
    by_code = {i.code: i for g in groups for i in g.items}
    classes = {str(k): dict(v) for k, v in classes_raw.items() if isinstance(v, Mapping)}
    return Taxonomy(str(data.get("version", "")), classes, tuple(groups), by_code)


def loads(text: str | bytes) -> Taxonomy:
    """Parse and validate a taxonomy from JSON text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaxonomyError([f"document: not JSON ({exc.msg} at line {exc.lineno})"]) from exc
    return parse(data)


@functools.cache
def default() -> Taxonomy:
    """Return the bundled default taxonomy (rules for large public events in China)."""
    path = resources.files("anbao.screening") / "taxonomy" / "default.json"
    return loads(path.read_bytes())
