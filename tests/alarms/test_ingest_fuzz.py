"""Fuzz the pipeline: every message on a device topic is taken or dead-lettered, with a reason."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbao.alarms.ingest import Incoming, Pipeline
from anbao.alarms.models import DeadLetter
from tests.alarms.conftest import NIGHT

TOPICS = [
    "anbao/wic2026/leaky_cable_processor/LCP-canal-n/intrusion",
    "anbao/wic2026/fence_controller/FC-xizha-n/fence",
    "anbao/wic2026/radar/RADAR-01/plots",
    "anbao/wic2026/remote_id_receiver/RID-01/rid",
    "anbao/wic2026/camera/VA-canal/analytics",
    "anbao/wic2026/weather_station/WX-01/weather",
    "anbao/wic2026/door_controller/DC-wicc-01/door",
]
_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=20,
)
_shaped = st.fixed_dictionaries(
    {"id": st.text(max_size=70), "ts": st.sampled_from(["2026-11-08T23:30:00+08:00", "x", ""])},
    optional={
        "cable": st.sampled_from(["canal-n", "canal-s", "nowhere"]),
        "side": st.sampled_from(["inner", "outer", "up"]),
        "position_m": st.floats(-10, 2000) | st.just(float("nan")),
        "magnitude": st.floats(-1, 100),
        "threshold": st.floats(-1, 100),
        "fence": st.sampled_from(["xizha-n", "canal-n"]),
        "event": st.sampled_from(["cut", "restore", "forced", "melted"]),
        "door": st.text(max_size=8),
    },
)
payloads = st.one_of(
    st.binary(max_size=400),
    _json.map(lambda v: json.dumps(v).encode()),
    _shaped.map(lambda v: json.dumps(v).encode()),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(st.tuples(st.sampled_from(TOPICS), payloads), min_size=1, max_size=8))
def test_every_message_is_taken_or_dead_lettered(night, event, batch) -> None:  # type: ignore[no-untyped-def]
    pipeline = Pipeline(event)
    before = DeadLetter.objects.count()
    result = pipeline.handle([Incoming(t, p, NIGHT) for t, p in batch])
    assert result.accepted + result.duplicates + result.dead == len(batch)
    letters = list(DeadLetter.objects.order_by("id")[before:])
    assert len(letters) == result.dead
    assert all(d.code and d.reason for d in letters)
