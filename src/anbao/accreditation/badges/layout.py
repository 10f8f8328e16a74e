"""Badge layouts: a JSON document parsed and checked into frozen dataclasses.

Units are millimetres, measured from the top-left corner of the card (y grows downwards),
because that is how a designer reads a card; the renderer converts to PDF points.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

PAGE_SIZES_MM: dict[str, tuple[float, float]] = {
    # Portrait width x height; orientation swaps them.
    "CR80": (54.0, 85.6),
    "A6": (105.0, 148.0),
}

#: Fields a text element may name; anything else must come from ``BadgeData.extra``.
TEXT_FIELDS = (
    "name_zh",
    "name_latin",
    "family_name",
    "given_name",
    "organisation",
    "function",
    "category_code",
    "category_name",
    "event_name",
    "validity",
    "credential_id",
    "badge_number",
)

ELEMENT_TYPES = ("text", "photo", "qr", "band", "zones", "venues", "image", "rect")
SIDES = ("front", "back")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ALIGN = ("left", "center", "right")


@dataclass(frozen=True)
class LayoutProblem:
    """One problem in a layout document, located by a path such as ``front.elements[2] (qr)``."""

    path: str
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class LayoutError(ValueError):
    """A layout document is not valid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[LayoutProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class Element:
    """One element on a card side; ``props`` keeps the type-specific settings."""

    type: str
    x: float
    y: float
    w: float
    h: float
    props: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a type-specific setting."""
        return self.props.get(key, default)


@dataclass(frozen=True)
class Side:
    """One face of the card: an optional background asset and elements drawn in order."""

    elements: tuple[Element, ...]
    background: str | None = None


@dataclass(frozen=True)
class Layout:
    """A checked badge layout."""

    name: str
    size: str
    orientation: Literal["portrait", "landscape"]
    front: Side
    back: Side | None
    document: dict[str, Any] = field(hash=False, compare=False, default_factory=dict)

    @property
    def width_mm(self) -> float:
        """Card width in millimetres after orientation."""
        w, h = PAGE_SIZES_MM[self.size]
        return h if self.orientation == "landscape" else w

    @property
    def height_mm(self) -> float:
        """Card height in millimetres after orientation."""
        w, h = PAGE_SIZES_MM[self.size]
        return w if self.orientation == "landscape" else h

    @property
    def sides(self) -> int:
        """1 for single-sided, 2 for double-sided."""
        return 2 if self.back is not None else 1

    def assets(self) -> set[str]:
        """Names of the image assets (logos, backgrounds) the layout refers to."""
        names: set[str] = set()
        for side in (self.front, self.back):
            if side is None:
                continue
            if side.background:
                names.add(side.background)
            names.update(e.get("asset") for e in side.elements if e.type == "image")
        return names


def _num(
    raw: dict[str, Any], key: str, path: str, problems: list[LayoutProblem], *, default: Any = None
) -> float:
    value = raw.get(key, default)
    if value is None:
        problems.append(LayoutProblem(path, f"'{key}' is required", "missing"))
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(LayoutProblem(path, f"'{key}' must be a number of millimetres"))
        return 0.0
    return float(value)


def _check_element(
    raw: Any, path: str, card_w: float, card_h: float, problems: list[LayoutProblem]
) -> Element | None:
    if not isinstance(raw, dict):
        problems.append(LayoutProblem(path, "an element must be an object"))
        return None
    kind = raw.get("type")
    label = f"{path} ({kind})" if isinstance(kind, str) else path
    if raw.get("name"):
        label = f"{label} '{raw['name']}'"
    if kind not in ELEMENT_TYPES:
        problems.append(
            LayoutProblem(
                label,
                f"unknown element type {kind!r}; expected one of {', '.join(ELEMENT_TYPES)}",
                "unknown_type",
            )
        )
        return None
    before = len(problems)
    x = _num(raw, "x", label, problems)
    y = _num(raw, "y", label, problems)
    if kind == "qr":
        size = _num(raw, "size", label, problems, default=raw.get("w"))
        w = h = size
    elif kind in ("text", "venues"):
        w = _num(raw, "w", label, problems)
        h = _num(raw, "h", label, problems, default=0)
    else:
        w = _num(raw, "w", label, problems)
        h = _num(raw, "h", label, problems)
    if len(problems) == before:
        if w <= 0 or h < 0 or (h == 0 and kind not in ("text", "venues")):
            problems.append(LayoutProblem(label, "width and height must be positive", "bad_box"))
        elif x < 0 or y < 0 or x + w > card_w + 1e-6 or y + h > card_h + 1e-6:
            problems.append(
                LayoutProblem(
                    label,
                    f"box x={x:g} y={y:g} w={w:g} h={h:g} mm lies off the "
                    f"{card_w:g} x {card_h:g} mm card",
                    "off_card",
                )
            )
    props = {k: v for k, v in raw.items() if k not in {"type", "x", "y", "w", "h"}}
    for key in ("colour", "text_colour", "fill", "stroke"):
        if key in props and not (isinstance(props[key], str) and _COLOUR.match(props[key])):
            problems.append(LayoutProblem(label, f"'{key}' must be a colour like #1a2b3c"))
    for key in ("size", "min_size", "box", "gap", "leading"):
        if key in props and (
            isinstance(props[key], bool)
            or not isinstance(props[key], int | float)
            or props[key] <= 0
        ):
            problems.append(LayoutProblem(label, f"'{key}' must be a positive number"))
    if "max_lines" in props and not (
        isinstance(props["max_lines"], int)
        and not isinstance(props["max_lines"], bool)
        and 1 <= props["max_lines"] <= 10
    ):
        problems.append(LayoutProblem(label, "'max_lines' must be a whole number from 1 to 10"))
    if "align" in props and props["align"] not in _ALIGN:
        problems.append(LayoutProblem(label, f"'align' must be one of {', '.join(_ALIGN)}"))
    if kind == "text":
        has_field, has_text = "field" in props, "text" in props
        if has_field == has_text:
            problems.append(
                LayoutProblem(label, "a text element needs exactly one of 'field' or 'text'")
            )
        elif has_field:
            name = props["field"]
            if not isinstance(name, str) or not (name in TEXT_FIELDS or name.startswith("extra.")):
                problems.append(
                    LayoutProblem(
                        label,
                        f"unknown field {name!r}; expected one of {', '.join(TEXT_FIELDS)} "
                        "or 'extra.<key>'",
                        "unknown_field",
                    )
                )
        elif not isinstance(props["text"], str):
            problems.append(LayoutProblem(label, "'text' must be a string"))
        if "size" not in props:
            problems.append(
                LayoutProblem(label, "'size' (font size in points) is required", "missing")
            )
    if kind == "band" and "field" in props and props["field"] not in ("", *TEXT_FIELDS):
        problems.append(
            LayoutProblem(label, f"unknown field {props['field']!r} for the band", "unknown_field")
        )
    if kind == "image" and not (isinstance(props.get("asset"), str) and props["asset"]):
        problems.append(LayoutProblem(label, "an image element needs an 'asset' name", "missing"))
    if len(problems) != before:
        return None
    return Element(type=kind, x=x, y=y, w=w, h=h, props=props)


def _check_side(
    raw: Any, path: str, card_w: float, card_h: float, problems: list[LayoutProblem]
) -> Side | None:
    if not isinstance(raw, dict):
        problems.append(LayoutProblem(path, "a side must be an object with 'elements'"))
        return None
    elements_raw = raw.get("elements")
    if not isinstance(elements_raw, list):
        problems.append(LayoutProblem(path, "'elements' must be a list", "missing"))
        return None
    elements = [
        _check_element(item, f"{path}.elements[{i}]", card_w, card_h, problems)
        for i, item in enumerate(elements_raw)
    ]
    background = raw.get("background")
    if background is not None and not (isinstance(background, str) and background):
        problems.append(LayoutProblem(path, "'background' must be an asset name"))
    return Side(elements=tuple(e for e in elements if e is not None), background=background)


def parse_layout(document: Any) -> Layout:
    """Check a layout document and return it as a :class:`Layout`; raise :class:`LayoutError`."""
    problems: list[LayoutProblem] = []
    if not isinstance(document, dict):
        raise LayoutError([LayoutProblem("layout", "the layout must be a JSON object")])
    known = {"name", "page", "sides", "front", "back", "description"}
    problems.extend(
        LayoutProblem(str(key), "unknown key", "unknown_key")
        for key in document
        if key not in known
    )
    page = document.get("page")
    if not isinstance(page, dict):
        problems.append(LayoutProblem("page", "'page' must be an object with 'size'", "missing"))
        page = {}
    size = page.get("size", "CR80")
    if size not in PAGE_SIZES_MM:
        problems.append(
            LayoutProblem("page.size", f"unknown size {size!r}; expected CR80 or A6", "bad_size")
        )
        size = "CR80"
    orientation = page.get("orientation", "landscape" if size == "CR80" else "portrait")
    if orientation not in ("portrait", "landscape"):
        problems.append(LayoutProblem("page.orientation", "must be 'portrait' or 'landscape'"))
        orientation = "portrait"
    w, h = PAGE_SIZES_MM[size]
    if orientation == "landscape":
        w, h = h, w
    sides = document.get("sides", 2 if "back" in document else 1)
    if sides not in (1, 2):
        problems.append(LayoutProblem("sides", "must be 1 (single-sided) or 2 (double-sided)"))
        sides = 1
    front = _check_side(document.get("front"), "front", w, h, problems)
    back: Side | None = None
    if sides == 2:
        back = _check_side(document.get("back"), "back", w, h, problems)
    elif "back" in document:
        problems.append(LayoutProblem("back", "a single-sided layout has no back; set sides to 2"))
    if problems or front is None:
        raise LayoutError(problems)
    name = document.get("name")
    return Layout(
        name=str(name) if name else "layout",
        size=size,
        orientation=orientation,
        front=front,
        back=back,
        document=document,
    )
