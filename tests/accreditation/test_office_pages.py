"""The office pages: list and bulk approval, person page with audited reveal and photo."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anbao.accounts.roles import Role
from anbao.accreditation import services
from anbao.accreditation.models import Accreditation
from anbao.core.models import AuditEntry
from tests.accreditation.factories import image_bytes, make_accreditation


@pytest.mark.django_db
def test_list_filters_and_bulk_approves(client_for) -> None:  # type: ignore[no-untyped-def]
    a = make_accreditation("VIP")  # VIPs need no vetting: applied → approved is legal
    b = make_accreditation("VIP")
    client = client_for(Role.ACCREDITATION_OFFICER)
    page = client.get(reverse("accreditation:index"), {"status": "applied"})
    assert page.status_code == 200
    assert a.person.display_name().encode() in page.content
    r = client.post(
        reverse("accreditation:bulk"), {"action": "approve", "ids": [a.pk, b.pk, 999999]}
    )
    assert r.status_code == 302
    assert set(
        Accreditation.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)
    ) == {"approved"}


@pytest.mark.django_db
def test_bulk_refusals_are_reported_not_applied(client_for) -> None:  # type: ignore[no-untyped-def]
    a = make_accreditation("D")  # delegates need vetting: applied → approved is illegal
    client = client_for(Role.ACCREDITATION_OFFICER)
    r = client.post(
        reverse("accreditation:bulk"), {"action": "approve", "ids": [a.pk]}, follow=True
    )
    a.refresh_from_db()
    assert a.status == "applied"
    assert b"#%d" % a.pk in r.content


@pytest.mark.django_db
def test_person_page_masks_until_an_audited_reveal(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    person = acc.person
    url = reverse("accreditation:person", args=[person.pk])
    officer = client_for(Role.ACCREDITATION_OFFICER)
    masked = officer.get(url)
    assert person.id_number.encode() not in masked.content
    assert person.masked_id().encode() in masked.content
    shown = officer.post(url, {"action": "reveal"})
    assert person.id_number.encode() in shown.content
    assert AuditEntry.objects.filter(is_read=True, object_id=str(person.pk)).exists()


@pytest.mark.django_db
def test_commander_cannot_open_the_office_nor_reveal(client_for, make_user) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    commander = client_for(Role.COMMANDER)
    assert commander.get(reverse("accreditation:person", args=[acc.person_id])).status_code == 403
    assert commander.post(reverse("accreditation:bulk"), {"action": "approve"}).status_code == 403


@pytest.mark.django_db
def test_photo_is_served_decrypted_and_audited(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    services.set_photo(acc.person, data=image_bytes())
    client = client_for(Role.ACCREDITATION_OFFICER)
    r = client.get(reverse("accreditation:person_photo", args=[acc.person_id]))
    assert r.status_code == 200
    assert r["Content-Type"] == "image/jpeg"
    assert r.content[:2] == b"\xff\xd8"
    assert AuditEntry.objects.filter(action="read:photo", object_id=str(acc.person_id)).exists()


@pytest.mark.django_db
def test_single_transition_and_illegal_one(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    client = client_for(Role.ACCREDITATION_OFFICER)
    url = reverse("accreditation:transition", args=[acc.pk])
    client.post(url, {"to": "collected"}, follow=True)
    acc.refresh_from_db()
    assert acc.status == "applied"
    client.post(url, {"to": "vetted"})
    acc.refresh_from_db()
    assert acc.status == "vetted"


@pytest.mark.django_db
def test_vetting_queue_lists_waiting_applications(client_for) -> None:  # type: ignore[no-untyped-def]
    acc = make_accreditation("D")
    page = client_for(Role.ACCREDITATION_OFFICER).get(reverse("accreditation:vetting"))
    assert page.status_code == 200
    assert acc.person.display_name().encode() in page.content
