"""Test data for accreditation: people files, photos, and people made through the services."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import asdict, fields
from typing import Any

import factory
from PIL import Image

from anbao.accreditation import services
from anbao.accreditation.models import Accreditation, Category, Organisation, Person
from anbao.demo.people import DemoPerson, generate_people, resident_id
from anbao.sites.models import Event

HEADER = [f.name for f in fields(DemoPerson)]


def demo_rows(count: int = 20, seed: int = 2026) -> list[dict[str, str]]:
    """Return generated demo people as dicts keyed by the demo CSV's columns."""
    return [asdict(p) for p in generate_people(count, seed=seed)]


def people_csv(
    rows: list[dict[str, Any]],
    *,
    header: list[str] | None = None,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> bytes:
    """Write rows as CSV bytes in ``encoding`` (``utf-8-sig`` adds the BOM)."""
    cols = header or HEADER
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow([row.get(c, "") for c in cols])
    return buf.getvalue().encode(encoding)


def people_xlsx(rows: list[dict[str, Any]], *, header: list[str] | None = None) -> bytes:
    """Write rows as an .xlsx (cells keep their Python types: dates, numbers)."""
    from openpyxl import Workbook

    cols = header or HEADER
    wb = Workbook()
    ws = wb.active
    ws.append(cols)
    for row in rows:
        ws.append([row.get(c) for c in cols])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (300, 400)) -> bytes:
    """Return a small real image."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format=fmt)
    return out.getvalue()


def photo_zip(files: dict[str, bytes]) -> bytes:
    """Return a zip holding ``files`` (name -> bytes), deflated."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def the_event() -> Event:
    """Return the demo event (loaded once per test session) with its default categories."""
    event = Event.objects.get(code="wic2026")
    services.ensure_categories(event)
    return event


class OrganisationFactory(factory.django.DjangoModelFactory):
    """An organisation."""

    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Org {n}")


_serial = iter(range(10**6))


def make_person(**overrides: Any) -> Person:
    """Register a person through the service, with a fresh valid resident ID."""
    from datetime import date

    n = next(_serial)
    born = overrides.pop("birth_date", date(1980, 1, 1 + n % 28))
    values: dict[str, Any] = {
        "ref": f"T{n}",
        "name_zh": f"测试{n}",
        "family_name": "Ce",
        "given_name": f"Shi{n}",
        "gender": "M",
        "birth_date": born,
        "nationality": "CHN",
        "id_type": "resident_id",
        "id_number": resident_id("330483", born, n, False),
        "phone": f"+86138{n:08d}",
    }
    values.update(overrides)
    return services.create_person(values=values, organisation=OrganisationFactory())


def make_accreditation(code: str = "D", **person: Any) -> Accreditation:
    """Register a person and apply for an accreditation in category ``code``."""
    event = the_event()
    category = Category.objects.get(event=event, code=code)
    return services.create_accreditation(
        person=make_person(**person), event=event, category=category
    )
