"""N-up imposition on A4: where the cards go, and the crop marks for a guillotine."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas


@dataclass(frozen=True)
class SheetGrid:
    """Where cards go on an A4 sheet: page size in points and card origins (lower left)."""

    page: tuple[float, float]
    cols: int
    rows: int
    origins: tuple[tuple[float, float], ...]
    card: tuple[float, float]

    @property
    def per_sheet(self) -> int:
        """Cards per sheet."""
        return self.cols * self.rows


def a4_grid(
    card_w_mm: float, card_h_mm: float, *, margin_mm: float = 8, gap_mm: float = 2
) -> SheetGrid:
    """Return the A4 imposition (portrait or landscape, whichever holds more cards)."""
    best: SheetGrid | None = None
    for page in (A4, (A4[1], A4[0])):
        pw, ph = page[0] / mm, page[1] / mm
        cols = int((pw - 2 * margin_mm + gap_mm) // (card_w_mm + gap_mm))
        rows = int((ph - 2 * margin_mm + gap_mm) // (card_h_mm + gap_mm))
        if cols < 1 or rows < 1:
            continue
        block_w = cols * card_w_mm + (cols - 1) * gap_mm
        block_h = rows * card_h_mm + (rows - 1) * gap_mm
        left = (pw - block_w) / 2
        top = (ph - block_h) / 2
        origins = tuple(
            (
                (left + c * (card_w_mm + gap_mm)) * mm,
                (ph - top - (r + 1) * card_h_mm - r * gap_mm) * mm,
            )
            for r in range(rows)
            for c in range(cols)
        )
        grid = SheetGrid(
            page=page, cols=cols, rows=rows, origins=origins, card=(card_w_mm * mm, card_h_mm * mm)
        )
        if best is None or grid.per_sheet > best.per_sheet:
            best = grid
    if best is None:
        raise ValueError("the card does not fit on A4")
    return best


def crop_marks(c: Canvas, grid: SheetGrid) -> None:
    """Draw cut lines as ticks in the sheet margin, one per card edge, for a guillotine."""
    card_w, card_h = grid.card
    xs = sorted(
        {round(ox, 3) for ox, _ in grid.origins} | {round(ox + card_w, 3) for ox, _ in grid.origins}
    )
    ys = sorted(
        {round(oy, 3) for _, oy in grid.origins} | {round(oy + card_h, 3) for _, oy in grid.origins}
    )
    left, right = xs[0], xs[-1]
    bottom, top = ys[0], ys[-1]
    offset, length = 1.5 * mm, 5 * mm
    c.saveState()
    c.setStrokeColorRGB(0, 0, 0)
    c.setLineWidth(0.25)
    for x in xs:
        c.line(x, top + offset, x, top + offset + length)
        c.line(x, bottom - offset, x, bottom - offset - length)
    for y in ys:
        c.line(left - offset, y, left - offset - length, y)
        c.line(right + offset, y, right + offset + length, y)
    c.restoreState()
