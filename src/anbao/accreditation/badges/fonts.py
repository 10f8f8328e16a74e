"""Fonts for badges: WenQuanYi Micro Hei from a package, so Chinese names render anywhere."""

from __future__ import annotations

import functools
from importlib import resources

#: The one text font: CJK and Latin glyphs in one TrueType face, embedded as a subset.
SANS = "AnbaoSans"
#: Category codes and zone numbers: a base-14 font, never embedded, so it costs no bytes.
CODE_FONT = "Helvetica-Bold"


@functools.cache
def register_fonts() -> str:
    """Register the bundled CJK font with reportlab once per process; return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
    with resources.as_file(path) as real_path:
        pdfmetrics.registerFont(TTFont(SANS, str(real_path), subfontIndex=0))
    return SANS
