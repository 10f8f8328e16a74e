"""Images for badges: photos cut to print resolution, QR images, PDF backgrounds as images.

Images are embedded as PDF image XObjects that we build ourselves: reportlab's
``drawImage`` decodes every image to RGB just to hash it, and base85-encodes streams,
which costs time and 25 % of the size. Here a JPEG is passed through untouched (DCTDecode),
a QR becomes a 1-bit Flate image with one pixel per module, and each image is named by the
hash of its bytes so that an image used twice in a document (a logo, a background) is
stored once.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps

MM_PER_INCH = 25.4
PRINT_DPI = 300


@dataclass(frozen=True)
class PdfImage:
    """An image ready to become a PDF XObject: its stream, filter and pixel format."""

    key: str
    width: int
    height: int
    data: bytes
    filter: str  # "DCTDecode" or "FlateDecode"
    colour_space: str  # "DeviceRGB" or "DeviceGray"
    bits: int = 8


def _key(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=10).hexdigest()


def pixels_for(mm: float, dpi: int = PRINT_DPI) -> int:
    """Return how many pixels cover ``mm`` millimetres at ``dpi``."""
    return max(1, round(mm / MM_PER_INCH * dpi))


def prepare_photo(
    data: bytes, w_mm: float, h_mm: float, *, dpi: int = PRINT_DPI, quality: int = 85
) -> PdfImage:
    """Cut a photo to the box's aspect ratio at print resolution and return it as a JPEG image.

    A photo already no larger than the box at ``dpi`` and of the right shape is passed through
    without re-encoding.
    """
    target = (pixels_for(w_mm, dpi), pixels_for(h_mm, dpi))
    img: Image.Image = Image.open(io.BytesIO(data))
    fmt = img.format
    if fmt == "JPEG":
        # draft() lets libjpeg decode at 1/2, 1/4, 1/8 scale: most of the speed of the renderer.
        img.draft("RGB", target)
    src_ratio = img.width / img.height
    box_ratio = target[0] / target[1]
    fits = img.width <= target[0] * 1.05 and img.height <= target[1] * 1.05
    if (
        fmt == "JPEG"
        and img.mode in ("RGB", "L")
        and fits
        and abs(src_ratio - box_ratio) < 0.02
        and img.getexif().get(0x0112, 1) == 1
    ):
        return _jpeg_image(data, img)  # already print-sized: embed the bytes as they are
    img = ImageOps.exif_transpose(img)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    img = ImageOps.fit(img, target, Image.Resampling.BILINEAR, centering=(0.5, 0.4))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=False)
    return _jpeg_image(out.getvalue(), img)


def qr_image_from_text(text: str, *, error: str = "Q") -> PdfImage:
    """Encode ``text`` as a QR code (segno) and return it with one pixel per module."""
    import segno

    qr = segno.make(text, error=error.lower(), micro=False)
    matrix = [list(row) for row in qr.matrix_iter(scale=1, border=4)]
    img = Image.new("1", (len(matrix[0]), len(matrix)), 1)
    img.putdata([0 if dark else 1 for row in matrix for dark in row])
    return _bilevel(img)


def qr_image_from_png(data: bytes) -> PdfImage:
    """Return a stored QR image (PNG or any Pillow format) as a lossless 1-bit image."""
    img: Image.Image = Image.open(io.BytesIO(data))
    if img.mode in ("RGBA", "LA", "P"):
        # A transparent background means white on paper.
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    img = img.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1")
    return _bilevel(img)


def _bilevel(img: Image.Image) -> PdfImage:
    raw = img.tobytes()  # mode "1": rows packed MSB first, padded to bytes, as PDF expects
    data = zlib.compress(raw, 6)
    return PdfImage(
        key=_key(raw),
        width=img.width,
        height=img.height,
        data=data,
        filter="FlateDecode",
        colour_space="DeviceGray",
        bits=1,
    )


def prepare_asset(data: bytes) -> PdfImage:
    """Return a logo or background image: JPEG passed through, anything else Flate RGB."""
    img: Image.Image = Image.open(io.BytesIO(data))
    if img.format == "JPEG" and img.mode in ("RGB", "L"):
        return _jpeg_image(data, img)  # already print-sized: embed the bytes as they are
    if img.mode in ("RGBA", "LA", "P"):
        # Flattened on white: a card is printed on white stock, and soft masks cost size.
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img)
    img = img.convert("RGB")
    raw = img.tobytes()
    return PdfImage(
        key=_key(raw),
        width=img.width,
        height=img.height,
        data=zlib.compress(raw, 6),
        filter="FlateDecode",
        colour_space="DeviceRGB",
    )


def rasterise_pdf_page(
    pdf: bytes, *, page: int = 0, width_mm: float, height_mm: float, dpi: int = PRINT_DPI
) -> bytes:
    """Render one page of a PDF (a template background) to a JPEG sized for the card.

    Reportlab cannot import PDF pages, so a background PDF is rasterised once, when the
    template is saved, and drawn as an image. Needs pypdfium2.
    """
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError("rendering a background PDF needs the pypdfium2 package") from exc
    doc = pdfium.PdfDocument(pdf)
    try:
        if page >= len(doc):
            raise ValueError(f"the background PDF has no page {page + 1}")
        pdf_page = doc[page]
        pw, _ph = pdf_page.get_size()
        target_w = pixels_for(width_mm, dpi)
        scale = target_w / pw
        bitmap = pdf_page.render(scale=scale)
        img = bitmap.to_pil().convert("RGB")
        target = (target_w, pixels_for(height_mm, dpi))
        if img.size != target:
            img = ImageOps.fit(img, target, Image.Resampling.BILINEAR)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=88)
        return out.getvalue()
    finally:
        doc.close()


def _jpeg_image(jpeg: bytes, img: Image.Image) -> PdfImage:
    """Wrap JPEG bytes of ``img`` (RGB or greyscale) as a PDF image XObject."""
    return PdfImage(
        key=_key(jpeg),
        width=img.width,
        height=img.height,
        data=jpeg,
        filter="DCTDecode",
        colour_space="DeviceRGB" if img.mode == "RGB" else "DeviceGray",
    )
