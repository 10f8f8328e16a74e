"""Photos in an import: real images only, size caps, zip bombs, path traversal."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from anbao.accreditation import importing_store as store
from anbao.accreditation.importing_photos import (
    MAX_FILE_BYTES,
    MAX_SIDE,
    normalise_photo,
    read_photo_zip,
)
from anbao.accreditation.models import Person
from tests.accreditation.factories import demo_rows, image_bytes, people_csv, photo_zip, the_event


def test_png_is_normalised_to_bounded_jpeg() -> None:
    photo = normalise_photo(image_bytes("PNG", (2000, 3000)))
    with Image.open(io.BytesIO(photo.jpeg)) as img:
        assert img.format == "JPEG"
        assert max(img.size) <= MAX_SIDE
    assert len(photo.sha256) == 64


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a not an image", "not a readable image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "not a readable image"),
        (b"x" * (MAX_FILE_BYTES + 1), "larger than"),
    ],
)
def test_bad_photos_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalise_photo(data)


def test_gif_is_not_accepted() -> None:
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="GIF")
    with pytest.raises(ValueError, match="not a JPEG or PNG"):
        normalise_photo(out.getvalue())


def test_pixel_bomb_is_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG")  # tiny file, 64 megapixels
    assert len(out.getvalue()) < MAX_FILE_BYTES
    with pytest.raises(ValueError, match=r"too large|not a readable"):
        normalise_photo(out.getvalue())


def test_zip_names_by_id_and_bad_entries() -> None:
    data = photo_zip(
        {
            "330483198001010011.jpg": image_bytes(),
            "e1234567.PNG": image_bytes("PNG"),
            "../../etc/passwd.jpg": image_bytes(),
            "/abs.jpg": image_bytes(),
            "readme.txt": b"hello",
            "330483198001010022.jpg": b"corrupt",
        }
    )
    result = read_photo_zip(data)
    assert set(result.photos) == {"330483198001010011", "E1234567"}
    codes = sorted(p.code for p in result.file_problems)
    assert codes == ["import.photos_bad_name"] * 3
    assert result.problems["330483198001010022"][0].code == "import.photo_invalid"


def test_zip_bomb_is_refused_by_declared_size() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(250):
            zf.writestr(f"{i:08d}.jpg", b"\x00" * (5 * 2**20))  # 1.2 GB inflated, ~1 MB zipped
    assert len(out.getvalue()) < 10 * 2**20
    result = read_photo_zip(out.getvalue())
    assert [p.code for p in result.file_problems] == ["import.photos_bomb"]
    assert result.photos == {}


def test_oversized_entry_and_not_a_zip() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("E1234567.jpg", b"\x00" * (MAX_FILE_BYTES + 10))
    result = read_photo_zip(out.getvalue())
    assert result.problems["E1234567"][0].code == "import.photo_too_large"
    assert read_photo_zip(b"not a zip").file_problems[0].code == "import.photos_unreadable"


@pytest.mark.django_db
def test_photos_are_stored_encrypted_with_their_hash() -> None:
    event = the_event()
    rows = demo_rows(3)
    zipped = photo_zip(
        {
            f"{rows[0]['id_number']}.jpg": image_bytes(),
            f"{rows[1]['id_number']}.png": b"broken",
        }
    )
    report = store.commit_import(
        data=people_csv(rows), filename="p.csv", photos_zip=zipped, mode="valid", event=event
    )
    assert report.stored == 2
    assert [(p.row, p.column, p.code) for p in report.errors] == [
        (3, "photo", "import.photo_invalid")
    ]
    person = Person.objects.get(ref=rows[0]["ref"])
    assert person.photo is not None
    assert person.photo[:2] == b"\xff\xd8"
    import hashlib

    assert person.photo_sha256 == hashlib.sha256(person.photo).hexdigest()


@pytest.mark.django_db
def test_photo_without_a_row_is_a_warning() -> None:
    report = store.preview_import(
        data=people_csv(demo_rows(1)),
        filename="p.csv",
        photos_zip=photo_zip({"E99999999.jpg": image_bytes()}),
        event=the_event(),
    )
    assert report.errors == []
    assert [(p.column, p.code) for p in report.problems] == [
        ("photos:E99999999", "import.photo_unmatched")
    ]
