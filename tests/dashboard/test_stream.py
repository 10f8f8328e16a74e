"""The live stream: the broadcaster's ring and cursors, and SSE over the ASGI app."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client

from anbao.accounts.roles import Role
from anbao.alarms import services as alarm_services
from anbao.alarms.events import AlarmRaised
from anbao.core import bus
from anbao.dashboard import broadcaster as bc
from anbao.dashboard.stream import MAX_SENDS_PER_S
from anbao.sites.models import AlarmSection, Event, PerimeterSegment
from anbao.workforce.events import ReserveUnitChanged


def test_ring_replays_missed_frames_after_a_reconnect() -> None:
    b = bc.Broadcaster()
    for i in range(3):
        b.publish_frame({"n": i})
    sub, resync = b.subscribe(b.event_id(1))
    assert resync is False
    frames, behind = b.pending(sub)
    assert behind is False
    assert [seq for seq, _ in frames] == [2, 3]
    assert '"n":2' in frames[-1][1]
    assert b.pending(sub) == ([], False)  # nothing new: nothing sent


def test_unknown_or_foreign_last_event_id_asks_for_a_resync() -> None:
    b = bc.Broadcaster()
    b.publish_frame({"n": 1})
    assert b.subscribe("feedface-1")[1] is True  # another process or a restart
    assert b.subscribe("garbage")[1] is True
    assert b.subscribe(b.event_id(99))[1] is True  # from the future
    assert b.subscribe(None)[1] is False


def test_a_screen_that_falls_behind_the_ring_is_told_to_resync(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    b = bc.Broadcaster()
    sub, _ = b.subscribe(None)
    for i in range(bc.RING_SIZE + 5):
        b.publish_frame({"n": i})
    frames, behind = b.pending(sub)
    assert behind is True
    assert frames == []
    b.publish_frame({"n": "next"})
    frames, behind = b.pending(sub)  # caught up after the resync
    assert behind is False
    assert len(frames) == 1


def test_bus_events_mark_changes_and_a_flush_builds_one_delta(night, event) -> None:  # type: ignore[no-untyped-def]
    segment = PerimeterSegment.objects.get(event=event, code="canal-n")
    section = AlarmSection.objects.get(segment=segment, code="s2")
    alarm = alarm_services.trigger(
        event=event,
        source_type="intrusion",
        source_key="section:canal-n/s2",
        at=night.now(),
        segment=segment,
        section=section,
        lon=120.499,
        lat=30.754,
    ).alarm
    assert alarm is not None
    b = bc.Broadcaster()
    sub, _ = b.subscribe(None)
    assert b.flush() is None  # nothing changed yet
    b.on_event(_raised(alarm.pk, alarm.number))
    b.on_event(_raised(alarm.pk, alarm.number))  # a burst folds into one row
    b.on_event(ReserveUnitChanged(unit="r1", state="dispatched", lon=120.5, lat=30.75, task="x"))
    delta = b.flush()
    assert delta is not None
    assert [a["id"] for a in delta["upsert"]["alarms"]] == [alarm.pk]
    assert delta["upsert"]["alarms"][0]["section"] == "s2"
    assert "forces" in delta["replace"]
    assert "reserves" in delta["replace"]
    frames, _ = b.pending(sub)
    assert len(frames) == 1


def _raised(alarm_id: int, number: int) -> AlarmRaised:
    return AlarmRaised(
        alarm_id=alarm_id,
        number=number,
        event="wic2026",
        source_type="intrusion",
        source_key="k",
        priority=1,
        colour="#f00",
        sound="s",
        title="t",
        title_en="t",
        lon=None,
        lat=None,
        test=False,
        raised_at=datetime.now(UTC).isoformat(),
    )


def test_stream_page_guards(client_for) -> None:  # type: ignore[no-untyped-def]
    assert Client().get("/dashboard/stream/").status_code == 302
    assert client_for(Role.PLANNER).get("/dashboard/stream/").status_code == 403
    response = client_for(Role.POLICE_LIAISON).get("/dashboard/stream/?max_s=1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert b"retry:" in (first if isinstance(first, bytes) else first.encode())
    response.close()


async def _read_until(it: Any, needle: str, timeout: float) -> str:
    seen = ""
    loop = asyncio.get_running_loop()
    ends = loop.time() + timeout
    while needle not in seen:
        left = ends - loop.time()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen in {timeout} s; got {seen[-500:]!r}")
        chunk = await asyncio.wait_for(it.__anext__(), timeout=left)
        seen += chunk.decode() if isinstance(chunk, bytes) else chunk
    return seen


@pytest.mark.django_db(transaction=True)
def test_sse_over_asgi_delivers_a_published_alarm(site, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COMMANDER)
    event = Event.objects.get(code="wic2026")
    segment = PerimeterSegment.objects.get(event=event, code="canal-n")
    section = AlarmSection.objects.get(segment=segment, code="s3")

    def raise_alarm() -> int:
        from anbao.alarms import services

        services.forget_cached()
        result = services.trigger(
            event=event,
            source_type="intrusion",
            source_key="section:canal-n/s3",
            at=datetime(2026, 11, 8, 15, 30, tzinfo=UTC),
            segment=segment,
            section=section,
            lon=120.499,
            lat=30.754,
        )
        assert result.alarm is not None
        return result.alarm.pk

    async def scenario() -> tuple[str, int, float]:
        client = AsyncClient()
        await client.aforce_login(user)
        response = await client.get("/dashboard/stream/?max_s=20")
        assert response.status_code == 200
        it = response.streaming_content.__aiter__()
        hello = await _read_until(it, "retry:", 5)
        assert "anbao live" in hello
        loop = asyncio.get_running_loop()
        started = loop.time()
        alarm_id = await sync_to_async(raise_alarm, thread_sensitive=False)()
        text = await _read_until(it, f'"id":{alarm_id}', 5)
        took = loop.time() - started
        await response.aclose() if hasattr(response, "aclose") else None
        return text, alarm_id, took

    from anbao.core import clock

    previous = clock.install(clock.FixedClock(datetime(2026, 11, 8, 15, 30, tzinfo=UTC)))
    try:
        text, alarm_id, took = async_to_sync(scenario)()
    finally:
        clock.install(previous)
    assert "event: delta" in text
    assert f'"id":{alarm_id}' in text
    assert took < 2.0
    # The frame carries an id a reconnecting screen sends back as Last-Event-ID.
    assert f"id: {bc.get().epoch}-" in text


def test_sends_are_rate_limited() -> None:
    assert MAX_SENDS_PER_S <= 10  # a burst of 200 events/s never means 200 writes/s per screen
    assert bus is not None


def test_a_reconnect_gets_its_missed_frames_at_once(client_for) -> None:  # type: ignore[no-untyped-def]
    b = bc.get()
    first = b.publish_frame({"probe": "one"})
    b.publish_frame({"probe": "two"})
    response = client_for(Role.POLICE_LIAISON).get(
        "/dashboard/stream/?max_s=1", HTTP_LAST_EVENT_ID=b.event_id(first)
    )
    chunks = iter(response.streaming_content)
    text = b"".join(c if isinstance(c, bytes) else c.encode() for c in [next(chunks), next(chunks)])
    response.close()
    assert b'"probe":"two"' in text
    assert b'"probe":"one"' not in text
    assert b"event: resync" not in text
