"""The incident report as a PDF: facts, timers, SOP checklist, units and timeline.

Labels are bilingual (Chinese / English) and built here; times are in the event's time zone.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from anbao.accreditation.badges.fonts import register_fonts
from anbao.core import audit
from anbao.incidents.queries import incident_detail
from anbao.incidents.services import get_incident

LABELS = {
    "title": ("事件报告", "Incident report"),
    "type": ("类型", "Type"),
    "state": ("状态", "State"),
    "priority": ("优先级", "Priority"),
    "opened": ("发生时间", "Opened"),
    "location": ("位置", "Location"),
    "escalation": ("升级级别", "Escalation level"),
    "disposition": ("结论", "Disposition"),
    "timers": ("处置时限", "Timers"),
    "timer": ("时限", "Timer"),
    "due": ("应于", "Due"),
    "met": ("完成于", "Met"),
    "ack": ("确认", "Acknowledge"),
    "respond": ("到场", "Respond"),
    "resolve": ("处置完毕", "Resolve"),
    "sop": ("标准处置流程", "Standard procedure"),
    "step": ("步骤", "Step"),
    "status": ("状态", "Status"),
    "comment": ("说明", "Comment"),
    "units": ("出动力量", "Units dispatched"),
    "unit": ("单位", "Unit"),
    "alarms": ("关联报警", "Alarms"),
    "timeline": ("时间线", "Timeline"),
    "when": ("时间", "When"),
    "who": ("人员", "Who"),
    "what": ("事项", "What"),
    "late": ("超时", "late"),
    "mandatory": ("必做", "mandatory"),
}


def label(key: str) -> str:
    """Return a bilingual label, Chinese then English."""
    zh, en = LABELS[key]
    return f"{zh} {en}"


def _local(value: Any, tz: ZoneInfo) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return str(value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"))


def incident_pdf(incident_id: int) -> bytes:
    """Return the report of one incident as PDF bytes (an audited read)."""
    incident = get_incident(incident_id)
    data = incident_detail(incident_id)
    audit.record_read("incident_report", obj=incident)
    tz = ZoneInfo(incident.event.time_zone)
    font = register_fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    head = ParagraphStyle("head", fontName=font, fontSize=16, leading=20, spaceAfter=6)
    sub = ParagraphStyle("sub", fontName=font, fontSize=11, leading=15, spaceBefore=8)

    def p(text: Any) -> Paragraph:
        return Paragraph(escape(str(text)), body)

    def table(rows: list[list[Any]], widths: list[float]) -> Table:
        t = Table([[p(c) for c in r] for r in rows], colWidths=[w * mm for w in widths])
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    where = ", ".join(
        x
        for x in (
            data["venue"],
            data["checkpoint"],
            data["segment"],
            f"{data['lon']:.5f}, {data['lat']:.5f}" if data["lon"] is not None else "",
        )
        if x
    )
    story: list[Any] = [
        Paragraph(escape(f"{label('title')} #{data['number']} - {incident.event.name}"), head),
        p(data["title"]),
        Spacer(1, 4 * mm),
        table(
            [
                [label("type"), f"{data['type_label_zh']} {data['type_label']}"],
                [label("state"), data["state"]],
                [label("priority"), f"P{data['priority']}"],
                [label("opened"), _local(data["opened_at"], tz)],
                [label("location"), where or "-"],
                [label("escalation"), data["escalation"]],
                [label("disposition"), data["disposition"] or "-"],
            ],
            [45, 125],
        ),
        Paragraph(escape(label("timers")), sub),
        table(
            [[label("timer"), label("due"), label("met"), label("late")]]
            + [
                [
                    label(name),
                    _local(t["due"], tz),
                    _local(t["met_at"], tz),
                    "x" if t["late"] else "",
                ]
                for name, t in data["timers"].items()
            ],
            [45, 50, 50, 25],
        ),
        Paragraph(escape(label("sop")), sub),
        table(
            [[label("step"), label("step"), label("status"), label("comment")]]
            + [
                [
                    f"{s['order']}" + (" *" if s["mandatory"] else ""),
                    f"{s['text']} / {s['text_en']}",
                    s["status"],
                    f"{s['comment']} ({s['by'] or ''} {_local(s['at'], tz)})"
                    if s["at"]
                    else s["comment"],
                ]
                for s in data["steps"]
            ],
            [14, 76, 20, 60],
        ),
        p(f"* {label('mandatory')}"),
        Paragraph(escape(label("units")), sub),
        table(
            [[label("unit"), label("status"), label("when"), "km"]]
            + [
                [
                    f"{d['unit']} {d['unit_name']}",
                    d["state"],
                    _local(d["dispatched_at"], tz),
                    "" if d["distance_km"] is None else f"{d['distance_km']:.2f}",
                ]
                for d in data["dispatches"]
            ],
            [60, 30, 50, 30],
        ),
        Paragraph(escape(label("alarms")), sub),
        p(", ".join(f"#{a['number']} {a['title_en']}" for a in data["alarms"]) or "-"),
        Paragraph(escape(label("timeline")), sub),
        table(
            [[label("when"), label("who"), label("what")]]
            + [
                [_local(e["at"], tz), e["user"] or e["actor"] or "", f"{e['action']} {e['text']}"]
                for e in data["entries"]
            ],
            [38, 32, 100],
        ),
    ]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Incident #{data['number']}",
    )
    doc.build(story)
    return buf.getvalue()
