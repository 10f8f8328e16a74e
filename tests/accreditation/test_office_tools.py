"""The office's import wizard, credential buttons and policy editor, through the pages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from anbao.accounts.roles import Role
from anbao.accreditation import issuance
from anbao.accreditation.bulk import bulk_advance
from anbao.accreditation.models import AccessPolicy, Accreditation, IssuedCredential, Person
from anbao.sites.models import Checkpoint
from tests.accreditation.factories import demo_rows, make_accreditation, people_csv


def _upload(client, data: bytes, name: str = "people.csv"):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("accreditation:import"),
        {"step": "preview", "file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


@pytest.mark.django_db
def test_import_wizard_previews_then_commits_all(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    rows = demo_rows(6, seed=11)
    preview = _upload(client, people_csv(rows))
    assert preview.status_code == 200
    assert b'id="import-preview"' in preview.content
    assert Person.objects.filter(ref=rows[0]["ref"]).count() == 0  # nothing stored yet
    token = re.search(rb'name="file_token" value="([0-9a-f]+)"', preview.content).group(1).decode()
    done = client.post(
        reverse("accreditation:import"),
        {"step": "commit", "file_token": token, "filename": "people.csv", "mode": "all"},
    )
    assert b'id="import-done"' in done.content
    assert Person.objects.filter(ref=rows[0]["ref"]).count() == 1


@pytest.mark.django_db
def test_import_wizard_names_bad_rows_and_hands_back_the_rest(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    rows = demo_rows(4, seed=12)
    resident = next(r for r in rows if r["id_type"] == "resident_id")
    resident["id_number"] = resident["id_number"][:-1] + (
        "0" if resident["id_number"][-1] != "0" else "1"
    )
    preview = _upload(client, people_csv(rows))
    assert b'id="import-problems"' in preview.content
    token = re.search(rb'name="file_token" value="([0-9a-f]+)"', preview.content).group(1).decode()
    refused = client.post(
        reverse("accreditation:import"),
        {"step": "commit", "file_token": token, "filename": "people.csv", "mode": "all"},
    )
    assert b'id="import-error"' in refused.content
    assert Person.objects.filter(ref__in=[r["ref"] for r in rows]).count() == 0
    partial = client.post(
        reverse("accreditation:import"),
        {"step": "commit", "file_token": token, "filename": "people.csv", "mode": "valid"},
    )
    link = re.search(rb'href="(/accreditation/import/errors/[0-9a-f]+/)"', partial.content)
    assert link is not None
    sheet = client.get(link.group(1).decode())
    assert sheet.status_code == 200
    assert sheet.content[:2] == b"PK"  # an .xlsx
    assert Person.objects.filter(ref__in=[r["ref"] for r in rows]).count() == len(rows) - 1


@pytest.mark.django_db
def test_import_wizard_rejects_a_forged_token(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    r = client.post(
        reverse("accreditation:import"),
        {"step": "commit", "file_token": "../../secrets.json", "mode": "all"},
    )
    assert b'id="import-error"' in r.content
    assert client.get("/accreditation/import/errors/../../x/").status_code == 404


@pytest.mark.django_db
def test_credential_buttons_issue_reissue_cancel(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("VIP")
    bulk_advance([acc.pk], to="approved")
    client = client_for(Role.ACCREDITATION_OFFICER)
    url = reverse("accreditation:credential_action", args=[acc.pk])
    client.post(url, {"action": "issue"})
    first = issuance.active_credential(acc)
    assert first is not None
    page = client.get(reverse("accreditation:person", args=[acc.person_id]))
    assert b"<svg" in page.content
    client.post(url, {"action": "reissue", "reason": "badge lost"})
    second = issuance.active_credential(acc)
    assert second is not None
    assert second.cid != first.cid
    assert IssuedCredential.objects.get(pk=first.pk).revoked_at is not None
    client.post(url, {"action": "cancel", "reason": "left the event"})
    assert issuance.active_credential(acc) is None


@pytest.mark.django_db
def test_policy_editor_validates_saves_and_tests(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ACCREDITATION_OFFICER)
    url = reverse("accreditation:policy")
    bad = client.post(url, {"action": "save", "document": "{not json"})
    assert b'id="policy-error"' in bad.content
    wrong = client.post(
        url, {"action": "save", "document": '{"id": "x", "rules": [{"when": {"nope": []}}]}'}
    )
    assert b'id="policy-error"' in wrong.content
    client.post(url, {"action": "preset", "preset": "epidemic-2020"})
    assert AccessPolicy.objects.filter(active=True).exists()
    acc = make_accreditation("VIP")
    bulk_advance([acc.pk], to="approved")
    issuance.issue_credential(accreditation=Accreditation.objects.get(pk=acc.pk))
    checkpoint = Checkpoint.objects.order_by("code").first()
    assert checkpoint is not None
    tested = client.post(
        url, {"action": "test", "accreditation": acc.pk, "checkpoint": checkpoint.code}
    )
    assert b'id="test-result"' in tested.content


@pytest.mark.django_db
def test_policy_changes_need_edit_rights(client_for) -> None:  # type: ignore[no-untyped-def]
    r = client_for(Role.COMMANDER).post(reverse("accreditation:policy"), {"action": "preset"})
    assert r.status_code == 403


@pytest.mark.django_db
def test_import_wizard_refuses_an_oversized_photo_archive(client_for, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    from anbao.accreditation import office_views

    monkeypatch.setattr(office_views, "MAX_PHOTOS_UPLOAD", 10)
    client = client_for(Role.ACCREDITATION_OFFICER)
    rows = demo_rows(2, seed=13)
    r = client.post(
        reverse("accreditation:import"),
        {
            "step": "preview",
            "file": SimpleUploadedFile("people.csv", people_csv(rows), content_type="text/csv"),
            "photos": SimpleUploadedFile("photos.zip", b"PK" + b"0" * 100),
        },
    )
    assert b'id="import-error"' in r.content
    assert b'id="import-preview"' not in r.content
