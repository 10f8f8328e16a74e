"""The audit log page: search, pagination, CSV/Excel export, validation and access."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from anbao.accounts.roles import Role
from anbao.core.models import AuditEntry, AuditSource

URL = reverse("core:audit")


def _entry(at: datetime, action: str, **kwargs: object) -> AuditEntry:
    defaults: dict[str, object] = {
        "actor_label": "zhang.wei",
        "source": AuditSource.UI,
        "object_type": "accreditation.person",
        "object_id": "42",
        "object_repr": "王小明",
    }
    defaults.update(kwargs)
    return AuditEntry.objects.create(at=at, action=action, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def entries(db) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    AuditEntry.objects.all().delete()
    return [
        # 2024-11-19 23:30 UTC is 2024-11-20 07:30 in Shanghai: it belongs to the 20th on screen.
        _entry(datetime(2024, 11, 19, 23, 30, tzinfo=UTC), "accreditation.person_registered"),
        _entry(
            datetime(2024, 11, 20, 2, 0, tzinfo=UTC),
            "read:face_photo",
            is_read=True,
            actor_label="li.na",
            ip="10.0.0.7",
        ),
        _entry(
            datetime(2024, 11, 21, 3, 0, tzinfo=UTC),
            "devices.came_online",
            source=AuditSource.DEVICE,
            actor_label="GS-A1-1",
            object_type="sites.device",
            object_repr='=HYPERLINK("http://evil")',
            after={"online": True},
        ),
    ]


def _actions(response) -> list[str]:  # type: ignore[no-untyped-def]
    """The actions on the page, less the rows written by creating the test users."""
    return [
        e.action
        for e in response.context["page"].object_list
        if not e.action.startswith("accounts.")
    ]


def test_audit_page_lists_entries_newest_first(client_for, entries) -> None:  # type: ignore[no-untyped-def]
    response = client_for(Role.COMMANDER).get(URL)
    assert response.status_code == 200
    assert _actions(response)[:3] == [
        "devices.came_online",
        "read:face_photo",
        "accreditation.person_registered",
    ]
    assert "审计日志" in response.content.decode()
    # Times show in the event's time zone (UTC+8).
    assert "2024-11-20 07:30:00" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "li.na"}, ["read:face_photo"]),
        ({"q": "came_online"}, ["devices.came_online"]),
        ({"q": "王小明"}, ["read:face_photo", "accreditation.person_registered"]),
        ({"source": "device"}, ["devices.came_online"]),
        ({"reads": "on"}, ["read:face_photo"]),
        (
            {"date_from": "2024-11-20", "date_to": "2024-11-20"},
            ["read:face_photo", "accreditation.person_registered"],
        ),
        ({"date_from": "2024-11-21"}, ["devices.came_online"]),
        ({"date_to": "2024-11-19"}, []),
        (
            {"q": "zhang", "date_from": "2024-11-20", "date_to": "2024-11-20"},
            ["accreditation.person_registered"],
        ),
    ],
)
def test_audit_search_filters(client_for, entries, params, expected) -> None:  # type: ignore[no-untyped-def]
    response = client_for(Role.COMMANDER).get(URL, params)
    assert response.status_code == 200
    assert not response.context["form"].errors
    assert _actions(response) == expected


def test_audit_page_paginates(client_for, db) -> None:  # type: ignore[no-untyped-def]
    AuditEntry.objects.all().delete()
    for minute in range(60):
        _entry(datetime(2024, 11, 20, 1, minute, tzinfo=UTC), f"test.step_{minute:02d}")
    client = client_for(Role.COMMANDER)
    first = client.get(URL, {"q": "test.step"})
    assert len(first.context["page"].object_list) == 50
    assert _actions(first)[0] == "test.step_59"
    second = client.get(URL, {"q": "test.step", "page": 2})
    assert _actions(second) == [f"test.step_{m:02d}" for m in range(9, -1, -1)]
    assert "q=test.step" in first.content.decode()  # the pager keeps the search


def test_audit_csv_export(client_for, entries) -> None:  # type: ignore[no-untyped-def]
    response = client_for(Role.COMMANDER).get(URL, {"format": "csv", "reads": "on"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM for Excel
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["时间", "操作人", "来源", "操作"]
    assert rows[1:] == [
        [
            "2024-11-20 10:00:00",
            "li.na",
            "ui",
            "read:face_photo",
            "accreditation.person",
            "42",
            "王小明",
            "是",
            "10.0.0.7",
            "",
            "",
        ],
    ]


def test_audit_export_writes_its_own_audit_row(client_for, entries) -> None:  # type: ignore[no-untyped-def]
    client_for(Role.COMMANDER).get(URL, {"format": "csv", "source": "device"})
    row = AuditEntry.objects.filter(action="audit.exported").get()
    assert row.actor_label == "commander-user"
    assert row.after == {"format": "csv", "rows": 1, "filter": {"source": "device"}}


def test_audit_xlsx_export_reads_back(client_for, make_user, entries) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client()
    client.force_login(make_user(Role.ADMIN, username="ops-en", language="en"))
    response = client.get(URL, {"format": "xlsx", "q": "GS-A1"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["Time", "Actor", "Source", "Action"]
    assert len(rows) == 2
    row = rows[1]
    assert row[0] == "2024-11-21 11:00:00"
    assert row[3] == "devices.came_online"
    # A formula typed into a record stays text in the spreadsheet.
    assert row[6] == '\'=HYPERLINK("http://evil")'
    assert row[10] == '{"online": true}'


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2024-13-45"},
        {"date_to": "yesterday"},
        {"date_from": "2024-11-21", "date_to": "2024-11-20"},
        {"source": "carrier-pigeon"},
        {"date_from": "not-a-date", "format": "csv"},
    ],
)
def test_audit_bad_params_show_a_form_error(client_for, entries, params) -> None:  # type: ignore[no-untyped-def]
    response = client_for(Role.COMMANDER).get(URL, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.context["form"].errors
    assert 'id="audit-form-error"' in response.content.decode()
    assert not AuditEntry.objects.filter(action="audit.exported").exists()


def test_audit_needs_the_audit_capability(client_for, client, entries) -> None:  # type: ignore[no-untyped-def]
    operator = client_for(Role.CHECKPOINT_OPERATOR)
    assert operator.get(URL).status_code == 403
    assert operator.get(URL, {"format": "csv"}).status_code == 403
    assert not AuditEntry.objects.filter(action="audit.exported").exists()
    anonymous = client.get(URL)
    assert anonymous.status_code == 302
    assert reverse("accounts:login") in anonymous["Location"]
