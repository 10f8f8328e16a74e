"""The badge API: templates with validation, preview, jobs, download, collection, roles."""

from __future__ import annotations

import base64
import copy
import io
from pathlib import Path

import pypdf
import pytest
from django.test import Client
from django.urls import path
from ninja import NinjaAPI
from PIL import Image

from anbao.accounts.roles import Role
from anbao.accreditation import printing
from anbao.accreditation.badge_api import router
from anbao.accreditation.badges import default_layout_document
from anbao.accreditation.models import AccreditationStatus, BadgeTemplate, PrintJob
from anbao.api import api as project_api
from anbao.urls import urlpatterns as project_urls
from tests.accreditation.test_badges import decode_qr, rasterise
from tests.accreditation.test_printing import issued

# Until the lead mounts the router at /api/badges, mount it on a test API at the same path,
# sharing the project's error handlers.
if getattr(router, "api", None) is project_api:
    urlpatterns = project_urls
else:
    _test_api = NinjaAPI(urls_namespace="badges-test", docs_url=None)
    _test_api._exception_handlers = project_api._exception_handlers
    _test_api.add_router("/badges", router)
    urlpatterns = [path("api/", _test_api.urls), *project_urls]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
BASE = "/api/badges"
EDITORS = {Role.ADMIN, Role.ACCREDITATION_OFFICER}


@pytest.fixture(autouse=True)
def media_home(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def post(client: Client, url: str, body: object) -> object:
    return client.post(url, body, content_type="application/json")


def one_page_pdf() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (856, 540), (240, 230, 180)).save(out, "PDF", resolution=254)
    return out.getvalue()


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_matrix(client_for, role: str) -> None:  # type: ignore[no-untyped-def]
    client = client_for(role)
    may = role in EDITORS
    assert client.get(f"{BASE}/templates").status_code == (200 if may else 403)
    assert client.get(f"{BASE}/jobs").status_code == (200 if may else 403)
    r = post(client, f"{BASE}/templates", {"name": "t", "layout": default_layout_document()})
    assert r.status_code == (201 if may else 403)  # type: ignore[attr-defined]


def test_template_crud_and_validation(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    bad = copy.deepcopy(default_layout_document())
    bad["front"]["elements"].append({"type": "hologram", "x": 0, "y": 0, "w": 1, "h": 1})
    bad["back"]["elements"][1]["x"] = 70
    r = post(client, f"{BASE}/templates", {"name": "bad", "layout": bad})
    assert r.status_code == 400  # type: ignore[attr-defined]
    error = r.json()["error"]  # type: ignore[attr-defined]
    assert error["code"] == "badges.invalid_layout"
    fields = {p["field"]: p["code"] for p in error["problems"]}
    assert fields == {
        "front.elements[9] (hologram)": "unknown_type",
        "back.elements[1] (qr)": "off_card",
    }

    logo = io.BytesIO()
    Image.new("RGB", (60, 40), (0, 90, 0)).save(logo, "PNG")
    layout = default_layout_document("a6-single")
    layout["front"]["elements"].append(
        {"type": "image", "asset": "logo", "x": 80, "y": 1, "w": 20, "h": 14}
    )
    r = post(
        client,
        f"{BASE}/templates",
        {
            "name": "wic-a6",
            "layout": layout,
            "logo_base64": base64.b64encode(logo.getvalue()).decode(),
            "background_pdf_base64": base64.b64encode(one_page_pdf()).decode(),
            "is_default": True,
        },
    )
    assert r.status_code == 201, r.content  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert (body["size"], body["sides"], body["has_logo"], body["has_background"]) == (
        "A6",
        1,
        True,
        True,
    )
    assert body["layout"]["front"]["background"] == "background-front"
    tid = body["id"]

    r = client.get(f"{BASE}/templates/{tid}/preview?format=png")
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    assert img.getpixel((img.width // 2, int(img.height * 0.9))) == pytest.approx(
        (240, 230, 180), abs=6
    )

    layout["front"]["elements"][0]["size"] = 30
    r = client.put(
        f"{BASE}/templates/{tid}",
        {"name": "wic-a6", "layout": layout},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert BadgeTemplate.objects.get(pk=tid).background_front  # kept when not re-sent
    assert client.delete(f"{BASE}/templates/{tid}").status_code == 204
    assert client.get(f"{BASE}/templates/{tid}").status_code == 404


def test_live_preview_of_a_layout_being_edited(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    layout = default_layout_document()
    r = post(client, f"{BASE}/preview", {"layout": layout, "format": "pdf"})
    assert r.status_code == 200  # type: ignore[attr-defined]
    pdf = r.content  # type: ignore[attr-defined]
    assert "王小明" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    r = post(client, f"{BASE}/preview", {"layout": layout, "format": "png", "side": 1})
    assert decode_qr(Image.open(io.BytesIO(r.content)).convert("RGB")) == ["ANB1:SAMPLE"]  # type: ignore[attr-defined]
    layout["page"]["size"] = "A0"
    r = post(client, f"{BASE}/preview", {"layout": layout})
    assert r.json()["error"]["problems"][0]["field"] == "page.size"  # type: ignore[attr-defined]


def test_job_reprint_check_download_and_collection(client_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Run jobs inline: a thread cannot see the test's transaction.
    real = printing.start_print_job
    monkeypatch.setattr(
        printing, "start_print_job", lambda **kw: real(**{**kw, "background": False})
    )
    client = client_for(Role.ACCREDITATION_OFFICER)
    acc = issued("D")
    r = post(client, f"{BASE}/jobs", {"accreditation_ids": [acc.pk]})
    assert r.status_code == 202, r.content  # type: ignore[attr-defined]
    job_id = r.json()["id"]  # type: ignore[attr-defined]
    r = client.get(f"{BASE}/jobs/{job_id}")
    assert (r.json()["status"], r.json()["done"], r.json()["total"]) == ("done", 1, 1)
    r = client.get(f"{BASE}/jobs/{job_id}/download")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    pdf = b"".join(r.streaming_content)  # type: ignore[attr-defined]
    assert decode_qr(rasterise(pdf, 1)) == [acc.credentials.get().qr_text]

    r = post(client, f"{BASE}/reprint-check", {"accreditation_ids": [acc.pk], "only_new": False})
    assert [x["accreditation_id"] for x in r.json()] == [acc.pk]  # type: ignore[attr-defined]
    r = post(client, f"{BASE}/jobs", {"accreditation_ids": [acc.pk], "only_new": False})
    assert r.status_code == 409  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "badges.reprint"  # type: ignore[attr-defined]
    r = post(
        client,
        f"{BASE}/jobs",
        {"accreditation_ids": [acc.pk], "only_new": False, "allow_reprint": True},
    )
    assert r.status_code == 202  # type: ignore[attr-defined]
    assert PrintJob.objects.count() == 2

    r = post(client, f"{BASE}/collections", {"accreditation_id": acc.pk, "id_checked": False})
    assert r.json()["error"]["code"] == "badges.id_not_checked"  # type: ignore[attr-defined]
    r = post(
        client,
        f"{BASE}/collections",
        {"accreditation_id": acc.pk, "id_checked": True, "method": "passport", "note": "ok"},
    )
    assert r.status_code == 201  # type: ignore[attr-defined]
    acc.refresh_from_db()
    assert acc.status == AccreditationStatus.COLLECTED


def test_unknown_job_and_unfinished_download(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    assert client.get(f"{BASE}/jobs/9999").json()["error"]["code"] == "badges.unknown_job"
    acc = issued("D")
    job = printing.create_print_job(accreditation_ids=[acc.pk])
    r = client.get(f"{BASE}/jobs/{job.pk}/download")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "badges.job_not_done"
