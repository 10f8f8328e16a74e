"""Deposit claim-ticket receipts for 58 mm and 80 mm thermal printers (pure: no Django)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from anbao.accreditation.badges.fonts import register_fonts

WIDTHS_MM = (58, 80)
_NO_BREAK_BEFORE = frozenset("。，、；：！？）」』")  # noqa: RUF001
MARGIN_MM = 3.0

TERMS_ZH = (
    "凭此票于离场时在任一出口安检点领回寄存物品。"
    "物品保管至活动当日结束，逾期未领视为放弃。遗失本票请出示有效证件。"  # noqa: RUF001
)
TERMS_EN = (
    "Present this ticket at any exit checkpoint to collect the deposited item. "
    "Items are kept until the end of the event day; unclaimed items are deemed abandoned. "
    "If the ticket is lost, show a valid ID."
)


@dataclass(frozen=True)
class Receipt:
    """What a deposit receipt shows."""

    ticket: str
    item_zh: str
    item_en: str
    quantity: int
    checkpoint_zh: str
    checkpoint_en: str
    at: str  # already formatted in the event's time zone
    event_name: str = ""


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap text to ``width`` points, breaking at spaces in Latin text and anywhere in CJK."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for token in _tokens(para):
            candidate = line + token
            no_break = token in _NO_BREAK_BEFORE
            if line and not no_break and stringWidth(candidate, font, size) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = candidate
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Split into words (with their trailing space) and single CJK characters."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) > 0x2E80:
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " ":
            out.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def render_receipt(receipt: Receipt, *, width_mm: int = 58) -> bytes:
    """Render a claim-ticket receipt as a one-page PDF ``width_mm`` wide (58 or 80)."""
    if width_mm not in WIDTHS_MM:
        raise ValueError(f"receipt width must be one of {WIDTHS_MM} mm")
    font = register_fonts()
    page_w = width_mm * mm
    inner = page_w - 2 * MARGIN_MM * mm
    small = 7.0 if width_mm == 58 else 8.0
    body = 9.0 if width_mm == 58 else 10.5
    title = 12.0 if width_mm == 58 else 14.0

    rows: list[tuple[str, float]] = []

    def add(text: str, size: float) -> None:
        rows.extend((line, size) for line in _wrap(text, font, size, inner))

    if receipt.event_name:
        add(receipt.event_name, small)
    add("寄存凭证 Deposit claim ticket", title)
    add(f"票号 No. {receipt.ticket}", body)
    add(f"物品 Item: {receipt.item_zh} x {receipt.quantity}", body)
    add(receipt.item_en, small)
    add(f"安检点 Checkpoint: {receipt.checkpoint_zh}", body)
    if receipt.checkpoint_en:
        add(receipt.checkpoint_en, small)
    add(f"时间 Time: {receipt.at}", body)

    qr = segno.make(receipt.ticket, error="m")
    modules = qr.symbol_size(scale=1, border=4)[0]
    qr_side = min(inner, 40 * mm)
    cell = qr_side / modules

    terms: list[tuple[str, float]] = []
    for text in (TERMS_ZH, TERMS_EN):
        terms.extend((line, small) for line in _wrap(text, font, small, inner))

    lead = 1.3
    height = (
        2 * MARGIN_MM * mm
        + sum(s * lead for _, s in rows)
        + qr_side
        + 2 * mm
        + sum(s * lead for _, s in terms)
    )
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(page_w, height))
    c.setTitle(f"Deposit {receipt.ticket}")
    y = height - MARGIN_MM * mm
    for text, size in rows:
        y -= size * lead
        c.setFont(font, size)
        c.drawString(MARGIN_MM * mm, y + size * 0.25, text)
    # The QR of the ticket number, drawn module by module so it stays sharp at any DPI.
    y -= qr_side + 1 * mm
    x0 = (page_w - qr_side) / 2
    c.setFillGray(0)
    for r, row in enumerate(qr.matrix_iter(scale=1, border=4)):
        for col, dark in enumerate(row):
            if dark:
                c.rect(x0 + col * cell, y + qr_side - (r + 1) * cell, cell, cell, stroke=0, fill=1)
    y -= 1 * mm
    for text, size in terms:
        y -= size * lead
        c.setFont(font, size)
        c.drawString(MARGIN_MM * mm, y + size * 0.25, text)
    c.showPage()
    c.save()
    return buf.getvalue()
