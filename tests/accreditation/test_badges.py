"""The pure badge renderer: render, then read the PDF back as a gate and a printer would."""

from __future__ import annotations

import io
import re

import pypdf
import pypdfium2 as pdfium
import pytest
import segno
import zxingcpp
from PIL import Image, ImageDraw

from anbao.accreditation.badges import (
    BadgeData,
    BadgeRenderer,
    a4_grid,
    default_layout,
    default_layout_document,
    parse_layout,
    render_badges,
)

QR_TEXT = "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4.OI1RM8ZA"


def make_photo(seed: int = 0, size: tuple[int, int] = (600, 800)) -> bytes:
    """A passport-style test photo: a face-coloured oval over a jacket, distinct per seed."""
    img = Image.new("RGB", size, (180 + seed % 60, 190, 200))
    d = ImageDraw.Draw(img)
    w, h = size
    d.ellipse((w * 0.25, h * 0.15, w * 0.75, h * 0.62), fill=(226, 194, 160))
    d.rectangle((w * 0.12, h * 0.68, w * 0.88, h), fill=(30 + seed % 200, 40, 90))
    d.text((10, 10), f"#{seed}", fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def make_qr_png(text: str) -> bytes:
    """A QR rendered once, as issuance stores it: PNG, ECC level Q."""
    out = io.BytesIO()
    segno.make(text, error="q", micro=False).save(out, kind="png", scale=4, border=4)
    return out.getvalue()


def make_badge(**overrides: object) -> BadgeData:
    fields: dict[str, object] = {
        "name_zh": "王小明",
        "family_name": "Wang",
        "given_name": "Xiaoming",
        "organisation": "乌镇峰会组委会 Organising Committee",
        "function": "Delegate liaison",
        "category_code": "D",
        "category_name": "代表 Delegate",
        "category_colour": "#1f6feb",
        "zones": ("1", "2", "5"),
        "venues": ("WICC", "XZ"),
        "photo": make_photo(1),
        "qr_png": make_qr_png(QR_TEXT),
        "credential_id": "c0ffee01",
        "event_name": "世界互联网大会 World Internet Conference",
        "validity": "2026-11-20 to 2026-11-24",
        "badge_number": "000001",
    }
    fields.update(overrides)
    return BadgeData(**fields)  # type: ignore[arg-type]


def rasterise(pdf: bytes, page: int, dpi: int = 300) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def decode_qr(img: Image.Image) -> list[str]:
    return [
        r.text for r in zxingcpp.read_barcodes(img) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def page_text(pdf: bytes, page: int) -> str:
    return pypdf.PdfReader(io.BytesIO(pdf)).pages[page].extract_text()


def embedded_fonts(pdf: bytes) -> set[str]:
    """Names of fonts that carry an embedded font file."""
    names: set[str] = set()
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        fonts = page["/Resources"].get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            targets = [d.get_object() for d in descendants] if descendants else [font]
            for target in targets:
                desc = target.get("/FontDescriptor")
                if desc is None:
                    continue
                desc = desc.get_object()
                if any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(target["/BaseFont"]))
    return names


def test_cr80_badge_reads_back_text_and_qr() -> None:
    pdf = render_badges(default_layout("cr80-double"), [make_badge()])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2  # front, back
    w, h = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert w == pytest.approx(85.6 / 25.4 * 72, abs=0.1)
    assert h == pytest.approx(54 / 25.4 * 72, abs=0.1)
    front = page_text(pdf, 0)
    for expected in ("王小明", "WANG Xiaoming", "乌镇峰会组委会", "WICC", "D"):
        assert expected in front
    assert "本证件限本人使用" in page_text(pdf, 1)
    assert decode_qr(rasterise(pdf, 1)) == [QR_TEXT]
    assert decode_qr(rasterise(pdf, 0)) == []


def test_cjk_font_is_embedded_as_subset() -> None:
    pdf = render_badges(default_layout(), [make_badge()])
    fonts = embedded_fonts(pdf)
    assert fonts, "no embedded font"
    assert all(re.match(r"^/[A-Z]{6}\+", name) for name in fonts)  # subset tag
    assert any("WenQuanYiMicroHei" in name for name in fonts)


def test_qr_from_text_when_no_stored_image() -> None:
    pdf = render_badges(default_layout(), [make_badge(qr_png=None, qr_text="ANB1:hello")])
    assert decode_qr(rasterise(pdf, 1)) == ["ANB1:hello"]


def test_long_latin_name_shrinks_and_is_kept_whole() -> None:
    long_name = "Maximiliano Alejandro Bartholomew Fitzgerald-Montgomery"
    pdf = render_badges(
        default_layout(),
        [make_badge(name_zh="", family_name="De La Cruz-Villanueva", given_name=long_name)],
    )
    text = page_text(pdf, 0).replace("\n", " ")
    assert "DE LA CRUZ-VILLANUEVA" in text
    assert "Fitzgerald-Montgomery" in text


def test_a6_single_sided_badge_has_qr_on_the_front() -> None:
    layout = default_layout("a6-single")
    pdf = render_badges(layout, [make_badge(category_code="VIP", category_colour="#c0392b")])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert decode_qr(rasterise(pdf, 0, dpi=200)) == [QR_TEXT]
    assert "王小明" in page_text(pdf, 0)


def test_category_colour_band_is_printed() -> None:
    pdf = render_badges(default_layout(), [make_badge(category_colour="#c0392b")])
    img = rasterise(pdf, 0, dpi=100)
    r, g, b = img.getpixel((5, 5))  # type: ignore[misc]
    assert (r, g, b) == pytest.approx((0xC0, 0x39, 0x2B), abs=3)


def test_photo_is_downscaled_to_print_resolution() -> None:
    huge = make_photo(2, size=(2400, 3200))
    pdf = render_badges(default_layout(), [make_badge(photo=huge)])
    images = list(pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images)
    photo = max(images, key=lambda im: im.image.width)
    # 25 x 32 mm at 300 dpi
    assert photo.image.size == (295, 378)
    assert len(pdf) < 60_000


def test_identical_images_are_embedded_once() -> None:
    photo = make_photo(3)
    badges = [make_badge(photo=photo, badge_number=f"{i:06d}") for i in range(4)]
    pdf = render_badges(default_layout(), badges)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    xobjects = set()
    for page in reader.pages[::2]:
        for ref in page["/Resources"]["/XObject"].values():
            xobjects.add(ref.idnum)
    assert len(xobjects) == 1


def test_a4_imposition_ten_up_with_crop_marks_and_mirrored_backs() -> None:
    layout = default_layout()
    grid = a4_grid(layout.width_mm, layout.height_mm)
    assert (grid.cols, grid.rows) == (2, 5)
    texts = [f"ANB1:card-{i:02d}" for i in range(12)]
    badges = [make_badge(qr_png=None, qr_text=t, name_zh=f"测试{i}") for i, t in enumerate(texts)]
    pdf = BadgeRenderer(layout).render(badges, imposition="a4")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 4  # fronts and backs of two sheets
    w, h = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (w, h) == pytest.approx((595.27, 841.89), abs=0.1)
    assert "测试0" in page_text(pdf, 0)
    assert "测试11" in page_text(pdf, 2)
    back = rasterise(pdf, 1, dpi=200)
    decoded = {r.text: r.position for r in zxingcpp.read_barcodes(back)}
    assert set(decoded) == set(texts[:10])
    # card 0 sits top left on the front, so its back sits top right for a left/right flip
    assert decoded[texts[0]].top_left.x > back.width / 2
    assert decoded[texts[1]].top_left.x < back.width / 2
    # crop marks: dark ticks in the top margin above every card edge
    front = rasterise(pdf, 0, dpi=100).convert("L")
    left_edge_px = round(grid.origins[0][0] / 72 * 100)
    column = [front.getpixel((left_edge_px, y)) for y in range(0, 30)]
    assert min(column) < 128  # type: ignore[type-var]


def test_empty_batch_is_a_valid_pdf() -> None:
    pdf = render_badges(default_layout(), [])
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1


def test_background_and_logo_assets_are_drawn() -> None:
    doc = default_layout_document()
    doc["front"]["background"] = "bg"
    doc["front"]["elements"].append(
        {"type": "image", "asset": "logo", "x": 70, "y": 44, "w": 12, "h": 8}
    )
    layout = parse_layout(doc)
    bg = Image.new("RGB", (1011, 638), (250, 240, 200))
    logo = Image.new("RGBA", (120, 80), (0, 128, 0, 255))
    buf_bg, buf_logo = io.BytesIO(), io.BytesIO()
    bg.save(buf_bg, "JPEG")
    logo.save(buf_logo, "PNG")
    pdf = render_badges(
        layout,
        [make_badge(), make_badge(photo=make_photo(5))],
        assets={"bg": buf_bg.getvalue(), "logo": buf_logo.getvalue()},
    )
    img = rasterise(pdf, 0, dpi=100)
    assert img.getpixel((330, 60)) == pytest.approx((250, 240, 200), abs=4)  # type: ignore[arg-type]
    # the background and the logo are each stored once for both badges
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    ids = [
        {ref.idnum for ref in reader.pages[i]["/Resources"]["/XObject"].values()} for i in (0, 2)
    ]
    assert len(ids[0] & ids[1]) == 2


def test_missing_asset_is_refused_by_name() -> None:
    doc = default_layout_document()
    doc["front"]["elements"].append(
        {"type": "image", "asset": "logo", "x": 70, "y": 44, "w": 12, "h": 8}
    )
    from anbao.accreditation.badges import LayoutError

    with pytest.raises(LayoutError, match=r"assets\.logo"):
        BadgeRenderer(parse_layout(doc))


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ((85.6, 54.0), (2, 5, "portrait")),
        ((54.0, 85.6), (5, 2, "landscape")),
        ((105, 148), (2, 1, "landscape")),
    ],
)
def test_a4_grid_picks_the_sheet_orientation_that_holds_more(
    card: tuple[float, float], expected: tuple[int, int, str]
) -> None:
    grid = a4_grid(*card)
    orientation = "portrait" if grid.page[0] < grid.page[1] else "landscape"
    assert (grid.cols, grid.rows, orientation) == expected
    # every card lies inside the 8 mm margin
    mm = 72 / 25.4
    for x, y in grid.origins:
        assert x >= 8 * mm - 0.01
        assert y >= 8 * mm - 0.01
        assert x + grid.card[0] <= grid.page[0] - 8 * mm + 0.01
        assert y + grid.card[1] <= grid.page[1] - 8 * mm + 0.01


def test_long_bilingual_event_name_wraps_between_chinese_and_latin() -> None:
    name = "世界互联网大会乌镇峰会 World Internet Conference Wuzhen Summit"
    pdf = render_badges(default_layout(), [make_badge(event_name=name)])
    lines = page_text(pdf, 1).splitlines()
    assert "世界互联网大会乌镇峰会" in lines
    assert "World Internet Conference Wuzhen Summit" in lines
