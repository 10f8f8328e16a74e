"""Entry points for process pools: each worker keeps one renderer per layout.

A bench or a large print job splits the badges into chunks and renders each in a worker
process, each chunk its own PDF. Everything here pickles: layout documents, asset bytes,
:class:`BadgeData`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from anbao.accreditation.badges.data import BadgeData
from anbao.accreditation.badges.layout import parse_layout
from anbao.accreditation.badges.render import BadgeRenderer, Imposition

_WORKER_RENDERERS: dict[str, BadgeRenderer] = {}


def _worker_renderer(
    layout_document: Mapping[str, Any], assets: Mapping[str, bytes] | None
) -> BadgeRenderer:
    """Return this process's renderer for a layout and assets, built on first use."""
    key_src = json.dumps(layout_document, sort_keys=True).encode() + b"".join(
        hashlib.blake2b(v, digest_size=16).digest() + k.encode()
        for k, v in sorted((assets or {}).items())
    )
    key = hashlib.blake2b(key_src, digest_size=16).hexdigest()
    renderer = _WORKER_RENDERERS.get(key)
    if renderer is None:
        renderer = BadgeRenderer(parse_layout(dict(layout_document)), assets=assets)
        _WORKER_RENDERERS.clear()  # one layout at a time per worker is the common case
        _WORKER_RENDERERS[key] = renderer
    return renderer


def render_chunk(
    layout_document: Mapping[str, Any],
    badges: Sequence[BadgeData],
    *,
    assets: Mapping[str, bytes] | None = None,
    imposition: Imposition = "single",
    crop_marks: bool = True,
) -> bytes:
    """Render one chunk to its own PDF; a picklable entry point for a process pool.

    The renderer (fonts, prepared logo and background) is kept per process and layout, so a
    worker pays for its set-up once.
    """
    renderer = _worker_renderer(layout_document, assets)
    return renderer.render(badges, imposition=imposition, crop_marks=crop_marks)


def render_part(
    path: str,
    layout_document: Mapping[str, Any],
    badges: Sequence[BadgeData],
    *,
    assets: Mapping[str, bytes] | None = None,
    imposition: Imposition = "single",
    title: str = "Badges",
) -> int:
    """Render one part of a print job into the file at ``path``; return the badges drawn.

    A picklable entry point for a process pool, like :func:`render_chunk`, but writing the
    PDF itself rather than sending its bytes back through a pipe.
    """
    renderer = _worker_renderer(layout_document, assets)
    with open(path, "wb") as fp:
        return renderer.render_to(fp, badges, imposition=imposition, title=title)
