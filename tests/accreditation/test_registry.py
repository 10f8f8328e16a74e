"""Registry rules: people, duplicates, attestations, vehicle permits, pass quotas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from anbao.accreditation import services, services_passes
from anbao.accreditation.models import Attestation, Category, Organisation
from anbao.core.errors import DomainError
from tests.accreditation.factories import make_accreditation, make_person, the_event

pytestmark = pytest.mark.django_db


def test_same_id_number_cannot_register_twice() -> None:
    person = make_person()
    with pytest.raises(DomainError) as exc:
        make_person(id_number=person.id_number)
    assert exc.value.code == "accreditation.duplicate_person"


def test_one_accreditation_per_person_and_event() -> None:
    acc = make_accreditation("D")
    with pytest.raises(DomainError) as exc:
        services.create_accreditation(person=acc.person, event=acc.event, category=acc.category)
    assert exc.value.code == "accreditation.already_accredited"


def test_default_categories_are_created_once() -> None:
    event = the_event()
    services.ensure_categories(event)
    codes = list(Category.objects.filter(event=event).values_list("code", flat=True))
    assert sorted(codes) == sorted(["VIP", "D", "E", "S", "G", "C", "T"])
    assert not Category.objects.get(event=event, code="VIP").vetting_required


def test_attestation_needs_aware_times() -> None:
    person = make_person()
    now = datetime(2026, 11, 1, 8, tzinfo=UTC)
    att = services.record_attestation(
        person=person,
        kind="health_code",
        value={"colour": "green"},
        observed_at=now,
        valid_until=now + timedelta(hours=24),
        source="zhejiang-health",
    )
    assert Attestation.objects.get(pk=att.pk).value == {"colour": "green"}
    with pytest.raises(DomainError):
        services.record_attestation(
            person=person,
            kind="nat_test",
            value={},
            observed_at=datetime(2026, 11, 1),  # noqa: DTZ001  (the point of the test)
            source="lab",
        )


def test_vehicle_permit_rules() -> None:
    event = the_event()
    driver = make_accreditation("T")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(DomainError) as exc:
        services_passes.issue_vehicle_permit(
            event=event,
            plate="浙F 12345",
            vehicle_type="car",
            valid_from=start,
            valid_until=start + timedelta(days=3),
            driver=driver,
        )
    assert exc.value.code == "accreditation.driver_not_accredited"
    services.transition(driver, to="vetted")
    services.transition(driver, to="approved")
    permit = services_passes.issue_vehicle_permit(
        event=event,
        plate="浙f·12345",
        vehicle_type="car",
        valid_from=start,
        valid_until=start + timedelta(days=3),
        driver=driver,
        routes=["north gate"],
        parking="P2",
    )
    assert permit.plate == "浙F12345"
    with pytest.raises(DomainError) as exc:
        services_passes.issue_vehicle_permit(
            event=event,
            plate="浙F12345",
            vehicle_type="van",
            valid_from=start,
            valid_until=start + timedelta(days=1),
        )
    assert exc.value.code == "accreditation.duplicate_plate"
    with pytest.raises(DomainError) as exc:
        services_passes.issue_vehicle_permit(
            event=event, plate="!!", vehicle_type="car", valid_from=start, valid_until=start
        )
    assert exc.value.code == "accreditation.invalid_plate"


def test_temporary_passes_are_refused_past_the_quota() -> None:
    event = the_event()
    host = Organisation.objects.create(name="Wuzhen Catering")
    day = event.start_date
    services_passes.set_pass_quota(event=event, organisation=host, kind="day", per_day=2)
    first = services_passes.issue_temporary_pass(
        event=event, host=host, kind="day", holder_name="A", day=day
    )
    services_passes.issue_temporary_pass(
        event=event, host=host, kind="day", holder_name="B", day=day
    )
    with pytest.raises(DomainError) as exc:
        services_passes.issue_temporary_pass(
            event=event, host=host, kind="day", holder_name="C", day=day
        )
    assert exc.value.code == "accreditation.quota_exceeded"
    # Another day and another kind have their own counts; revoking frees a place.
    with pytest.raises(DomainError):
        services_passes.issue_temporary_pass(
            event=event, host=host, kind="guest", holder_name="G", day=day
        )
    services_passes.revoke_temporary_pass(first)
    services_passes.issue_temporary_pass(
        event=event, host=host, kind="day", holder_name="C", day=day
    )
    with pytest.raises(DomainError) as exc:
        services_passes.issue_temporary_pass(
            event=event, host=host, kind="day", holder_name="D", day=date(2000, 1, 1)
        )
    assert exc.value.code == "accreditation.outside_event"


def test_search_people_by_exact_id_number_and_phone() -> None:
    person = make_person()
    assert list(services.search_people(q=person.id_number.lower())) == [person]
    assert list(services.search_people(q=person.phone.replace("+86", ""))) == [person]
    assert list(services.search_people(q=person.name_zh)) == [person]
    assert list(services.search_people(q="nobody-at-all")) == []
