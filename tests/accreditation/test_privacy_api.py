"""The accreditation API: roles, masking, audited reveal, lifecycle, import over HTTP."""

from __future__ import annotations

import base64
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from anbao.accounts.roles import Role
from anbao.accreditation.models import Accreditation, Person
from anbao.core.models import AuditEntry
from tests.accreditation.factories import demo_rows, make_accreditation, people_csv, the_event

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accreditation.api_urls")]

BASE = "/api/accreditation"
READERS = {Role.ADMIN, Role.ACCREDITATION_OFFICER}


def _upload(client: Client, url: str, data: bytes, name: str = "p.csv", **form: str) -> object:
    f = io.BytesIO(data)
    f.name = name
    return client.post(url, {"file": f, **form})


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_matrix_for_reads_writes_and_reveal(client_for, role: str) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("VIP")
    client = client_for(role)
    may = role in READERS
    assert client.get(f"{BASE}/people").status_code == (200 if may else 403)
    assert client.get(f"{BASE}/people/{acc.person_id}").status_code == (200 if may else 403)
    assert client.get(f"{BASE}/accreditations").status_code == (200 if may else 403)
    r = client.post(
        f"{BASE}/accreditations/{acc.pk}/transition",
        {"to": "approved"},
        content_type="application/json",
    )
    assert r.status_code == (200 if may else 403)
    r = client.post(f"{BASE}/people/{acc.person_id}/reveal")
    assert r.status_code == (200 if may else 403)
    reveals = AuditEntry.objects.filter(action="read:id_number,phone", is_read=True).count()
    assert reveals == (1 if may else 0)
    if not may:
        assert r.json()["error"]["code"] == "auth.forbidden"


def test_anonymous_is_refused() -> None:
    assert Client().get(f"{BASE}/people").status_code == 401


def test_person_detail_is_masked_and_reveal_unmasks(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    person = acc.person
    client = client_for(Role.ACCREDITATION_OFFICER)
    body = client.get(f"{BASE}/people/{person.pk}").json()
    assert person.id_number not in str(body)
    assert person.phone not in str(body)
    assert body["id_number_masked"] == person.masked_id()
    assert body["accreditations"][0]["steps"][0]["to_status"] == "applied"
    listing = client.get(f"{BASE}/people?q={person.id_number}").json()
    assert listing["count"] == 1
    assert person.id_number not in str(listing)
    revealed = client.post(f"{BASE}/people/{person.pk}/reveal").json()
    assert revealed == {"id_number": person.id_number, "phone": person.phone}
    entry = AuditEntry.objects.get(action="read:id_number,phone")
    assert entry.actor_label == "accreditation_officer-user"
    assert entry.source == "api"


def test_illegal_transition_is_a_409_with_its_code(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    r = client_for(Role.ADMIN).post(
        f"{BASE}/accreditations/{acc.pk}/transition",
        {"to": "printed"},
        content_type="application/json",
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "accreditation.illegal_transition"


def test_bulk_approve(client_for) -> None:  # type: ignore[no-untyped-def]
    a, b = make_accreditation("VIP"), make_accreditation("D")
    r = client_for(Role.ADMIN).post(
        f"{BASE}/accreditations/bulk-transition",
        {"ids": [a.pk, b.pk]},
        content_type="application/json",
    )
    body = r.json()
    assert body["done"] == [a.pk]
    assert body["problems"][0]["field"] == str(b.pk)


def test_create_and_update_person(client_for) -> None:  # type: ignore[no-untyped-def]
    the_event()
    row = {k: v for k, v in demo_rows(1, seed=5)[0].items() if k != "ref"}
    client = client_for(Role.ACCREDITATION_OFFICER)
    r = client.post(f"{BASE}/people", row, content_type="application/json")
    assert r.status_code == 201, r.content
    person = Person.objects.get()
    r = client.patch(
        f"{BASE}/people/{person.pk}", {"phone": "138 0000 1111"}, content_type="application/json"
    )
    assert r.status_code == 200, r.content
    person.refresh_from_db()
    assert person.phone == "+8613800001111"
    r = client.patch(f"{BASE}/people/{person.pk}", {"gender": "?"}, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["problems"][0]["field"] == "gender"
    r = client.post(f"{BASE}/people", row, content_type="application/json")
    assert r.json()["error"]["code"] == "accreditation.duplicate_person"


def test_import_preview_commit_and_template_over_http(client_for) -> None:  # type: ignore[no-untyped-def]
    the_event()
    client = client_for(Role.ACCREDITATION_OFFICER)
    rows = demo_rows(5)
    rows[3]["id_number"] = "123"
    data = people_csv(rows)
    preview = _upload(client, f"{BASE}/import/preview", data).json()  # type: ignore[attr-defined]
    assert [(p["row"], p["column"]) for p in preview["problems"]] == [(5, "id_number")]
    assert Person.objects.count() == 0
    r = _upload(client, f"{BASE}/import/commit", data)
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "import.has_problems"  # type: ignore[attr-defined]
    body = _upload(client, f"{BASE}/import/commit", data, mode="valid").json()  # type: ignore[attr-defined]
    assert body["stored"] == 4
    sheet = load_workbook(io.BytesIO(base64.b64decode(body["error_file_base64"]))).active
    assert sheet.max_row == 2
    assert Accreditation.objects.count() == 4
    t = client.get(f"{BASE}/import/template")
    assert t.status_code == 200
    assert t["Content-Disposition"].endswith('.xlsx"')


def test_import_refused_to_police_liaison(client_for) -> None:  # type: ignore[no-untyped-def]
    r = _upload(client_for(Role.POLICE_LIAISON), f"{BASE}/import/commit", people_csv(demo_rows(2)))
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert Person.objects.count() == 0


def test_unknown_encoding_over_http(client_for) -> None:  # type: ignore[no-untyped-def]
    r = _upload(
        client_for(Role.ADMIN), f"{BASE}/import/preview", b"ref,name\r\n\x81\x30\x00\xff\x01\x02"
    )
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "import.unknown_encoding"  # type: ignore[attr-defined]


def test_list_endpoints_do_not_grow_queries_with_rows(  # type: ignore[no-untyped-def]
    client_for, django_assert_max_num_queries
) -> None:
    client = client_for(Role.ADMIN)
    for _ in range(3):
        make_accreditation("VIP")
    with django_assert_max_num_queries(12) as few:
        assert client.get(f"{BASE}/accreditations").status_code == 200
    for _ in range(12):
        make_accreditation("VIP")
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(f"{BASE}/accreditations").json()
    assert body["count"] == 15
    with django_assert_max_num_queries(12):
        assert client.get(f"{BASE}/people").json()["count"] == 15
