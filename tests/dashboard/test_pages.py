"""The big screen page and the centre's reports: roles, views, and PDFs read back."""

from __future__ import annotations

import io

import pytest

from anbao.accounts.roles import Role
from anbao.core.models import AuditEntry
from anbao.sites.models import Venue


def test_screen_for_the_commander_and_read_only_for_the_police(night, client_for) -> None:  # type: ignore[no-untyped-def]
    page = client_for(Role.COMMANDER).get("/dashboard/screen/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-read-only="0"' in html
    assert 'id="bs-map"' in html
    assert "site-geojson" in html
    police = client_for(Role.POLICE_LIAISON).get("/dashboard/screen/").content.decode()
    assert 'data-read-only="1"' in police
    assert 'id="read-only-tag"' in police
    # no controls (the screen's own sound switch is a local preference, not an action)
    head = police.split('<footer class="bs-replay">')[0].replace(
        '<button type="button" id="sound-toggle"', ""
    )
    assert "<button" not in head


def test_commander_can_ask_for_the_read_only_view(night, client_for) -> None:  # type: ignore[no-untyped-def]
    html = client_for(Role.COMMANDER).get("/dashboard/screen/?mode=readonly").content.decode()
    assert 'data-read-only="1"' in html


def test_venue_view_and_bad_venue(night, event, client_for) -> None:  # type: ignore[no-untyped-def]
    venue = Venue.objects.filter(event=event).order_by("code").first()
    assert venue is not None
    c = client_for(Role.COMMANDER)
    html = c.get(f"/dashboard/screen/?venue={venue.code}").content.decode()
    assert f'data-venue="{venue.code}"' in html
    bad = c.get("/dashboard/screen/?venue=nowhere")
    assert bad.status_code == 422
    assert "dashboard.unknown_venue" in bad.content.decode()


@pytest.mark.parametrize("role", [Role.PLANNER, Role.CHECKPOINT_OPERATOR, Role.ROSTER_MANAGER])
def test_screen_and_reports_refuse_roles_without_the_dashboard(client_for, role) -> None:  # type: ignore[no-untyped-def]
    c = client_for(role)
    for url in (
        "/dashboard/screen/",
        "/dashboard/reports/daily.pdf",
        "/dashboard/reports/handover.pdf",
    ):
        assert c.get(url).status_code == 403, url


def _pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(body)).pages)


def _not_blank(body: bytes) -> float:
    import numpy as np
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(body)
    image = doc[0].render(scale=0.5).to_pil().convert("L")
    dark = (np.asarray(image) < 200).mean()
    doc.close()
    return float(dark)


def test_daily_report_pdf(night, seeded, client_for) -> None:  # type: ignore[no-untyped-def]
    from anbao.dashboard import snapshot as snap
    from anbao.sites.models import Event

    r = client_for(Role.POLICE_LIAISON).get("/dashboard/reports/daily.pdf?day=2026-11-08&lang=en")
    assert r.status_code == 200
    assert r["Content-Type"] == "application/pdf"
    text = _pdf_text(r.content)
    assert "Daily report" in text
    assert "日报" in text
    assert "Nuisance rate per section" in text
    people = snap.figures(Event.objects.get(), night.now())["today"]["people"]
    assert f"{people}" in text
    assert _not_blank(r.content) > 0.01
    assert AuditEntry.objects.filter(action="dashboard.report_daily").exists()


def test_handover_report_pdf_and_bad_hours(night, seeded, client_for) -> None:  # type: ignore[no-untyped-def]
    c = client_for(Role.COMMANDER)
    r = c.get("/dashboard/reports/handover.pdf?hours=8")
    assert r.status_code == 200
    text = _pdf_text(r.content)
    assert "交接班报告" in text
    assert "Shift handover" in text
    assert "Alarms still open" in text
    assert _not_blank(r.content) > 0.01
    assert c.get("/dashboard/reports/handover.pdf?hours=99").status_code == 422
    assert c.get("/dashboard/reports/handover.pdf?hours=x").status_code == 422
    assert c.get("/dashboard/reports/daily.pdf?day=8-11-2026").status_code == 422
