"""Loading site files into the database: all or nothing, upsert by code, round trip, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import models

from anbao.core import clock
from anbao.core.errors import DomainError
from anbao.core.models import AuditEntry
from anbao.sites import services
from anbao.sites.demo import DEMO_SITE_PATH
from anbao.sites.models import (
    AirspaceVolume,
    AlarmSection,
    Camera,
    Checkpoint,
    Device,
    Event,
    EventPhase,
    Lane,
    PerimeterSegment,
    Venue,
    Zone,
)
from anbao.sites.siteio import geo
from tests.sites.sitefiles import SiteFolder

pytestmark = pytest.mark.django_db

SITE_MODELS: list[type[models.Model]] = [
    EventPhase,
    Venue,
    Zone,
    Checkpoint,
    Lane,
    PerimeterSegment,
    AlarmSection,
    AirspaceVolume,
    Camera,
    Device,
]
# Runtime state that the site files do not carry.
RUNTIME_FIELDS = {"online", "last_seen"}


def natural_key(obj: models.Model | None) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Event):
        return obj.code
    if isinstance(obj, Zone):
        return f"zone {obj.number}"
    if isinstance(obj, Lane):
        return f"lane {obj.checkpoint.code}/{obj.code}"
    if isinstance(obj, AlarmSection):
        return f"section {obj.segment.code}/{obj.code}"
    if isinstance(obj, Device):
        return obj.external_id
    return f"{type(obj).__name__} {obj.code}"  # type: ignore[attr-defined]


def canonical_dump(event_code: str) -> dict[str, list[dict[str, Any]]]:
    """Every site object of an event by natural keys, without primary keys."""
    event = Event.objects.get(code=event_code)
    out: dict[str, list[dict[str, Any]]] = {
        "event": [{f: getattr(event, f) for f in ("code", "name", "name_en", "time_zone")}]
    }
    filters = {
        Lane: {"checkpoint__event": event},
        AlarmSection: {"segment__event": event},
    }
    for model in SITE_MODELS:
        rows = []
        for obj in model._default_manager.filter(**filters.get(model, {"event": event})):
            row = {}
            for f in model._meta.concrete_fields:
                if f.primary_key or f.name in RUNTIME_FIELDS:
                    continue
                row[f.name] = (
                    natural_key(getattr(obj, f.name)) if f.is_relation else f.value_from_object(obj)
                )
            rows.append(row)
        out[model.__name__] = sorted(rows, key=repr)
    return out


def counts(code: str) -> dict[str, int]:
    return services.site_summary(Event.objects.get(code=code))


def test_demo_round_trips_through_export(tmp_path: Path) -> None:
    before = canonical_dump("wic2026")
    first = services.export_site(tmp_path / "a", "wic2026")
    services.export_site(tmp_path / "b", "wic2026")
    for file in first:
        assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes()
    services.delete_site(event_code="wic2026")
    assert not Event.objects.filter(code="wic2026").exists()
    assert not Lane.objects.filter(checkpoint__event__code="wic2026").exists()

    services.load_site(tmp_path / "a")
    assert canonical_dump("wic2026") == before
    services.export_site(tmp_path / "c", "wic2026")
    for file in first:
        assert file.read_bytes() == (tmp_path / "c" / file.name).read_bytes()


def test_reloading_the_demo_changes_nothing() -> None:
    before = canonical_dump("wic2026")
    pks = set(Lane.objects.values_list("pk", flat=True))
    result = services.load_site(DEMO_SITE_PATH)
    assert not result.created
    assert sum(result.added.values()) == sum(result.changed.values()) == 0
    assert sum(result.removed.values()) == 0
    assert canonical_dump("wic2026") == before
    assert set(Lane.objects.values_list("pk", flat=True)) == pks


def test_invalid_files_store_nothing_and_leave_the_earlier_load_intact(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    services.load_site(site.write())
    good = canonical_dump("tiny")
    rows_before = {m.__name__: m._default_manager.count() for m in SITE_MODELS}

    site.data["venues"][0]["name"] = "改名"
    site.data["checkpoints"][0]["to_zone"] = "9"
    site.write()
    with pytest.raises(DomainError) as info:
        services.load_site(site.root)
    assert info.value.code == "sites.invalid_site_files"
    assert canonical_dump("tiny") == good
    assert {m.__name__: m._default_manager.count() for m in SITE_MODELS} == rows_before


def test_a_new_event_code_from_invalid_files_creates_nothing(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "x", code="never")
    site.data["airspace"][0]["floor_m"] = 1000
    with pytest.raises(DomainError):
        services.load_site(site.write())
    assert not Event.objects.filter(code="never").exists()


def test_reload_updates_in_place_and_removes_what_is_gone(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    first = services.load_site(site.write())
    assert first.created
    assert first.counts["lanes"] == 3
    gate_a = Checkpoint.objects.get(event__code="tiny", code="gate-a")
    scanner = Device.objects.get(event__code="tiny", external_id="GS-gate-a-l1")
    Device.objects.filter(pk=scanner.pk).update(online=True, last_seen=clock.now())

    site.data["checkpoints"][0]["name"] = "A门 新"
    site.data["checkpoints"][0]["lanes"].append({"code": "l3", "name": "3号通道", "kind": "staff"})
    site.data["devices"] = [d for d in site.data["devices"] if d["external_id"] != "WX-1"]
    site.data["zones"][1]["name_en"] = "Inner field"
    second = services.load_site(site.write())

    assert not second.created
    assert second.added == {**dict.fromkeys(second.added, 0), "lanes": 1}
    assert second.changed["checkpoints"] == 1
    assert second.changed["zones"] == 1
    assert second.removed == {"devices": 1}
    gate_a.refresh_from_db()
    assert gate_a.name == "A门 新"
    scanner.refresh_from_db()
    assert scanner.online, "a reload keeps a device's runtime state"
    assert not Device.objects.filter(external_id="WX-1", event__code="tiny").exists()


def test_removing_nested_zones_deletes_children_first(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    services.load_site(site.write())
    site.data["zones"] = site.data["zones"][:1]
    site.data["checkpoints"] = site.data["checkpoints"][:1]
    site.data["lanes"] = []
    site.features = [f for f in site.features if f["id"] not in {"zone:2", "checkpoint:gate-b"}]
    result = services.load_site(site.write())
    assert result.removed == {"lanes": 1, "checkpoints": 1, "zones": 1}
    assert list(Zone.objects.filter(event__code="tiny").values_list("number", flat=True)) == ["1"]


def test_removal_blocked_by_a_protected_reference_changes_nothing(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    services.load_site(site.write())
    inner = Zone.objects.get(event__code="tiny", number="2")
    # Another event's zone nests in it: PROTECT keeps it from going away.
    other = Event.objects.create(
        code="other", name="其他", start_date=date(2030, 1, 1), end_date=date(2030, 1, 2)
    )
    Zone.objects.create(event=other, number="9", name="x", parent=inner, geometry={})
    good = canonical_dump("tiny")

    site.data["venues"][0]["name"] = "改名"
    site.data["zones"] = site.data["zones"][:1]
    site.data["checkpoints"][1]["to_zone"] = "1"
    site.data["checkpoints"][1].pop("from_zone")
    site.features = [f for f in site.features if f["id"] != "zone:2"]
    with pytest.raises(DomainError) as info:
        services.load_site(site.write())
    assert info.value.code == "sites.removal_blocked"
    assert info.value.status == 409
    [problem] = info.value.problems
    assert (problem.field, problem.code, problem.location) == ("zones", "protected", "database")
    assert problem.message.startswith("2 内场 is no longer in the site files")
    assert "referenced by 1 " in problem.message
    assert canonical_dump("tiny") == good


def test_each_load_writes_one_audit_row_with_counts(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    before = AuditEntry.objects.filter(action="sites.site_loaded").count()
    services.load_site(site.write())
    rows = AuditEntry.objects.filter(action="sites.site_loaded").order_by("-pk")
    assert rows.count() == before + 1
    after = rows[0].after or {}
    assert after["counts"]["lanes"] == 3
    assert rows[0].object_type == "sites.event"


def test_segment_length_is_geodesic(tmp_path: Path) -> None:
    site = SiteFolder(tmp_path / "tiny")
    services.load_site(site.write())
    seg = PerimeterSegment.objects.get(event__code="tiny", code="fence")
    assert seg.length_m == pytest.approx(geo.geodesic_length_m(seg.geometry["coordinates"]))
    assert seg.length_m == pytest.approx(200, abs=1.5)


def test_current_event_prefers_the_one_running_today(tmp_path: Path) -> None:
    services.load_site(SiteFolder(tmp_path / "tiny").write())
    previous = clock.install(clock.FixedClock(datetime(2030, 5, 2, 4, tzinfo=UTC)))
    try:
        assert services.current_event().code == "tiny"  # type: ignore[union-attr]
        clock.install(clock.FixedClock(datetime(2026, 11, 9, 4, tzinfo=UTC)))
        assert services.current_event().code == "wic2026"  # type: ignore[union-attr]
        clock.install(clock.FixedClock(datetime(2028, 1, 1, tzinfo=UTC)))
        assert services.current_event().code == "tiny"  # type: ignore[union-attr]  # the latest
    finally:
        clock.install(previous)


def test_get_event_errors() -> None:
    with pytest.raises(DomainError) as info:
        services.get_event("nope")
    assert (info.value.code, info.value.status) == ("sites.unknown_event", 404)
    services.delete_site(event_code="wic2026")
    with pytest.raises(DomainError) as info:
        services.get_event()
    assert info.value.code == "sites.no_event"
