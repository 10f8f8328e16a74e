"""Workforce fixtures: a small guard roll, posts derived from the demo site, one day of shifts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from anbao.sites.models import Event
from anbao.workforce import demand, staffing
from anbao.workforce.models import Guard, Shift, ShiftTemplate
from tests.screening.test_scan import at_event  # noqa: F401  (a fixture used by these tests)

EVENT_DAY = date(2026, 11, 9)

HEADER = "employee_no,name,name_en,gender,phone,employer,skills,english,base_lon,base_lat\n"


def roll_csv(n: int = 40) -> bytes:
    """Return a staff sheet of ``n`` guards with a realistic mix of skills."""
    lines = [HEADER]
    for i in range(n):
        skills = ["licence"]
        skills += [["xray:2027-06-30", "search"], ["search"], ["vehicle"], ["leader", "search"]][
            i % 4
        ]
        gender = "F" if i % 3 == 0 else "M"
        lines.append(
            f"W{i:03d},守卫{i},Guard {i},{gender},1390000{i:04d},anbao Security,"
            f"{';'.join(skills)},{'working' if i % 5 == 0 else 'none'},120.49,30.74\n"
        )
    return "".join(lines).encode()


@pytest.fixture
def event(db) -> Event:  # type: ignore[no-untyped-def]
    """The demo site's event."""
    return Event.objects.get()


@pytest.fixture
def workforce(event: Event, at_event) -> Iterator[Event]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Forty guards, the site's posts, and the two 12-hour shifts of an event day."""
    staffing.import_staff(roll_csv(), "roll.csv", event=event)
    demand.ensure_templates(event)
    demand.derive_posts(event)
    template = ShiftTemplate.objects.get(event=event, code="2x12")
    demand.generate_shifts(event, template, EVENT_DAY, EVENT_DAY)
    assert Guard.objects.count() == 40
    assert Shift.objects.filter(event=event).count() == 2
    return event
