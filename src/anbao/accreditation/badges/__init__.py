"""Badge production, pure: layouts as JSON, checked; a renderer from badge data to PDF bytes.

No Django here. ``anbao.accreditation.printing`` feeds it from the database and stores the
PDFs; ``bench/bench_badges.py`` measures it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from anbao.accreditation.badges.data import BadgeData, sample_badge
from anbao.accreditation.badges.images import rasterise_pdf_page
from anbao.accreditation.badges.impose import SheetGrid, a4_grid
from anbao.accreditation.badges.layout import (
    ELEMENT_TYPES,
    PAGE_SIZES_MM,
    TEXT_FIELDS,
    Layout,
    LayoutError,
    LayoutProblem,
    parse_layout,
)
from anbao.accreditation.badges.render import BadgeRenderer, Imposition, render_badges
from anbao.accreditation.badges.workers import render_chunk, render_part

DEFAULT_TEMPLATES = ("cr80-double", "a6-single")


def default_layout_document(name: str = "cr80-double") -> dict[str, Any]:
    """Return a bundled layout document (``cr80-double`` or ``a6-single``) as a dict."""
    if name not in DEFAULT_TEMPLATES:
        raise KeyError(f"no bundled badge template {name!r}; expected one of {DEFAULT_TEMPLATES}")
    text = (resources.files(__package__) / "templates" / f"{name}.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def default_layout(name: str = "cr80-double") -> Layout:
    """Return a bundled layout, checked."""
    return parse_layout(default_layout_document(name))


__all__ = [
    "DEFAULT_TEMPLATES",
    "ELEMENT_TYPES",
    "PAGE_SIZES_MM",
    "TEXT_FIELDS",
    "BadgeData",
    "BadgeRenderer",
    "Imposition",
    "Layout",
    "LayoutError",
    "LayoutProblem",
    "SheetGrid",
    "a4_grid",
    "default_layout",
    "default_layout_document",
    "parse_layout",
    "rasterise_pdf_page",
    "render_badges",
    "render_chunk",
    "render_part",
    "sample_badge",
]
