"""The badge renderer: a layout and a list of :class:`BadgeData` in, PDF bytes out.

Two impositions: ``single`` puts one card side per page at card size (card printers;
a double-sided badge is a front page followed by its back page), ``a4`` puts as many cards
as fit on A4 with crop marks in the margin for a guillotine (a double-sided badge is a
sheet of fronts followed by a sheet of backs, mirrored left to right so that duplex
printing flipped on the left/right edge lines each back up with its front).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any, Literal

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from anbao.accreditation.badges.data import BadgeData
from anbao.accreditation.badges.fonts import CODE_FONT, SANS, register_fonts
from anbao.accreditation.badges.images import (
    PRINT_DPI,
    PdfImage,
    prepare_asset,
    prepare_photo,
    qr_image_from_png,
    qr_image_from_text,
)
from anbao.accreditation.badges.impose import SheetGrid, a4_grid, crop_marks
from anbao.accreditation.badges.layout import (
    Element,
    Layout,
    LayoutError,
    LayoutProblem,
    Side,
)
from anbao.accreditation.badges.text import wrap

Imposition = Literal["single", "a4"]


class _ImageXObject(pdfdoc.PDFImageXObject):
    """An image XObject from a ready stream; no decoding, no base85."""

    def __init__(self, name: str, img: PdfImage) -> None:
        self.name = name
        self.width = img.width
        self.height = img.height
        self.bitsPerComponent = img.bits
        self.colorSpace = img.colour_space
        self._filters = (img.filter,)
        self.streamContent = img.data
        self.mask = None


def _hex_rgb(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    return (int(c[0:2], 16) / 255, int(c[2:4], 16) / 255, int(c[4:6], 16) / 255)


def _contrast(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (WCAG relative luminance)."""

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in _hex_rgb(colour))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if luminance > 0.179 else "#ffffff"


class BadgeRenderer:
    """Renders badges for one layout; reuse it across documents to keep prepared assets."""

    def __init__(
        self,
        layout: Layout,
        *,
        assets: Mapping[str, bytes] | None = None,
        dpi: int = PRINT_DPI,
        photo_cache_size: int = 64,
    ) -> None:
        register_fonts()
        self.layout = layout
        self.dpi = dpi
        self._w = layout.width_mm * mm
        self._h = layout.height_mm * mm
        assets = assets or {}
        missing = sorted(name for name in layout.assets() if name not in assets)
        if missing:
            raise LayoutError(
                [
                    LayoutProblem(
                        f"assets.{name}",
                        "the layout uses this image but it was not given",
                        "missing_asset",
                    )
                    for name in missing
                ]
            )
        self._assets = {name: prepare_asset(assets[name]) for name in layout.assets()}
        self._photos: OrderedDict[tuple[bytes, float, float], PdfImage] = OrderedDict()
        self._photo_cache_size = photo_cache_size

    # -- documents ---------------------------------------------------------------------

    def render(
        self,
        badges: Iterable[BadgeData],
        *,
        imposition: Imposition = "single",
        crop_marks: bool = True,
        progress: Callable[[int], None] | None = None,
        title: str = "Badges",
    ) -> bytes:
        """Render badges to a PDF and return its bytes."""
        out = io.BytesIO()
        self.render_to(
            out,
            badges,
            imposition=imposition,
            crop_marks=crop_marks,
            progress=progress,
            title=title,
        )
        return out.getvalue()

    def render_to(
        self,
        fp: IO[bytes],
        badges: Iterable[BadgeData],
        *,
        imposition: Imposition = "single",
        crop_marks: bool = True,
        progress: Callable[[int], None] | None = None,
        title: str = "Badges",
    ) -> int:
        """Render badges into a binary file object; return how many badges were drawn."""
        if imposition not in ("single", "a4"):
            raise ValueError(f"unknown imposition {imposition!r}; expected 'single' or 'a4'")
        c = Canvas(fp, pagesize=(self._w, self._h), pageCompression=1, invariant=0)
        # reportlab's default base85 wrapping adds a quarter to every stream; PDF is binary-safe.
        c._doc.defaultStreamFilters = [pdfdoc.PDFZCompress]
        c.setTitle(title)
        c.setCreator("anbao")
        count = 0
        if imposition == "single":
            for badge in badges:
                self._draw_side(c, self.layout.front, badge, 0.0, 0.0)
                c.showPage()
                if self.layout.back is not None:
                    self._draw_side(c, self.layout.back, badge, 0.0, 0.0)
                    c.showPage()
                count += 1
                if progress:
                    progress(count)
        else:
            grid = a4_grid(self.layout.width_mm, self.layout.height_mm)
            c.setPageSize(grid.page)
            batch: list[BadgeData] = []
            for badge in badges:
                batch.append(badge)
                if len(batch) == grid.per_sheet:
                    count += self._draw_sheets(c, grid, batch, crop_marks)
                    batch = []
                    if progress:
                        progress(count)
            if batch:
                count += self._draw_sheets(c, grid, batch, crop_marks)
                if progress:
                    progress(count)
        if count == 0:
            c.showPage()  # an empty document is still a valid PDF
        c.save()
        return count

    def _draw_sheets(
        self, c: Canvas, grid: SheetGrid, batch: Sequence[BadgeData], marks: bool
    ) -> int:
        for i, badge in enumerate(batch):
            ox, oy = grid.origins[i]
            self._draw_side(c, self.layout.front, badge, ox, oy)
        if marks:
            crop_marks(c, grid)
        c.showPage()
        if self.layout.back is not None:
            for i, badge in enumerate(batch):
                row, col = divmod(i, grid.cols)
                ox, oy = grid.origins[row * grid.cols + (grid.cols - 1 - col)]
                self._draw_side(c, self.layout.back, badge, ox, oy)
            if marks:
                crop_marks(c, grid)
            c.showPage()
        return len(batch)

    # -- one side ----------------------------------------------------------------------

    def _draw_side(self, c: Canvas, side: Side, badge: BadgeData, ox: float, oy: float) -> None:
        c.saveState()
        c.translate(ox, oy)
        if side.background:
            self._image(c, self._assets[side.background], 0, 0, self._w, self._h)
        for el in side.elements:
            x = el.x * mm
            w = el.w * mm
            h = el.h * mm
            y = self._h - el.y * mm - h  # PDF's origin is the lower left
            draw = getattr(self, f"_el_{el.type}")
            draw(c, el, badge, x, y, w, h)
        c.restoreState()

    def _el_rect(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        fill, stroke = el.get("fill"), el.get("stroke")
        if fill:
            c.setFillColorRGB(*_hex_rgb(fill))
        if stroke:
            c.setStrokeColorRGB(*_hex_rgb(stroke))
            c.setLineWidth(float(el.get("line_width", 0.5)))
        c.rect(x, y, w, h, stroke=1 if stroke else 0, fill=1 if fill else 0)

    def _el_band(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        colour = badge.category_colour or "#808080"
        c.setFillColorRGB(*_hex_rgb(colour))
        c.rect(x, y, w, h, stroke=0, fill=1)
        text = badge.value(el.get("field", "category_code"))
        if not text:
            return
        size = float(el.get("size", h / mm * 2.0))
        size = min(size, h * 0.8)
        width = pdfmetrics.stringWidth(text, CODE_FONT, size)
        if width > w * 0.9:
            size *= w * 0.9 / width
        c.setFillColorRGB(*_hex_rgb(el.get("text_colour") or _contrast(colour)))
        c.setFont(CODE_FONT, size)
        baseline = y + (h - size * 0.72) / 2  # cap height of Helvetica-Bold is 0.72 em
        align = el.get("align", "center")
        if align == "left":
            c.drawString(x + 1.5 * mm, baseline, text)
        elif align == "right":
            c.drawRightString(x + w - 1.5 * mm, baseline, text)
        else:
            c.drawCentredString(x + w / 2, baseline, text)

    def _el_text(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        text = badge.value(el.get("field")) if "field" in el.props else str(el.get("text"))
        self._text(c, el, text, x, y, w, h)

    def _el_venues(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        text = el.get("separator", "  ").join(badge.venues)
        if text and el.get("prefix"):
            text = f"{el.get('prefix')}{text}"
        self._text(c, el, text, x, y, w, h)

    def _text(
        self, c: Canvas, el: Element, text: str, x: float, y: float, w: float, h: float
    ) -> None:
        if el.get("upper"):
            text = text.upper()
        lines = text.split("\n") if text else []
        if not any(lines):
            return
        size = float(el.get("size", 10))
        max_lines = int(el.get("max_lines", 1))
        if max_lines > 1 and len(lines) == 1 and pdfmetrics.stringWidth(text, SANS, size) > w:
            lines = wrap(text, w, size, max_lines)
        min_size = float(el.get("min_size", size * 0.6))
        widths = [pdfmetrics.stringWidth(line, SANS, size) for line in lines]
        widest = max(widths)
        # Shrink to fit, and below the minimum size condense the letters: a name is never cut.
        fit = min(size, size * w / widest) if widest > 0 else size
        fit = max(fit, min_size)
        scale = min(1.0, w / (widest * fit / size)) if widest > 0 else 1.0
        leading = float(el.get("leading", 1.2)) * fit
        top = y + h  # h may be 0: then y is the top edge
        baseline = top - fit * 0.86
        colour = _hex_rgb(el.get("colour", "#000000"))
        c.setFillColorRGB(*colour)
        bold = bool(el.get("bold"))
        # The text render mode outlives BT/ET in PDF, so a bold element keeps it in its own state.
        c.saveState()
        if bold:
            # One weight in the font: fill plus a thin stroke stands in for bold.
            c.setStrokeColorRGB(*colour)
            c.setLineWidth(fit * 0.035)
        align = el.get("align", "left")
        for line, line_w in zip(lines, widths, strict=True):
            drawn_w = line_w * fit / size * scale
            if align == "center":
                lx = x + (w - drawn_w) / 2
            elif align == "right":
                lx = x + w - drawn_w
            else:
                lx = x
            t = c.beginText(lx, baseline)
            t.setFont(SANS, fit)
            if scale < 0.999:
                t.setHorizScale(scale * 100)
            if bold:
                t.setTextRenderMode(2)
            t.textOut(line)
            c.drawText(t)
            baseline -= leading
        c.restoreState()

    def _el_photo(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        if badge.photo:
            self._image(c, self._photo(badge.photo, el.w, el.h), x, y, w, h)
        else:
            c.setFillColorRGB(0.92, 0.92, 0.92)
            c.rect(x, y, w, h, stroke=0, fill=1)
        if el.get("stroke"):
            c.setStrokeColorRGB(*_hex_rgb(el.get("stroke")))
            c.setLineWidth(0.5)
            c.rect(x, y, w, h, stroke=1, fill=0)

    def _el_qr(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        if badge.qr_png:
            img = qr_image_from_png(badge.qr_png)
        elif badge.qr_text:
            img = qr_image_from_text(badge.qr_text)
        else:
            return
        self._image(c, img, x, y, w, h)

    def _el_zones(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        zones = list(badge.zones)
        if not zones:
            return
        gap = float(el.get("gap", 1.0)) * mm
        box = min(float(el.get("box", el.h)) * mm, h)
        # Shrink the boxes until every zone fits the area: no zone may be dropped.
        while box > 2 * mm:
            per_row = max(1, int((w + gap) // (box + gap)))
            rows = math.ceil(len(zones) / per_row)
            if rows * box + (rows - 1) * gap <= h + 0.01:
                break
            box *= 0.9
        per_row = max(1, int((w + gap) // (box + gap)))
        fill = _hex_rgb(el.get("fill", "#000000"))
        text_colour = _hex_rgb(el.get("text_colour", "#ffffff"))
        top = y + h
        for i, zone in enumerate(zones):
            row, col = divmod(i, per_row)
            bx = x + col * (box + gap)
            by = top - (row + 1) * box - row * gap
            c.setFillColorRGB(*fill)
            c.rect(bx, by, box, box, stroke=0, fill=1)
            size = box * 0.62
            tw = pdfmetrics.stringWidth(zone, CODE_FONT, size)
            if tw > box * 0.85:
                size *= box * 0.85 / tw
            c.setFillColorRGB(*text_colour)
            c.setFont(CODE_FONT, size)
            c.drawCentredString(bx + box / 2, by + (box - size * 0.72) / 2, zone)

    def _el_image(
        self, c: Canvas, el: Element, badge: BadgeData, x: float, y: float, w: float, h: float
    ) -> None:
        img = self._assets[el.get("asset")]
        ratio = min(w / img.width, h / img.height)
        dw, dh = img.width * ratio, img.height * ratio
        self._image(c, img, x + (w - dw) / 2, y + (h - dh) / 2, dw, dh)

    # -- images ------------------------------------------------------------------------

    def _photo(self, data: bytes, w_mm: float, h_mm: float) -> PdfImage:
        key = (hashlib.blake2b(data, digest_size=16).digest(), w_mm, h_mm)
        hit = self._photos.get(key)
        if hit is not None:
            self._photos.move_to_end(key)
            return hit
        img = prepare_photo(data, w_mm, h_mm, dpi=self.dpi)
        self._photos[key] = img
        if len(self._photos) > self._photo_cache_size:
            self._photos.popitem(last=False)
        return img

    @staticmethod
    def _image(c: Canvas, img: PdfImage, x: float, y: float, w: float, h: float) -> None:
        """Draw an image, embedding it once per document (named by the hash of its bytes)."""
        name = f"Img{img.key}"
        doc: Any = c._doc
        reg = doc.getXObjectName(name)
        if doc.idToObject.get(reg) is None:
            obj = _ImageXObject(name, img)
            c._setXObjects(obj)
            doc.Reference(obj, reg)
            doc.addForm(name, obj)
        c._currentPageHasImages = 1
        c.saveState()
        c.transform(w, 0, 0, h, x, y)
        c._code.append(f"/{reg} Do")
        c.restoreState()
        c._formsinuse.append(name)


def render_badges(
    layout: Layout,
    badges: Iterable[BadgeData],
    *,
    assets: Mapping[str, bytes] | None = None,
    imposition: Imposition = "single",
    crop_marks: bool = True,
) -> bytes:
    """Render badges with a layout to PDF bytes (one-shot form of :class:`BadgeRenderer`)."""
    return BadgeRenderer(layout, assets=assets).render(
        badges, imposition=imposition, crop_marks=crop_marks
    )
