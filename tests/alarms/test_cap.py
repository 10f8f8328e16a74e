"""CAP 1.2 export: round trip of every field, schema order, escaping, rejected values."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from anbao.alarms.cap import (
    CAP_NS,
    Alert,
    Area,
    Circle,
    Info,
    Reference,
    build_alert,
    format_time,
    perimeter_alert,
)
from anbao.alarms.perimeter import PerimeterEngine
from anbao.alarms.perimeter_decisions import EngineSettings
from anbao.alarms.perimeter_inputs import IntrusionReport
from anbao.alarms.perimeter_map import SectionGeo, SegmentGeo

NS = {"cap": CAP_NS}
SHANGHAI = timezone(timedelta(hours=8))
SENT = datetime(2026, 11, 8, 9, 30, 15, 123456, tzinfo=SHANGHAI)
ALERT_ORDER = [
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "source",
    "scope",
    "restriction",
    "addresses",
    "code",
    "note",
    "references",
    "incidents",
    "info",
]
INFO_ORDER = [
    "language",
    "category",
    "event",
    "responseType",
    "urgency",
    "severity",
    "certainty",
    "audience",
    "eventCode",
    "effective",
    "onset",
    "expires",
    "senderName",
    "headline",
    "description",
    "instruction",
    "web",
    "contact",
    "parameter",
    "resource",
    "area",
]
AREA_ORDER = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
SQUARE = ((30.75, 120.49), (30.75, 120.50), (30.76, 120.50), (30.76, 120.49), (30.75, 120.49))


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 -- our own output, not untrusted input


def local(tag: str) -> str:
    assert tag.startswith("{" + CAP_NS + "}"), tag
    return tag.split("}", 1)[1]


def in_schema_order(element: ET.Element, order: list[str]) -> bool:
    ranks = [order.index(local(child.tag)) for child in element]
    return ranks == sorted(ranks)


def info(language: str = "en-US", **kw: object) -> Info:
    base: dict[str, object] = {
        "language": language,
        "categories": ("Security", "Safety"),
        "event": "Perimeter intrusion",
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Observed",
        "headline": "Intrusion at canal north <s2> & bank",
        "description": 'Cable alarm "s2" > threshold & confirmed by video',
        "instruction": "Send the nearest patrol.",
        "areas": (
            Area("Canal north, section 2", circles=(Circle(30.754, 120.4993, 0.1),)),
            Area("Xizha north fence", polygons=(SQUARE,)),
        ),
        "parameters": (("priority", "1"), ("section", "canal-n/s2")),
        "web": "https://anbao.example/alarms/42",
    }
    base.update(kw)
    return Info(**base)  # type: ignore[arg-type]


def alert(**kw: object) -> Alert:
    base: dict[str, object] = {
        "identifier": "wic2026-perimeter-000042",
        "sender": "command@anbao.example",
        "sent": SENT,
        "status": "Actual",
        "msg_type": "Alert",
        "scope": "Public",
        "infos": (
            info(
                "zh-CN",
                event="周界入侵报警",
                headline="运河北段<2区>入侵 & 告警",
                description="漏缆报警，视频复核确认。",  # noqa: RUF001
                instruction="请就近巡逻力量前往核查。",
            ),
            info(),
        ),
    }
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_round_trip_of_every_field() -> None:
    data = build_alert(alert())
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = parse(data)
    assert root.tag == f"{{{CAP_NS}}}alert"
    assert root.findtext("cap:identifier", namespaces=NS) == "wic2026-perimeter-000042"
    assert root.findtext("cap:sender", namespaces=NS) == "command@anbao.example"
    assert root.findtext("cap:sent", namespaces=NS) == "2026-11-08T09:30:15+08:00"
    assert root.findtext("cap:status", namespaces=NS) == "Actual"
    assert root.findtext("cap:msgType", namespaces=NS) == "Alert"
    assert root.findtext("cap:scope", namespaces=NS) == "Public"
    assert root.find("cap:references", NS) is None
    zh, en = root.findall("cap:info", NS)
    assert zh.findtext("cap:language", namespaces=NS) == "zh-CN"
    assert zh.findtext("cap:event", namespaces=NS) == "周界入侵报警"
    assert zh.findtext("cap:headline", namespaces=NS) == "运河北段<2区>入侵 & 告警"
    assert en.findtext("cap:language", namespaces=NS) == "en-US"
    assert [c.text for c in en.findall("cap:category", NS)] == ["Security", "Safety"]
    for name, value in [
        ("event", "Perimeter intrusion"),
        ("urgency", "Immediate"),
        ("severity", "Severe"),
        ("certainty", "Observed"),
        ("headline", "Intrusion at canal north <s2> & bank"),
        ("description", 'Cable alarm "s2" > threshold & confirmed by video'),
        ("instruction", "Send the nearest patrol."),
        ("web", "https://anbao.example/alarms/42"),
    ]:
        assert en.findtext(f"cap:{name}", namespaces=NS) == value
    parameters = [
        (p.findtext("cap:valueName", namespaces=NS), p.findtext("cap:value", namespaces=NS))
        for p in en.findall("cap:parameter", NS)
    ]
    assert parameters == [("priority", "1"), ("section", "canal-n/s2")]
    circle_area, polygon_area = en.findall("cap:area", NS)
    assert circle_area.findtext("cap:areaDesc", namespaces=NS) == "Canal north, section 2"
    assert circle_area.findtext("cap:circle", namespaces=NS) == "30.754,120.4993 0.1"
    polygon = polygon_area.findtext("cap:polygon", namespaces=NS)
    assert polygon is not None
    pairs = [tuple(float(v) for v in pair.split(",")) for pair in polygon.split(" ")]
    assert pairs == list(SQUARE)
    assert pairs[0] == pairs[-1]


def test_text_is_escaped_in_the_bytes() -> None:
    data = build_alert(alert())
    assert b"&lt;s2&gt; &amp; bank" in data
    assert "运河北段&lt;2区&gt;入侵 &amp; 告警".encode() in data
    assert b"<s2>" not in data


def test_elements_follow_the_schema_order() -> None:
    full = alert(
        source="perimeter-engine",
        scope="Restricted",
        restriction="Command centre only",
        note="drill & test",
        references=(Reference("command@anbao.example", "wic2026-1", SENT),),
        msg_type="Update",
        incidents=("inc-7",),
        infos=(
            info(
                response_types=("Monitor",),
                effective=SENT,
                onset=SENT,
                expires=SENT + timedelta(hours=1),
                sender_name="乌镇安保指挥部",
                contact="+86 573 0000 0000",
                areas=(Area("both", polygons=(SQUARE,), circles=(Circle(30.75, 120.49, 0.5),)),),
            ),
        ),
    )
    root = parse(build_alert(full))
    assert [local(c.tag) for c in root] == [
        "identifier",
        "sender",
        "sent",
        "status",
        "msgType",
        "source",
        "scope",
        "restriction",
        "note",
        "references",
        "incidents",
        "info",
    ]
    assert in_schema_order(root, ALERT_ORDER)
    (block,) = root.findall("cap:info", NS)
    assert in_schema_order(block, INFO_ORDER)
    names = [local(c.tag) for c in block]
    assert names.index("responseType") < names.index("urgency")
    assert names.index("expires") < names.index("senderName") < names.index("headline")
    assert names.index("web") < names.index("contact") < names.index("parameter")
    (area,) = block.findall("cap:area", NS)
    assert in_schema_order(area, AREA_ORDER)
    assert [local(c.tag) for c in area] == ["areaDesc", "polygon", "circle"]
    assert root.findtext("cap:references", namespaces=NS) == (
        "command@anbao.example,wic2026-1,2026-11-08T09:30:15+08:00"
    )
    assert block.findtext("cap:expires", namespaces=NS) == "2026-11-08T10:30:15+08:00"


def test_times_drop_fractions_and_write_utc_as_minus_zero() -> None:
    assert format_time(SENT) == "2026-11-08T09:30:15+08:00"
    assert format_time(datetime(2026, 11, 8, 1, 30, 15, 999999, tzinfo=UTC)) == (
        "2026-11-08T01:30:15-00:00"
    )
    root = parse(build_alert(alert(sent=SENT.astimezone(UTC))))
    assert root.findtext("cap:sent", namespaces=NS) == "2026-11-08T01:30:15-00:00"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"identifier": "has space"}, "identifier 'has space' must not contain"),
        ({"identifier": "a,b"}, "must not contain spaces, commas"),
        ({"identifier": "a<b"}, "must not contain"),
        ({"identifier": "a&b"}, "must not contain"),
        ({"identifier": ""}, "identifier must not be empty"),
        ({"sender": "x y"}, "sender 'x y' must not contain"),
        ({"status": "Real"}, "status 'Real' is not one of Actual"),
        ({"msg_type": "Alarm"}, "msgType 'Alarm' is not one of"),
        ({"scope": "Everyone"}, "scope 'Everyone' is not one of"),
        ({"sent": datetime(2026, 11, 8, 9, 0)}, "sent must be an aware datetime"),  # noqa: DTZ001
        ({"scope": "Restricted"}, "restriction must not be empty"),
        ({"scope": "Private"}, "addresses must not be empty"),
        ({"restriction": "x"}, "restriction is only for scope Restricted"),
        ({"msg_type": "Cancel"}, "msgType Cancel needs references"),
        ({"infos": ()}, "needs at least one info block"),
        ({"incidents": ("a b",)}, "incident 'a b' must not contain"),
    ],
)
def test_bad_alert_values_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_alert(alert(**change))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"categories": ("Crime",)}, "category 'Crime' is not one of"),
        ({"categories": ()}, "at least one category"),
        ({"urgency": "Now"}, "urgency 'Now'"),
        ({"severity": "Huge"}, "severity 'Huge'"),
        ({"certainty": "Sure"}, "certainty 'Sure'"),
        ({"response_types": ("Run",)}, "responseType 'Run'"),
        ({"language": "english please"}, "RFC 3066"),
        ({"headline": "  "}, "headline must not be empty"),
        ({"description": ""}, "description must not be empty"),
        ({"instruction": ""}, "instruction must not be empty"),
        ({"event": ""}, "event must not be empty"),
        ({"web": "not a url"}, "absolute http"),
        ({"areas": ()}, "at least one area"),
        ({"areas": (Area(""),)}, "areaDesc must not be empty"),
        ({"areas": (Area("x", circles=(Circle(91.0, 120.0, 1.0),)),)}, "out of range"),
        ({"areas": (Area("x", circles=(Circle(30.0, 120.0, -1.0),)),)}, "radius"),
        ({"areas": (Area("x", polygons=(SQUARE[:-1],)),)}, "must be closed"),
        ({"areas": (Area("x", polygons=(SQUARE[:3],)),)}, "at least 4 points"),
        ({"expires": datetime(2026, 11, 8, 9, 0)}, "expires must be an aware"),  # noqa: DTZ001
        ({"parameters": (("", "1"),)}, "valueName must not be empty"),
    ],
)
def test_bad_info_values_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_alert(alert(infos=(info(**change),)))


def test_reference_values_are_checked() -> None:
    bad = Reference("a b", "x", SENT)
    with pytest.raises(ValueError, match="reference sender"):
        build_alert(alert(msg_type="Update", references=(bad,)))
    naive = dataclasses.replace(bad, sender="ok", sent=datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="reference sent must be an aware"):
        build_alert(alert(msg_type="Update", references=(naive,)))


def test_perimeter_decision_becomes_a_bilingual_alert() -> None:
    segment = SegmentGeo(
        "canal-n",
        ((120.4993386, 30.7558132), (120.4993271, 30.7485973)),
        800.0,
        (SectionGeo("s1", 0, 400), SectionGeo("s2", 400, 800)),
    )
    engine = PerimeterEngine([segment], {}, EngineSettings())
    now = datetime(2026, 11, 8, 1, 0, tzinfo=UTC)
    (decision,) = engine.handle_intrusion(
        IntrusionReport("canal-n", "outer", 600.0, 40.0, 30.0), now
    )
    cap = perimeter_alert(
        decision,
        identifier="wic2026-p-1",
        sender="command@anbao.example",
        sent=now,
        place_zh="运河北段",
        place_en="Canal north",
    )
    root = parse(build_alert(cap))
    assert root.findtext("cap:scope", namespaces=NS) == "Restricted"
    zh, en = root.findall("cap:info", NS)
    assert zh.findtext("cap:language", namespaces=NS) == "zh-CN"
    assert zh.findtext("cap:event", namespaces=NS) == "周界入侵报警"
    assert en.findtext("cap:event", namespaces=NS) == "Perimeter intrusion"
    # Unconfirmed alarm at priority 3: expected, minor, possible.
    assert decision.priority == 3
    assert (
        en.findtext("cap:urgency", namespaces=NS),
        en.findtext("cap:severity", namespaces=NS),
        en.findtext("cap:certainty", namespaces=NS),
    ) == ("Expected", "Minor", "Possible")
    circle = en.findtext("cap:area/cap:circle", namespaces=NS)
    assert circle is not None
    centre, radius = circle.split(" ")
    lat, lon = (float(v) for v in centre.split(","))
    assert (lat, lon) == pytest.approx((decision.lat, decision.lon), abs=1e-6)
    assert radius == "0.1"
    parameters = {
        p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
        for p in en.findall("cap:parameter", NS)
    }
    assert parameters["section"] == "s2"
    assert parameters["reasons"] == " ".join(decision.reason_codes)
