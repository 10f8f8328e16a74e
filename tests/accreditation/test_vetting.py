"""Police vetting files drive the lifecycle."""

from __future__ import annotations

import pytest

from anbao.accreditation import vetting
from anbao.accreditation.models import Attestation
from anbao.core.errors import DomainError
from tests.accreditation.factories import make_accreditation, the_event

pytestmark = pytest.mark.django_db


def _file(rows: list[list[str]], header: str = "id_number,result,reference,date") -> bytes:
    return ("\r\n".join([header, *(",".join(r) for r in rows)]) + "\r\n").encode("gb18030")


def test_cleared_refused_pending_and_unknown() -> None:
    a, b, c = (make_accreditation("D") for _ in range(3))
    data = _file(
        [
            [a.person.id_number, "cleared", "ZJ-1", "2026-10-01"],
            [b.person.id_number.lower(), "不通过", "ZJ-2", "2026/10/02"],
            [c.person.id_number, "pending", "ZJ-3", ""],
            ["330483198001010000", "cleared", "ZJ-4", ""],
            [a.person.id_number, "maybe", "", ""],
        ]
    )
    report = vetting.import_vetting(data=data, filename="police.csv", event=the_event())
    assert (report.cleared, report.refused, report.pending) == (1, 1, 1)
    assert [(p.row, p.column, p.code) for p in report.problems] == [
        (5, "id_number", "vetting.unknown_person"),
        (6, "result", "vetting.invalid_result"),
    ]
    for acc in (a, b, c):
        acc.refresh_from_db()
    assert a.status == "vetted"
    assert b.status == "revoked"
    assert b.steps.last().note == "vetting refused ZJ-2"
    assert (c.status, c.flag, c.flag_note) == ("applied", "vetting_pending", "ZJ-3")
    assert Attestation.objects.filter(kind="vetting").count() == 3


def test_pending_flag_clears_when_vetted_later() -> None:
    acc = make_accreditation("D")
    ev = the_event()
    vetting.import_vetting(
        data=_file([[acc.person.id_number, "pending", "R1", ""]]), filename="v.csv", event=ev
    )
    vetting.import_vetting(
        data=_file([[acc.person.id_number, "cleared", "R1", ""]]), filename="v.csv", event=ev
    )
    acc.refresh_from_db()
    assert (acc.status, acc.flag) == ("vetted", "")


def test_missing_columns_are_named() -> None:
    with pytest.raises(DomainError) as exc:
        vetting.import_vetting(data=_file([], header="number,outcome"), filename="v.csv")
    assert {p.field for p in exc.value.problems} == {"id_number", "result"}
