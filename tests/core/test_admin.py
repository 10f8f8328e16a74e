"""The back office: every registered model's pages open, and edits are audited."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from anbao.accounts.roles import Role
from anbao.core.models import AuditEntry
from anbao.sites.models import Venue


@pytest.mark.django_db
def test_every_admin_changelist_opens(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ADMIN)
    failures = []
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        status = client.get(url).status_code
        if status != 200:
            failures.append(f"{url}: {status}")
    assert failures == []


@pytest.mark.django_db
def test_admin_edit_writes_an_audit_row(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ADMIN)
    venue = Venue.objects.order_by("code").first()
    assert venue is not None
    url = reverse("admin:sites_venue_change", args=[venue.pk])
    response = client.post(
        url,
        {
            "event": venue.event_id,
            "code": venue.code,
            "name": "改名的场馆",
            "name_en": venue.name_en,
            "geometry": "null",
        },
    )
    assert response.status_code == 302, response.content[:500]
    entry = AuditEntry.objects.get(action="admin.changed", object_id=str(venue.pk))
    assert entry.before["name"] != "改名的场馆"
    assert entry.after["name"] == "改名的场馆"
    assert entry.source == "ui"


@pytest.mark.django_db
def test_audit_log_is_read_only_in_admin(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(Role.ADMIN)
    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
