"""The accreditation lifecycle: legal and illegal transitions, steps, audit, events."""

from __future__ import annotations

import pytest

from anbao.accreditation import events, services
from anbao.accreditation.models import AccreditationStep
from anbao.core import audit, bus
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.sites.models import Zone
from tests.accreditation.factories import make_accreditation

pytestmark = pytest.mark.django_db

HAPPY = ["vetted", "approved", "issued", "printed", "collected"]


def test_happy_path_records_every_step_with_actor() -> None:
    acc = make_accreditation("D")
    ctx = audit.AuditContext(actor_label="officer-1", source="api")
    with audit.acting_as(ctx):
        for to in HAPPY:
            services.transition(acc, to=to, note=f"to {to}")
    acc.refresh_from_db()
    assert acc.status == "collected"
    steps = list(AccreditationStep.objects.filter(accreditation=acc))
    assert [(s.from_status, s.to_status) for s in steps] == [
        ("", "applied"),
        ("applied", "vetted"),
        ("vetted", "approved"),
        ("approved", "issued"),
        ("issued", "printed"),
        ("printed", "collected"),
    ]
    assert steps[-1].actor_label == "officer-1"
    assert AuditEntry.objects.filter(
        action="accreditation.collected", object_id=str(acc.pk)
    ).exists()


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], "issued"),
        ([], "approved"),  # category D needs vetting
        (["vetted"], "collected"),
        (["vetted", "approved"], "vetted"),
        (["revoked"], "applied"),
        (["revoked"], "suspended"),
        (["suspended"], "approved"),  # back only to where it was
    ],
)
def test_illegal_transitions_are_refused(path: list[str], to: str) -> None:
    acc = make_accreditation("D")
    for step in path:
        services.transition(acc, to=step)
    before = AccreditationStep.objects.count()
    with pytest.raises(DomainError) as exc:
        services.transition(acc, to=to)
    assert exc.value.code == "accreditation.illegal_transition"
    assert AccreditationStep.objects.count() == before


def test_unknown_status_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        services.transition(make_accreditation("D"), to="teleported")
    assert exc.value.code == "accreditation.unknown_status"


def test_category_without_vetting_may_skip_to_approved() -> None:
    acc = make_accreditation("VIP")
    services.transition(acc, to="approved")
    assert acc.status == "approved"


def test_suspend_and_return_to_previous_state() -> None:
    acc = make_accreditation("D")
    services.transition(acc, to="vetted")
    services.transition(acc, to="approved")
    services.transition(acc, to="suspended", note="lost badge")
    assert services.allowed_targets(acc) == {"approved", "revoked"}
    services.transition(acc, to="approved")
    acc.refresh_from_db()
    assert (acc.status, acc.suspended_from) == ("approved", "")


def test_revoked_is_terminal_from_any_state() -> None:
    acc = make_accreditation("D")
    services.transition(acc, to="suspended")
    services.transition(acc, to="revoked", note="refused by police")
    assert services.allowed_targets(acc) == set()


def test_transition_event_is_published_after_commit(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    seen: list[events.AccreditationTransitioned] = []

    def _keep(ev: bus.Event) -> None:
        if isinstance(ev, events.AccreditationTransitioned):
            seen.append(ev)

    unlisten = bus.listen(_keep)
    try:
        acc = make_accreditation("D")
        with django_capture_on_commit_callbacks(execute=True):
            services.transition(acc, to="vetted", note="cleared")
            assert [e for e in seen if e.to_status == "vetted"] == []
    finally:
        unlisten()
    assert [(e.from_status, e.to_status, e.note) for e in seen if e.to_status == "vetted"] == [
        ("applied", "vetted", "cleared")
    ]


def test_bulk_approve_lists_refusals() -> None:
    a = make_accreditation("VIP")
    b = make_accreditation("D")
    result = services.bulk_transition([a.pk, b.pk, 999999], to="approved")
    assert result.done == [a.pk]
    assert {p.code for p in result.problems} == {
        "accreditation.illegal_transition",
        "not_found",
    }


def test_zone_numbers_and_venue_codes_come_from_category() -> None:
    acc = make_accreditation("VIP")
    assert acc.zone_numbers()
    assert acc.zone_numbers() == sorted(acc.zone_numbers())
    assert "wicc" in acc.venue_codes()
    acc2 = make_accreditation("D")
    assert acc2.zone_numbers() == []


def test_change_privileges_publishes_changed_fields() -> None:
    acc = make_accreditation("D")
    zones = list(Zone.objects.filter(event=acc.event)[:1])
    services.change_privileges(acc, zones=zones)
    assert acc.zone_numbers() == [zones[0].number]
    assert AuditEntry.objects.filter(action="accreditation.privileges_changed").count() == 1
    with pytest.raises(DomainError):
        services.change_privileges(acc, valid_from=acc.valid_until, valid_until=acc.valid_from)
