"""Set-based bulk steps follow the same lifecycle rules as single ones, with history and audit."""

from __future__ import annotations

import pytest

from anbao.accreditation.bulk import bulk_advance
from anbao.accreditation.models import Accreditation
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from tests.accreditation.factories import make_accreditation


@pytest.mark.django_db
def test_bulk_advance_moves_legal_ones_and_lists_the_rest() -> None:
    vip = make_accreditation("VIP")
    delegate = make_accreditation("D")  # needs vetting first
    result = bulk_advance([vip.pk, delegate.pk, 987654], to="approved", note="morning batch")
    assert result.done == [vip.pk]
    assert {p.field for p in result.problems} == {str(delegate.pk), "987654"}
    vip.refresh_from_db()
    delegate.refresh_from_db()
    assert vip.status == "approved"
    assert delegate.status == "applied"
    step = vip.steps.get(to_status="approved")
    assert step.from_status == "applied"
    assert step.note == "morning batch"
    assert AuditEntry.objects.filter(
        action="accreditation.approved", object_id=str(vip.pk)
    ).exists()


@pytest.mark.django_db
def test_bulk_advance_matches_single_transitions_over_a_walk() -> None:
    accs = [make_accreditation("D") for _ in range(5)]
    ids = [a.pk for a in accs]
    assert bulk_advance(ids, to="vetted").done == ids
    assert bulk_advance(ids, to="approved").done == ids
    assert bulk_advance(ids[:2], to="suspended").done == ids[:2]
    back = bulk_advance(ids[:2], to="approved")
    assert back.done == ids[:2]
    assert set(Accreditation.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "approved"
    }


@pytest.mark.django_db
def test_bulk_advance_refuses_unknown_status() -> None:
    with pytest.raises(DomainError):
        bulk_advance([1], to="teleported")
