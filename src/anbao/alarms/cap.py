"""Common Alerting Protocol 1.2 export: alerts as XML for partner agencies.

Pure Python, no Django; xml.etree builds the document, with elements in the order the
CAP 1.2 schema (OASIS, 2010) requires. Every value is checked first and a bad one raises a
``ValueError`` that names the field. See docs/perimeter.md.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anbao.alarms.perimeter_decisions import Decision as PerimeterDecision

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = (
    "Shelter",
    "Evacuate",
    "Prepare",
    "Execute",
    "Avoid",
    "Monitor",
    "Assess",
    "AllClear",
    "None",
)
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# CAP forbids spaces, commas and the XML-reserved < and & in identifiers and senders.
_IDENT_BAD = re.compile(r"[\s,<&]")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True)
class Reference:
    """An earlier alert this one refers to (for Update, Cancel, Ack and Error)."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True, slots=True)
class Circle:
    """A circle: centre latitude and longitude in degrees, radius in kilometres."""

    lat: float
    lon: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class Area:
    """An affected area: a description and circles and/or closed polygons of (lat, lon)."""

    area_desc: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[Circle, ...] = ()


@dataclass(frozen=True, slots=True)
class Info:
    """One ``<info>`` block, in one language."""

    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    description: str
    instruction: str
    areas: tuple[Area, ...]
    response_types: tuple[str, ...] = ()
    sender_name: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """A CAP 1.2 alert message."""

    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    infos: tuple[Info, ...]
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    note: str | None = None
    references: tuple[Reference, ...] = ()
    incidents: tuple[str, ...] = field(default=())


def format_time(value: datetime, name: str = "time") -> str:
    """Format a CAP time: seconds, numeric offset, UTC written as ``-00:00``."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{name} must be an aware datetime, got a naive one")
    text = value.replace(microsecond=0).isoformat(timespec="seconds")
    # CAP 1.2 section 3.3.2: UTC is "-00:00", never "Z" or "+00:00".
    if offset == timedelta(0):
        text = text[: -len("+00:00")] + "-00:00"
    return text


def _coord(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _require_text(value: str | None, name: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def _require_identifier(value: str, name: str) -> str:
    _require_text(value, name)
    if _IDENT_BAD.search(value):
        raise ValueError(f"{name} {value!r} must not contain spaces, commas, '<' or '&'")
    return value


def _require_choice(value: str, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")
    return value


def _check_point(lat: float, lon: float, name: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"{name}: coordinates must be finite")
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise ValueError(f"{name}: latitude {lat} or longitude {lon} out of range")


def format_circle(circle: Circle) -> str:
    """Format a circle as ``lat,lon radius_km``."""
    _check_point(circle.lat, circle.lon, "circle")
    if not math.isfinite(circle.radius_km) or circle.radius_km < 0:
        raise ValueError(f"circle radius {circle.radius_km} km must be zero or more")
    return f"{_coord(circle.lat)},{_coord(circle.lon)} {_coord(circle.radius_km)}"


def format_polygon(points: Sequence[tuple[float, float]]) -> str:
    """Format a closed polygon as space-separated ``lat,lon`` pairs."""
    if len(points) < 4:
        raise ValueError(f"polygon needs at least 4 points (closed), got {len(points)}")
    if tuple(points[0]) != tuple(points[-1]):
        raise ValueError("polygon must be closed: the first and last points must be equal")
    for lat, lon in points:
        _check_point(lat, lon, "polygon")
    return " ".join(f"{_coord(lat)},{_coord(lon)}" for lat, lon in points)


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        child.text = text
    return child


def _build_area(parent: ET.Element, area: Area) -> None:
    node = _sub(parent, "area")
    _sub(node, "areaDesc", _require_text(area.area_desc, "areaDesc"))
    for polygon in area.polygons:
        _sub(node, "polygon", format_polygon(polygon))
    for circle in area.circles:
        _sub(node, "circle", format_circle(circle))


def _build_info(parent: ET.Element, info: Info) -> None:
    if not _LANGUAGE.match(info.language):
        raise ValueError(f"language {info.language!r} is not an RFC 3066 tag")
    if not info.categories:
        raise ValueError("info needs at least one category")
    node = _sub(parent, "info")
    _sub(node, "language", info.language)
    for category in info.categories:
        _sub(node, "category", _require_choice(category, CATEGORIES, "category"))
    _sub(node, "event", _require_text(info.event, "event"))
    for response in info.response_types:
        _sub(node, "responseType", _require_choice(response, RESPONSE_TYPES, "responseType"))
    _sub(node, "urgency", _require_choice(info.urgency, URGENCIES, "urgency"))
    _sub(node, "severity", _require_choice(info.severity, SEVERITIES, "severity"))
    _sub(node, "certainty", _require_choice(info.certainty, CERTAINTIES, "certainty"))
    for name, moment in (
        ("effective", info.effective),
        ("onset", info.onset),
        ("expires", info.expires),
    ):
        if moment is not None:
            _sub(node, name, format_time(moment, name))
    if info.sender_name is not None:
        _sub(node, "senderName", _require_text(info.sender_name, "senderName"))
    _sub(node, "headline", _require_text(info.headline, "headline"))
    _sub(node, "description", _require_text(info.description, "description"))
    _sub(node, "instruction", _require_text(info.instruction, "instruction"))
    if info.web is not None:
        if not re.match(r"^https?://\S+$", info.web):
            raise ValueError(f"web {info.web!r} must be an absolute http(s) URI")
        _sub(node, "web", info.web)
    if info.contact is not None:
        _sub(node, "contact", _require_text(info.contact, "contact"))
    for name, value in info.parameters:
        parameter = _sub(node, "parameter")
        _sub(parameter, "valueName", _require_text(name, "parameter valueName"))
        _sub(parameter, "value", value)
    if not info.areas:
        raise ValueError("info needs at least one area")
    for area in info.areas:
        _build_area(node, area)


def build_element(alert: Alert) -> ET.Element:
    """Build the ``<alert>`` element, checking every value."""
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(root, "identifier", _require_identifier(alert.identifier, "identifier"))
    _sub(root, "sender", _require_identifier(alert.sender, "sender"))
    _sub(root, "sent", format_time(alert.sent, "sent"))
    _sub(root, "status", _require_choice(alert.status, STATUSES, "status"))
    _sub(root, "msgType", _require_choice(alert.msg_type, MSG_TYPES, "msgType"))
    if alert.source is not None:
        _sub(root, "source", _require_text(alert.source, "source"))
    _sub(root, "scope", _require_choice(alert.scope, SCOPES, "scope"))
    if alert.scope == "Restricted":
        _sub(root, "restriction", _require_text(alert.restriction, "restriction"))
    elif alert.restriction is not None:
        raise ValueError("restriction is only for scope Restricted")
    if alert.scope == "Private":
        _sub(root, "addresses", _require_text(alert.addresses, "addresses"))
    elif alert.addresses is not None:
        raise ValueError("addresses are only for scope Private")
    if alert.note is not None:
        _sub(root, "note", _require_text(alert.note, "note"))
    if alert.msg_type in {"Update", "Cancel"} and not alert.references:
        raise ValueError(f"msgType {alert.msg_type} needs references to the earlier alert")
    if alert.references:
        _sub(
            root,
            "references",
            " ".join(
                ",".join(
                    (
                        _require_identifier(ref.sender, "reference sender"),
                        _require_identifier(ref.identifier, "reference identifier"),
                        format_time(ref.sent, "reference sent"),
                    )
                )
                for ref in alert.references
            ),
        )
    if alert.incidents:
        for incident in alert.incidents:
            _require_identifier(incident, "incident")
        _sub(root, "incidents", " ".join(alert.incidents))
    if alert.msg_type in {"Alert", "Update"} and not alert.infos:
        raise ValueError(f"msgType {alert.msg_type} needs at least one info block")
    for info in alert.infos:
        _build_info(root, info)
    return root


def build_alert(alert: Alert) -> bytes:
    """Serialise an alert as UTF-8 XML with the CAP 1.2 namespace as the default."""
    root = build_element(alert)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)


# Priority 1 (most urgent) to 4, as the perimeter engine grades alarms.
_PRIORITY_GRADES: dict[int, tuple[str, str]] = {
    1: ("Immediate", "Severe"),
    2: ("Immediate", "Moderate"),
    3: ("Expected", "Minor"),
    4: ("Unknown", "Minor"),
}
_EVENT_NAMES: dict[str, tuple[str, str]] = {
    "intrusion": ("周界入侵报警", "Perimeter intrusion"),
    "fence_cut": ("电子围栏剪断报警", "Electric fence cut"),
    "fence_short": ("电子围栏短路报警", "Electric fence short circuit"),
    "fence_voltage_drop": ("电子围栏电压下降", "Electric fence voltage drop"),
    "fence_tamper": ("电子围栏防拆报警", "Electric fence tamper"),
}


def perimeter_alert(
    decision: PerimeterDecision,
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    place_zh: str,
    place_en: str,
    radius_km: float = 0.1,
    status: str = "Actual",
    web: str | None = None,
) -> Alert:
    """Build a bilingual (zh-CN, en-US) Security alert from a perimeter engine decision."""
    if decision.lon is None or decision.lat is None:
        raise ValueError("the decision has no map point")
    if decision.alarm_type not in _EVENT_NAMES:
        raise ValueError(f"no CAP event for alarm type {decision.alarm_type!r}")
    urgency, severity = _PRIORITY_GRADES[decision.priority]
    certainty = "Observed" if decision.confirmed else "Possible"
    event_zh, event_en = _EVENT_NAMES[decision.alarm_type]
    where = f"{decision.segment}/{decision.section or '-'}"
    parameters = (
        ("priority", str(decision.priority)),
        ("segment", decision.segment or ""),
        ("section", decision.section or ""),
        ("confirmed", "true" if decision.confirmed else "false"),
        ("reasons", " ".join(decision.reason_codes)),
    )
    circle = Circle(decision.lat, decision.lon, radius_km)
    infos = (
        Info(
            language="zh-CN",
            categories=("Security",),
            event=event_zh,
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            headline=f"{place_zh}{event_zh}",
            # Chinese text takes full-width punctuation.
            description=f"{place_zh}（{where}）{event_zh}，优先级 {decision.priority}。",  # noqa: RUF001
            instruction="请就近巡逻力量前往核查，指挥中心调取视频复核。",  # noqa: RUF001
            web=web,
            parameters=parameters,
            areas=(Area(place_zh, circles=(circle,)),),
        ),
        Info(
            language="en-US",
            categories=("Security",),
            event=event_en,
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            headline=f"{event_en} at {place_en}",
            description=f"{event_en} at {place_en} ({where}), priority {decision.priority}.",
            instruction="Nearest patrol to verify on site; command centre to review video.",
            web=web,
            parameters=parameters,
            areas=(Area(place_en, circles=(circle,)),),
        ),
    )
    return Alert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type="Alert",
        scope="Restricted",
        restriction="Command centre and police liaison only",
        infos=infos,
    )
