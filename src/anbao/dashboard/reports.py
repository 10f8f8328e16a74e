"""The command centre's PDF reports: the shift handover and the daily report, bilingual.

Labels carry Chinese and English side by side (``lang`` picks which comes first). Charts
are drawn by matplotlib on the Agg backend with the bundled CJK font, so the reports build
on a server without a display or system fonts.
"""

from __future__ import annotations

import importlib
import io
import logging
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count

from anbao.alarms.models import Alarm
from anbao.alarms.stats import nuisance_by_section
from anbao.dashboard import snapshot as snap
from anbao.screening import stats as screening_stats
from anbao.screening.models import Passage, Seizure
from anbao.sites.models import Event

log = logging.getLogger(__name__)

__all__ = ["daily_report", "handover_report"]

PRIORITY_LABELS = {
    1: ("紧急", "critical"),
    2: ("高", "high"),
    3: ("中", "medium"),
    4: ("低", "low"),
}


def _font_path() -> str:
    from importlib import resources

    # The same TTC file the badges embed; matplotlib reads face 0 of the collection.
    path = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
    with resources.as_file(path) as real:
        return str(real)


class _Labels:
    """Bilingual labels: ``zh / en`` or ``en / zh``, by the reader's language."""

    def __init__(self, lang: str) -> None:
        self.en_first = lang.lower().startswith("en")

    def __call__(self, zh: str, en: str) -> str:
        return f"{en} / {zh}" if self.en_first else f"{zh} / {en}"


def _hourly_chart(
    hours: list[str],
    people: list[int],
    denials: list[int],
    title: str,
    legend: tuple[str, str] = ("people", "denials"),
) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    font = font_manager.FontProperties(fname=_font_path())
    fig = Figure(figsize=(7.2, 2.6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(len(hours)), people, color="#2f6f9f", label=legend[0])
    ax.plot(range(len(hours)), denials, color="#d32f2f", marker="o", label=legend[1])
    ax.set_xticks(range(len(hours)))
    ax.set_xticklabels(hours, fontsize=7)
    ax.set_title(title, fontproperties=font, fontsize=10)
    ax.legend(prop=font, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _hourly(event: Event, start: datetime, end: datetime) -> tuple[list[str], list[int], list[int]]:
    tz = ZoneInfo(event.time_zone)
    people: Counter[int] = Counter()
    denials: Counter[int] = Counter()
    rows = Passage.objects.filter(
        checkpoint__event=event, annulled=False, server_time__gte=start, server_time__lt=end
    ).values_list("server_time", "status", "direction")
    slots = max(1, int((end - start).total_seconds() // 3600))
    for at, status, direction in rows.iterator(chunk_size=5000):
        slot = int((at - start).total_seconds() // 3600)
        if direction == "entry" and status in ("allow", "attention"):
            people[slot] += 1
        elif status == "deny":
            denials[slot] += 1
    labels = [(start + timedelta(hours=i)).astimezone(tz).strftime("%H") for i in range(slots)]
    return labels, [people[i] for i in range(slots)], [denials[i] for i in range(slots)]


def _incidents(event: Event, since: datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        # Imported by name: the incidents domain may not provide its queries yet.
        iq = importlib.import_module("anbao.incidents.queries")
        rows = iq.open_incidents(event)
        counts = iq.incident_counts(event, since=since)
    except (ImportError, AttributeError):
        return [], {}
    except Exception:  # another domain's fault must not stop the report
        log.exception("incidents could not be read for the report")
        return [], {}
    return list(rows), dict(counts)


class _Doc:
    """A thin wrapper over reportlab's story with the house styles."""

    def __init__(self, title: str) -> None:
        from reportlab.lib.styles import ParagraphStyle

        from anbao.accreditation.badges.fonts import register_fonts

        self.font = register_fonts()
        self.title = title
        self.story: list[Any] = []
        self.h1 = ParagraphStyle("h1", fontName=self.font, fontSize=16, leading=20, spaceAfter=8)
        self.h2 = ParagraphStyle(
            "h2", fontName=self.font, fontSize=12, leading=15, spaceBefore=8, spaceAfter=4
        )
        self.body = ParagraphStyle("b", fontName=self.font, fontSize=9, leading=12)

    def heading(self, text: str, level: int = 2) -> None:
        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(_esc(text), self.h1 if level == 1 else self.h2))

    def para(self, text: str) -> None:
        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(_esc(text), self.body))

    def table(self, rows: list[list[Any]], widths: list[float] | None = None) -> None:
        from reportlab.lib import colors
        from reportlab.platypus import Table, TableStyle

        if len(rows) <= 1:
            rows = [*rows, ["-"] + [""] * (len(rows[0]) - 1 if rows else 0)]
        t = Table([[str(c) for c in r] for r in rows], colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), self.font),
                    ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6ecf2")),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa7b5")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        self.story.append(t)

    def image(self, png: bytes, width_mm: float = 170) -> None:
        from reportlab.lib.units import mm
        from reportlab.platypus import Image

        img = Image(io.BytesIO(png))
        ratio = img.imageHeight / img.imageWidth
        img.drawWidth = width_mm * mm
        img.drawHeight = width_mm * mm * ratio
        self.story.append(img)

    def render(self) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.platypus import SimpleDocTemplate

        buf = io.BytesIO()
        doc = SimpleDocTemplate(
            buf,
            pagesize=A4,
            leftMargin=18 * mm,
            rightMargin=18 * mm,
            topMargin=16 * mm,
            bottomMargin=16 * mm,
            title=self.title,
            author="anbao",
        )
        font = self.font

        def footer(canvas: Any, d: Any) -> None:
            canvas.saveState()
            canvas.setFont(font, 7.5)
            canvas.drawString(18 * mm, 9 * mm, f"{self.title}  -  {d.page}")
            canvas.restoreState()

        doc.build(self.story, onFirstPage=footer, onLaterPages=footer)
        return buf.getvalue()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _figures_section(doc: _Doc, t: _Labels, fig: dict[str, Any]) -> None:
    doc.table(
        [
            [t("指标", "Figure"), t("数量", "Count")],
            [t("人员安检", "People screened"), fig["people"]],
            [t("行李安检", "Bags screened"), fig["bags"]],
            [t("车辆安检", "Vehicles screened"), fig["vehicles"]],
            [t("禁带物品", "Prohibited items (禁)"), fig["seizures"]["prohibited"]],
            [t("限带物品", "Restricted items (限)"), fig["seizures"]["restricted"]],
            [t("拒绝通行", "Passages denied"), fig["denials"]],
        ],
        widths=[110 * 2.835, 50 * 2.835],
    )
    doc.heading(t("拒绝原因", "Denials by reason"))
    rows: list[list[Any]] = [[t("原因", "Reason"), t("次数", "Count")]]
    for r in fig["denials_by_reason"]:
        rows.append([t(r["text_zh"], r["text_en"]), r["count"]])
    doc.table(rows, widths=[110 * 2.835, 50 * 2.835])


def _seizures_section(doc: _Doc, t: _Labels, event: Event, start: datetime, end: datetime) -> None:
    doc.heading(t("查获物品", "Seizures"))
    rows: list[list[Any]] = [[t("物品", "Item"), t("类别", "Class"), t("件数", "Count")]]
    for r in (
        Seizure.objects.filter(checkpoint__event=event, at__gte=start, at__lt=end)
        .values("item_zh", "item_en", "item_class")
        .annotate(n=Count("id"))
        .order_by("-n", "item_en")[:30]
    ):
        mark = "禁" if r["item_class"] == "prohibited" else "限"
        rows.append([t(r["item_zh"], r["item_en"]), mark, r["n"]])
    doc.table(rows, widths=[100 * 2.835, 25 * 2.835, 35 * 2.835])


def _alarm_section(doc: _Doc, t: _Labels, event: Event, start: datetime, end: datetime) -> None:
    doc.heading(t("报警统计", "Alarm statistics"))
    by_prio = dict(
        Alarm.objects.filter(event=event, test=False, raised_at__gte=start, raised_at__lt=end)
        .values_list("priority")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows: list[list[Any]] = [[t("优先级", "Priority"), t("报警数", "Alarms")]]
    for p, (zh, en) in PRIORITY_LABELS.items():
        rows.append([t(zh, en), by_prio.get(p, 0)])
    doc.table(rows, widths=[110 * 2.835, 50 * 2.835])
    doc.heading(t("各防区误报率", "Nuisance rate per section"))
    tz = ZoneInfo(event.time_zone)
    days = sorted({start.astimezone(tz).date(), (end - timedelta(seconds=1)).astimezone(tz).date()})
    rows = [
        [
            t("日期", "Day"),
            t("防区", "Section"),
            t("报警", "Alarms"),
            t("真实", "Real"),
            t("误报", "Nuisance+false"),
            t("误报率", "Nuisance rate"),
        ]
    ]
    for day in days:
        for r in nuisance_by_section(event, day):
            rows.append(
                [
                    day.isoformat(),
                    f"{r.segment}/{r.section}",
                    r.alarms,
                    r.real,
                    r.nuisance + r.false,
                    f"{r.nuisance_rate:.0%}",
                ]
            )
    doc.table(rows)


def _incident_section(doc: _Doc, t: _Labels, event: Event, since: datetime) -> None:
    doc.heading(t("事件与处置", "Incidents and outcomes"))
    rows, counts = _incidents(event, since)
    if counts:
        flat: list[list[Any]] = [[t("项目", "Item"), t("数量", "Count")]]
        for k, v in sorted(counts.items()):
            if isinstance(v, dict):
                flat.extend([f"{k}: {sub}", n] for sub, n in sorted(v.items()))
            else:
                flat.append([k, v])
        doc.table(flat)
    table: list[list[Any]] = [
        [t("编号", "Number"), t("类型", "Type"), t("标题", "Title"), t("状态", "State")]
    ]
    for r in rows[:40]:
        table.append(
            [r.get("number", ""), r.get("type_label", ""), r.get("title", ""), r.get("state", "")]
        )
    if not counts and len(table) == 1:
        doc.para(t("无事件记录", "No incidents recorded."))
    else:
        doc.table(table)


def daily_report(event: Event, day: date, *, lang: str = "zh-hans") -> bytes:
    """Return the daily report PDF for a local day: figures, chart, seizures, alarms, incidents."""
    t = _Labels(lang)
    start, end = screening_stats.day_window(day, event.time_zone)
    doc = _Doc(t("指挥部日报", "Daily report") + f" {day.isoformat()}")
    doc.heading(t("指挥部日报", "Command centre daily report"), 1)
    doc.para(f"{event.name} / {event.name_en}  -  {day.isoformat()} ({event.time_zone})")
    ids = list(event.checkpoints.values_list("id", flat=True))
    fig = snap._figures_between(ids, start, end - timedelta(microseconds=1))
    doc.heading(t("主要数据", "Key figures"))
    _figures_section(doc, t, fig)
    labels, people, denials = _hourly(event, start, end)
    doc.image(
        _hourly_chart(
            labels,
            people,
            denials,
            t("每小时安检人数", "People screened per hour"),
            (t("安检人数", "people screened"), t("拒绝通行", "denied")),
        )
    )
    _seizures_section(doc, t, event, start, end)
    _alarm_section(doc, t, event, start, end)
    _incident_section(doc, t, event, start)
    return doc.render()


def handover_report(event: Event, at: datetime, *, hours: int = 12, lang: str = "zh-hans") -> bytes:
    """Return the shift handover PDF: the shift's figures and what is still open at ``at``."""
    t = _Labels(lang)
    start = at - timedelta(hours=hours)
    tz = ZoneInfo(event.time_zone)
    local = at.astimezone(tz)
    doc = _Doc(t("交接班报告", "Shift handover") + f" {local:%Y-%m-%d %H:%M}")
    doc.heading(t("交接班报告", "Shift handover report"), 1)
    doc.para(
        f"{event.name} / {event.name_en}  -  "
        f"{start.astimezone(tz):%Y-%m-%d %H:%M} - {local:%Y-%m-%d %H:%M} ({event.time_zone})"
    )
    ids = list(event.checkpoints.values_list("id", flat=True))
    doc.heading(t("本班数据", "Figures for the shift"))
    _figures_section(doc, t, snap._figures_between(ids, start, at))
    labels, people, denials = _hourly(event, start, at)
    doc.image(
        _hourly_chart(
            labels,
            people,
            denials,
            t("每小时安检人数", "People screened per hour"),
            (t("安检人数", "people screened"), t("拒绝通行", "denied")),
        )
    )
    reserves = snap.reserve_rows(event)
    f = snap.forces(event, at, reserves)
    doc.heading(t("警力", "Forces"))
    doc.table(
        [
            [t("项目", "Item"), t("数量", "Count")],
            [t("在岗", "Guards on post"), f["on_post"]],
            [t("计划", "Guards planned"), f["planned"]],
            [t("缺岗", "Absent"), f["absent"]],
            [t("未处理考勤告警", "Open duty alerts"), f["alerts"]],
            [
                t("可用机动力量", "Reserve units available"),
                f"{f['reserves_available']}/{f['reserves_total']}",
            ],
        ],
        widths=[110 * 2.835, 50 * 2.835],
    )
    doc.heading(t("未关闭报警", "Alarms still open"))
    rows: list[list[Any]] = [
        [t("编号", "No."), t("优先级", "Priority"), t("标题", "Title"), t("状态", "State")]
    ]
    for a in snap.alarm_rows(event, at, live=False)[:40]:
        zh, en = PRIORITY_LABELS.get(a["priority"], ("", str(a["priority"])))
        rows.append([a["number"], t(zh, en), t(a["title"], a["title_en"]), a["workflow"]])
    doc.table(rows, widths=[18 * 2.835, 30 * 2.835, 90 * 2.835, 30 * 2.835])
    _seizures_section(doc, t, event, start, at)
    _alarm_section(doc, t, event, start, at)
    _incident_section(doc, t, event, start)
    return doc.render()
