"""Privacy: encryption at rest, masking, audited reveals."""

from __future__ import annotations

import pytest
from django.db import connection

from anbao.accounts.roles import Role
from anbao.accreditation import services
from anbao.core import audit
from anbao.core.errors import Forbidden
from anbao.core.models import AuditEntry
from tests.accreditation.factories import image_bytes, make_person

pytestmark = pytest.mark.django_db


def test_id_number_phone_and_photo_are_encrypted_at_rest() -> None:
    person = make_person()
    services.set_photo(person, data=image_bytes())
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id_number, phone, photo, id_index FROM accreditation_person WHERE id = %s",
            [person.pk],
        )
        id_raw, phone_raw, photo_raw, index = cur.fetchone()
    assert person.id_number not in id_raw
    assert person.phone not in phone_raw
    assert person.phone[3:] not in phone_raw
    assert b"\xff\xd8" not in bytes(photo_raw)[:10]
    assert person.id_number not in index
    person.refresh_from_db()
    assert person.photo is not None
    assert person.photo.startswith(b"\xff\xd8")


def test_masked_display() -> None:
    person = make_person(phone="+8613812345678")
    assert person.masked_id() == person.id_number[:3] + "*" * 11 + person.id_number[-4:]
    assert person.masked_phone() == "+86*******5678"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ACCREDITATION_OFFICER])
def test_reveal_is_audited(make_user, role: str) -> None:  # type: ignore[no-untyped-def]
    user = make_user(role)
    person = make_person()
    ctx = audit.AuditContext(actor_id=user.pk, actor_label=user.username, source="api")
    with audit.acting_as(ctx):
        out = services.reveal_person(person, user=user)
    assert out["id_number"] == person.id_number
    row = AuditEntry.objects.get(action="read:id_number,phone", object_id=str(person.pk))
    assert row.is_read
    assert row.actor_id == user.pk


@pytest.mark.parametrize("role", [Role.POLICE_LIAISON, Role.COMMANDER, Role.CHECKPOINT_OPERATOR])
def test_reveal_is_refused_to_other_roles(make_user, role: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Forbidden):
        services.reveal_person(make_person(), user=make_user(role))
    assert not AuditEntry.objects.filter(is_read=True).exists()


def test_audit_rows_never_hold_the_id_number() -> None:
    person = make_person()
    services.update_person(person, values={"phone": "+8613900000000"})
    for entry in AuditEntry.objects.all():
        assert person.id_number not in str(entry.after)
        assert "13900000000" not in str(entry.after)
