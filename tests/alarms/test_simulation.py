"""The demo's simulated sensors: perimeter alarms and drone tracks through the real pipeline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anbao.alarms.models import Alarm, DroneTrack, SensorEvent
from anbao.alarms.simulation import SensorTraffic


@pytest.mark.slow
def test_two_and_a_half_simulated_hours_bring_the_site_alive(
    night, event, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    traffic = SensorTraffic()
    start = night.now()
    sent = 0
    with django_capture_on_commit_callbacks(execute=True):
        while night.now() < start + timedelta(hours=2, minutes=30):
            sent += traffic.tick(night.now())
            night.advance(30)
    assert sent == traffic.sent > 1000
    kinds = set(Alarm.objects.values_list("source_type", flat=True))
    assert {"intrusion", "fence_cut", "drone"} <= kinds, kinds
    assert DroneTrack.objects.exclude(serial="").exists()  # the drone with Remote ID
    assert DroneTrack.objects.filter(serial="").exists()  # and the dark one
    assert SensorEvent.objects.filter(kind="weather").count() == 0  # weather is no sensor event
    assert SensorEvent.objects.filter(kind="intrusion").count() > 5
    # The timers ran: intrusions are momentary, so the early ones have cleared.
    assert Alarm.objects.filter(source_type="intrusion", condition="cleared").exists()
