"""The print queue pages: start a job, follow it, download, then hand the badge over."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from anbao.accounts.roles import Role
from anbao.accreditation import issuance, printing
from anbao.accreditation.bulk import bulk_advance
from anbao.accreditation.models import Accreditation
from tests.accreditation.factories import make_accreditation


@pytest.mark.django_db
def test_print_queue_job_download_and_collection(client_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Jobs run in a thread in production; the test database is only visible inline.
    real = printing.start_print_job
    monkeypatch.setattr(
        printing, "start_print_job", lambda **kw: real(**{**kw, "background": False})
    )
    acc = make_accreditation("VIP")
    bulk_advance([acc.pk], to="approved")
    issuance.issue_credential(accreditation=Accreditation.objects.get(pk=acc.pk))
    client = client_for(Role.ACCREDITATION_OFFICER)
    queue = client.get(reverse("accreditation:print_queue"))
    assert acc.person.display_name().encode() in queue.content
    started = client.post(
        reverse("accreditation:print_start"), {"only_new": "1", "category": "VIP"}
    )
    assert started.status_code == 302
    job_url = started["Location"]
    page = client.get(job_url)
    assert b'id="job-download"' in page.content
    pk = int(re.search(r"/print/jobs/(\d+)/", job_url).group(1))
    pdf = client.get(reverse("accreditation:print_download", args=[pk]))
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"
    acc.refresh_from_db()
    assert acc.status == "printed"
    collect = reverse("accreditation:collect", args=[acc.pk])
    client.post(collect, {"note": "no ID shown"})
    acc.refresh_from_db()
    assert acc.status == "printed"  # refused without the ID check
    client.post(collect, {"id_checked": "1"})
    acc.refresh_from_db()
    assert acc.status == "collected"


@pytest.mark.django_db
def test_reprint_needs_confirmation(client_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = printing.start_print_job
    monkeypatch.setattr(
        printing, "start_print_job", lambda **kw: real(**{**kw, "background": False})
    )
    acc = make_accreditation("VIP")
    bulk_advance([acc.pk], to="approved")
    issuance.issue_credential(accreditation=Accreditation.objects.get(pk=acc.pk))
    client = client_for(Role.ACCREDITATION_OFFICER)
    client.post(reverse("accreditation:print_start"), {"only_new": "1", "category": "VIP"})
    again = client.post(reverse("accreditation:print_start"), {"category": "VIP"}, follow=True)
    assert b"print" in again.content.lower()
    assert printing.printed_before([acc.pk])[0].prints == 1


@pytest.mark.django_db
def test_template_editor_previews_and_saves(client_for) -> None:  # type: ignore[no-untyped-def]
    import json

    from anbao.accreditation import badges
    from anbao.accreditation.models import BadgeTemplate

    client = client_for(Role.ACCREDITATION_OFFICER)
    layout = badges.default_layout_document()
    preview = client.post(reverse("accreditation:badge_preview"), {"layout": json.dumps(layout)})
    assert preview.status_code == 200
    assert preview.content.count(b"data:image/png;base64,") == 2  # both sides
    broken = dict(layout, front={"elements": [{"type": "qr", "x": 80, "y": 50, "size": 40}]})
    bad = client.post(reverse("accreditation:badge_preview"), {"layout": json.dumps(broken)})
    assert b"form-errors" in bad.content
    assert b"data:image/png" not in bad.content
    saved = client.post(
        reverse("accreditation:badge_template"), {"name": "wic-2026", "layout": json.dumps(layout)}
    )
    assert saved.status_code == 200
    assert BadgeTemplate.objects.filter(name="wic-2026").exists()
    page = client.get(reverse("accreditation:badge_template"), {"name": "wic-2026"})
    assert b"cr80" in page.content.lower()


@pytest.mark.django_db
def test_template_editor_refuses_viewers_changes(client_for) -> None:  # type: ignore[no-untyped-def]
    from anbao.accreditation.models import BadgeTemplate

    r = client_for(Role.COMMANDER).post(
        reverse("accreditation:badge_template"), {"name": "x", "layout": "{}"}
    )
    assert r.status_code == 403
    assert not BadgeTemplate.objects.filter(name="x").exists()
