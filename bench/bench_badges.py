"""Badge rendering speed and size (targets: >= 150 badges/s on 2 cores; <= 60 KB per badge).

Renders N double-sided CR80 badges, each with its own photo (a 600 x 800 JPEG, as stored at
registration) and its own stored QR PNG (segno, ECC Q, a credential-sized text), with the
bundled ``cr80-double`` layout, one card side per page (card-printer mode).

Both cores: the badges are split into chunks, and a ``ProcessPoolExecutor(2)`` renders each
chunk to its own PDF (``badges.render_chunk``); a print job of 30,000 badges is written as
such parts. The pool's start-up and the pickling of the badge data are inside the timing.

Floor, same run, same pool, same chunks: a bare reportlab canvas, one page per badge side, with
the same photo and QR drawn by ``canvas.drawImage`` and nothing else. It is slower than anbao,
because ``drawImage`` decodes every image to RGB to hash it and base85-encodes the streams, so a
second reference is printed too: the same images through anbao's own embedding, no text.

Run: .venv/bin/python bench/bench_badges.py [--badges 2000] [--workers 2] [--chunk 250]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import io
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import segno
from PIL import Image, ImageDraw

from _machine import describe
from anbao.accreditation.badges import BadgeData, default_layout_document, render_chunk

TARGET_PER_S = 150.0
TARGET_KB = 60.0
PROJECT = 30_000


def make_photo(i: int) -> bytes:
    # Smooth noise blended over a head and shoulders: after cutting to 295 x 378 px it weighs
    # about 21 KB at JPEG quality 85, like a real face photo (a flat drawing would be 5 KB).
    noise = (
        Image.effect_noise((75, 100), 60)
        .convert("RGB")
        .resize((600, 800), Image.Resampling.BICUBIC)
    )
    img = Image.new("RGB", (600, 800), (170 + i % 80, 185, 200 - i % 50))
    d = ImageDraw.Draw(img)
    d.ellipse((150, 110, 450, 500), fill=(226, 194, 160 + i % 40))
    d.rectangle((70, 540, 530, 800), fill=(30 + i % 200, 40, 90))
    img = Image.blend(img, noise, 0.35)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def make_qr(i: int) -> tuple[str, bytes]:
    # About the size of a signed credential in base45 (COSE_Sign1 with Ed25519 and claims).
    text = "ANB1:" + hashlib.sha512(str(i).encode()).hexdigest().upper()[:110] + "6BF" * 25
    out = io.BytesIO()
    segno.make(text, error="q", micro=False).save(out, kind="png", scale=4, border=4)
    return text, out.getvalue()


def make_badges(first: int, n: int) -> list[BadgeData]:
    badges = []
    for i in range(first, first + n):
        text, png = make_qr(i)
        badges.append(
            BadgeData(
                name_zh=["王小明", "李华", "欧阳娜娜", "张伟"][i % 4],
                family_name=["Wang", "Li", "Ouyang", "Zhang"][i % 4],
                given_name=["Xiaoming", "Hua", "Nana", "Wei Alexander Montgomery"][i % 4],
                organisation="乌镇峰会组委会 Organising Committee",
                function="Delegate liaison",
                category_code=["VIP", "D", "E", "S", "G", "C", "T"][i % 7],
                category_name="代表 Delegate",
                category_colour=["#c0392b", "#1f6feb", "#2e7d32", "#f9a825"][i % 4],
                zones=tuple(str(z) for z in range(1, 2 + i % 6)),
                venues=("WICC", "XZ", "ZH")[: 1 + i % 3],
                photo=make_photo(i),
                qr_png=png,
                qr_text=text,
                credential_id=hashlib.sha1(str(i).encode()).hexdigest()[:16],  # noqa: S324 - an id
                event_name="世界互联网大会 World Internet Conference",
                validity="2026-11-20 to 2026-11-24",
                badge_number=f"{i:06d}",
            )
        )
    return badges


def floor_chunk(badges: Sequence[BadgeData]) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out, pagesize=(85.6 * mm, 54 * mm), pageCompression=1)
    for b in badges:
        assert b.photo is not None
        assert b.qr_png is not None
        c.drawImage(ImageReader(io.BytesIO(b.photo)), 3 * mm, 8 * mm, 25 * mm, 32 * mm)
        c.showPage()
        c.drawImage(ImageReader(io.BytesIO(b.qr_png)), 3 * mm, 7 * mm, 40 * mm, 40 * mm)
        c.showPage()
    c.save()
    return out.getvalue()


IMAGES_ONLY = {
    "name": "images-only",
    "page": {"size": "CR80", "orientation": "landscape"},
    "sides": 2,
    "front": {"elements": [{"type": "photo", "x": 3, "y": 14, "w": 25, "h": 32}]},
    "back": {"elements": [{"type": "qr", "x": 3, "y": 7, "size": 40}]},
}


def images_only_chunk(badges: Sequence[BadgeData]) -> bytes:
    return render_chunk(IMAGES_ONLY, badges)


def full_chunk(badges: Sequence[BadgeData]) -> bytes:
    return render_chunk(default_layout_document("cr80-double"), badges)


def run(
    fn: Callable[[Sequence[BadgeData]], bytes], chunks: list[list[BadgeData]], workers: int
) -> tuple[float, int]:
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(fn, chunks))
    return time.perf_counter() - start, sum(len(p) for p in parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--badges", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--save", type=Path, help="write the first chunk's PDF here")
    opts = parser.parse_args()

    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(opts.workers) as pool:
        step = 100
        parts = pool.map(make_badges, range(0, opts.badges, step), [step] * opts.badges)
        badges = [b for part in parts for b in part][: opts.badges]
    print(f"machine: {describe()}; os.cpu_count()={os.cpu_count()}")
    print(f"prepared {len(badges)} badges in {time.perf_counter() - t0:.1f} s (not timed)")
    chunks = [badges[i : i + opts.chunk] for i in range(0, len(badges), opts.chunk)]

    elapsed, size = run(full_chunk, chunks, opts.workers)
    floor_s, floor_size = run(floor_chunk, chunks, opts.workers)
    images_s, images_size = run(images_only_chunk, chunks, opts.workers)
    if opts.save:
        opts.save.write_bytes(render_chunk(default_layout_document(), chunks[0]))

    per_s = len(badges) / elapsed
    kb = size / len(badges) / 1000
    floor_per_s = len(badges) / floor_s
    print(
        f"anbao: {len(badges)} double-sided CR80 badges, {len(chunks)} chunks of {opts.chunk}, "
        f"{opts.workers} processes"
    )
    print(f"  {elapsed:.2f} s, {per_s:.0f} badges/s, {kb:.1f} KB/badge ({size / 1e6:.1f} MB)")
    print(f"  projected for {PROJECT:,}: {PROJECT / per_s / 60:.1f} min")
    print(
        f"floor (bare reportlab, same images, drawImage): {floor_s:.2f} s, "
        f"{floor_per_s:.0f} badges/s, {floor_size / len(badges) / 1000:.1f} KB/badge"
    )
    print(f"ratio anbao time / floor time: {elapsed / floor_s:.2f}")
    print(
        f"images only (anbao's embedding, no text or shapes): {images_s:.2f} s, "
        f"{len(badges) / images_s:.0f} badges/s, {images_size / len(badges) / 1000:.1f} KB/badge; "
        f"ratio anbao / images only {elapsed / images_s:.2f}"
    )
    ok_speed = per_s >= TARGET_PER_S
    ok_size = kb <= TARGET_KB
    print(f"target >= {TARGET_PER_S:.0f} badges/s: {'met' if ok_speed else 'MISSED'}")
    print(f"target <= {TARGET_KB:.0f} KB/badge: {'met' if ok_size else 'MISSED'}")
    sys.exit(0 if ok_speed and ok_size else 1)


if __name__ == "__main__":
    main()
