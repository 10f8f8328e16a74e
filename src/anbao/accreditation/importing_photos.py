"""Photos for an import: a zip of ``<id_number>.jpg|.png``, checked and normalised. No database.

Every limit is checked before anything is inflated: the zip's size, the number of entries,
each entry's declared and actual uncompressed size, and the total. Names with a folder part
that climbs (``../``) or is absolute are refused. Each image is opened by Pillow, its pixel
count capped, and re-encoded as a JPEG no larger than ``MAX_SIDE`` pixels a side.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from PIL import Image, UnidentifiedImageError

from anbao.accreditation.importing import RowProblem, normalise_id

MAX_ZIP_BYTES = 200 * 2**20
MAX_FILE_BYTES = 5 * 2**20
MAX_TOTAL_BYTES = 1 * 2**30
MAX_FILES = 100_000
MAX_PIXELS = 40_000_000
MAX_SIDE = 600
JPEG_QUALITY = 85
_EXTENSIONS = {".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class Photo:
    """A normalised photo: JPEG bytes and the hex SHA-256 of those bytes."""

    jpeg: bytes
    sha256: str


@dataclass
class PhotoSet:
    """The photos of a zip by normalised ID number, and the problems found."""

    photos: dict[str, Photo] = field(default_factory=dict)
    problems: dict[str, list[RowProblem]] = field(default_factory=dict)
    file_problems: list[RowProblem] = field(default_factory=list)


def normalise_photo(data: bytes) -> Photo:
    """Check that ``data`` is a real image and re-encode it as a bounded JPEG."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"photo larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"JPEG", "PNG"}:
                raise ValueError(f"not a JPEG or PNG image ({probe.format})")
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ValueError(f"image too large ({width}x{height} pixels)")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError("not a readable image") from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    jpeg = out.getvalue()
    return Photo(jpeg=jpeg, sha256=hashlib.sha256(jpeg).hexdigest())


def _zip_problem(name: str, code: str, message: str) -> RowProblem:
    return RowProblem(0, f"photos:{name}"[:120], code, message)


def read_photo_zip(data: bytes) -> PhotoSet:
    """Read a zip of photos named by ID number; refuse bombs, traversal and bad images."""
    result = PhotoSet()
    if len(data) > MAX_ZIP_BYTES:
        result.file_problems.append(
            _zip_problem("zip", "import.photos_too_large", "the zip is larger than 200 MB")
        )
        return result
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        result.file_problems.append(
            _zip_problem("zip", "import.photos_unreadable", "not a readable zip file")
        )
        return result
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_FILES:
            result.file_problems.append(
                _zip_problem("zip", "import.photos_too_many", f"more than {MAX_FILES} files")
            )
            return result
        declared = sum(i.file_size for i in infos)
        if declared > MAX_TOTAL_BYTES:
            result.file_problems.append(
                _zip_problem("zip", "import.photos_bomb", "the zip inflates past the 1 GB cap")
            )
            return result
        for info in infos:
            _read_entry(archive, info, result)
    return result


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, result: PhotoSet) -> None:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        result.file_problems.append(
            _zip_problem(name, "import.photos_bad_name", "file name leaves the zip (path)")
        )
        return
    if path.name.startswith(".") or path.parts[0] == "__MACOSX":
        return
    if path.suffix.lower() not in _EXTENSIONS:
        result.file_problems.append(
            _zip_problem(name, "import.photos_bad_name", "expected <id_number>.jpg or .png")
        )
        return
    key = normalise_id("", path.stem)
    if info.file_size > MAX_FILE_BYTES:
        result.problems.setdefault(key, []).append(
            RowProblem(0, "photo", "import.photo_too_large", "photo larger than 5 MB")
        )
        return
    with archive.open(info) as fh:
        # Read one byte past the cap: a lying header cannot inflate more than that.
        raw = fh.read(MAX_FILE_BYTES + 1)
    try:
        result.photos[key] = normalise_photo(raw)
    except ValueError as exc:
        result.problems.setdefault(key, []).append(
            RowProblem(0, "photo", "import.photo_invalid", str(exc))
        )
