"""Deposit receipts: read back with pypdf, QR decoded from a rasterised page."""

from __future__ import annotations

import io

import pypdf
import pypdfium2
import pytest
import zxingcpp

from anbao.screening.receipts import Receipt, render_receipt

RECEIPT = Receipt(
    ticket="D7K3M9Q2X",
    item_zh="打火机",
    item_en="Lighter",
    quantity=2,
    checkpoint_zh="东栅入口",
    checkpoint_en="East gate",
    at="2026-11-08 09:30",
    event_name="世界互联网大会",
)


def read_back(pdf: bytes) -> tuple[str, list[str], float]:
    """Return the page text, the decoded barcodes and the page width in mm."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    text = page.extract_text()
    width_mm = float(page.mediabox.width) / 72 * 25.4
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    codes = [r.text for r in zxingcpp.read_barcodes(image)]
    return text, codes, width_mm


@pytest.mark.parametrize("width", [58, 80])
def test_receipt_carries_ticket_item_and_qr(width: int) -> None:
    text, codes, width_mm = read_back(render_receipt(RECEIPT, width_mm=width))
    assert width_mm == pytest.approx(width, abs=0.1)
    assert "D7K3M9Q2X" in text
    assert "打火机" in text
    assert "东栅入口" in text
    assert "寄存" in text
    assert "Present this ticket" in text
    assert codes == ["D7K3M9Q2X"]


def test_other_widths_are_refused() -> None:
    with pytest.raises(ValueError, match="58, 80"):
        render_receipt(RECEIPT, width_mm=100)
