"""Roster PDFs for people and places: a guard's own shifts, and a checkpoint's posts by shift.

Every label is bilingual: the document language first, the other language after it in a
smaller size ("日期 Date" or "Date 日期"). Text is set in the project's bundled CJK font, so
Chinese names render on any machine and can be searched and copied from the PDF.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from anbao.accreditation.badges.fonts import register_fonts
from anbao.workforce.publish.labels import (
    DASH,
    LABELS,
    bilingual,
    label,
    ordered,
    page_label,
    weekday,
    weekday_pair,
)
from anbao.workforce.publish.sheets import (
    Lang,
    RosterEntry,
    RosterSheet,
    check_lang,
    format_hours,
    skill_label,
)

__all__ = ["checkpoint_pdf", "person_pdf", "time_range"]

_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#5c5c5c")
_RULE = colors.HexColor("#b8b8b8")
_HEAD_FILL = colors.HexColor("#e8edf3")
_BAND_FILL = colors.HexColor("#f5f7fa")


def time_range(sheet: RosterSheet, entry: RosterEntry) -> str:
    """Return local "08:00-16:00" (en dash), with "+1" when the shift ends the next day."""
    start, end = sheet.local(entry.start), sheet.local(entry.end)
    text = f"{start:%H:%M}{DASH}{end:%H:%M}"
    days = (end.date() - start.date()).days
    return f"{text} +{days}" if days else text


def _published(sheet: RosterSheet) -> str:
    return f"{sheet.local(sheet.published_at):%Y-%m-%d %H:%M} ({sheet.tz})"


class _Styles:
    """Paragraph styles in the bundled font, sized for one document."""

    def __init__(self, base: float = 9.0) -> None:
        font = register_fonts()
        self.font = font
        self.base = base
        self.small = round(base * 0.78, 1)
        self.body = ParagraphStyle(
            "body", fontName=font, fontSize=base, leading=base * 1.3, textColor=_INK
        )
        self.head = ParagraphStyle(
            "head", parent=self.body, fontSize=base * 0.95, leading=base * 1.2
        )
        self.right = ParagraphStyle("right", parent=self.body, alignment=TA_RIGHT)
        self.title = ParagraphStyle(
            "title", parent=self.body, fontSize=base * 2, leading=base * 2.5, spaceAfter=1
        )
        self.subtitle = ParagraphStyle(
            "subtitle", parent=self.body, fontSize=base * 1.35, leading=base * 1.8
        )
        self.meta = ParagraphStyle("meta", parent=self.body, textColor=_MUTED, leading=base * 1.45)
        self.section = ParagraphStyle(
            "section", parent=self.body, fontSize=base * 1.3, leading=base * 1.7, spaceBefore=6
        )

    def bi(
        self, lang: Lang, zh: str, en: str, style: ParagraphStyle | None = None, *, stack: bool
    ) -> Paragraph:
        """Return a paragraph with the primary text, then the other language smaller."""
        primary, secondary = ordered(lang, zh, en)
        markup = escape(primary)
        if secondary and secondary != primary:
            joiner = "<br/>" if stack else " "
            markup += (
                f'{joiner}<font size="{self.small}" color="#5c5c5c">{escape(secondary)}</font>'
            )
        return Paragraph(markup, style or self.body)

    def label(self, lang: Lang, key: str, style: ParagraphStyle | None = None) -> Paragraph:
        """Return a stacked bilingual label from :data:`LABELS`."""
        zh, en = LABELS[key]
        return self.bi(lang, zh, en, style or self.head, stack=True)

    def text(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        """Return a paragraph of plain (escaped) text."""
        return Paragraph(escape(text), style or self.body)


def _table_style(header_rows: int = 1) -> TableStyle:
    return TableStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, header_rows - 1), _HEAD_FILL),
            ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.8, _INK),
            ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, _RULE),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ]
    )


def _footer(
    sheet: RosterSheet, lang: Lang, title: str
) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """Return an on-page callback that prints the event, version and page number."""
    font = register_fonts()

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(_MUTED)
        y = doc.bottomMargin / 2
        left = f"{sheet.event_code} · {title} · {label(lang, 'version')} {sheet.version}"
        canvas.drawString(doc.leftMargin, y, left)
        canvas.drawRightString(
            doc.pagesize[0] - doc.rightMargin, y, page_label(lang, canvas.getPageNumber())
        )
        canvas.restoreState()

    return draw


def _build(
    story: Sequence[Flowable],
    sheet: RosterSheet,
    lang: Lang,
    *,
    pagesize: tuple[float, float],
    title: str,
) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"{title} — {bilingual(lang, sheet.event_name, sheet.event_name_en)}",
        author="anbao",
        creator="anbao",
        subject=f"{sheet.event_code} v{sheet.version}",
        lang="zh-Hans" if lang == "zh-hans" else "en",
        # The same sheet always gives the same bytes: no creation date or random document id.
        invariant=1,
    )
    footer = _footer(sheet, lang, title)
    doc.build(list(story), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _event_header(sheet: RosterSheet, lang: Lang, st: _Styles, title_key: str) -> list[Flowable]:
    zh, en = LABELS[title_key]
    primary, secondary = ordered(lang, sheet.event_name, sheet.event_name_en)
    story: list[Flowable] = [st.text(primary, st.title)]
    if secondary != primary:
        story.append(st.text(secondary, st.meta))
    story.append(st.bi(lang, zh, en, st.subtitle, stack=False))
    return story


def _meta_line(sheet: RosterSheet, lang: Lang, st: _Styles) -> Paragraph:
    parts = [
        f"{label(lang, 'version')}: {sheet.version}",
        f"{label(lang, 'published')}: {_published(sheet)}",
    ]
    return st.text("   ·   ".join(parts), st.meta)


def person_pdf(sheet: RosterSheet, guard_id: int, *, lang: str = "zh-hans") -> bytes:
    """Return an A4 PDF of one guard's shifts in time order, with their total hours.

    A guard named in ``sheet.guards`` without entries gets a page saying there are no shifts;
    a guard in neither raises ValueError.
    """
    lang_ = check_lang(lang)
    guard = sheet.guard_ref(guard_id)
    entries = sheet.for_guard(guard_id)
    st = _Styles(9.0)
    story = _event_header(sheet, lang_, st, "person_title")
    primary, secondary = ordered(lang_, guard.guard_name, guard.guard_name_en)
    name = escape(primary)
    if secondary != primary:
        name += f'  <font size="{st.base * 1.2}">{escape(secondary)}</font>'
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph(name, st.title))
    who = [f"{label(lang_, 'employee_no')}: {guard.employee_no}"]
    if guard.squad:
        who.append(f"{label(lang_, 'squad')}: {guard.squad}")
    story.append(st.text("   ·   ".join(who), st.meta))
    story.append(_meta_line(sheet, lang_, st))
    story.append(Spacer(1, 4 * mm))
    if not entries:
        zh, en = LABELS["no_shifts"]
        story.append(st.bi(lang_, zh, en, st.section, stack=False))
        return _build(story, sheet, lang_, pagesize=A4, title=label(lang_, "person_title"))

    keys = ("date", "weekday", "time", "place", "post", "skill", "hours")
    rows: list[list[Any]] = [[st.label(lang_, k) for k in keys]]
    total = 0.0
    for e in entries:
        day = sheet.local_day(e)
        total += e.hours
        rows.append(
            [
                st.text(day.isoformat()),
                st.bi(lang_, *weekday_pair(day), stack=False),
                st.text(time_range(sheet, e)),
                st.bi(lang_, e.place_name, e.place_name_en, stack=True),
                st.bi(lang_, f"{e.post_code} {e.post_name}", e.post_name_en, stack=True),
                st.bi(lang_, *skill_label(e.skill), stack=True),
                st.text(format_hours(e.hours), st.right),
            ]
        )
    rows.append(
        [st.label(lang_, "total_hours"), "", "", "", "", "", st.text(format_hours(total), st.right)]
    )
    widths = [22 * mm, 17 * mm, 27 * mm, 36 * mm, 40 * mm, 26 * mm, 14 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = _table_style()
    style.add("SPAN", (0, -1), (-2, -1))
    style.add("LINEABOVE", (0, -1), (-1, -1), 0.8, _INK)
    style.add("BACKGROUND", (0, -1), (-1, -1), _BAND_FILL)
    table.setStyle(style)
    story.append(table)
    return _build(story, sheet, lang_, pagesize=A4, title=label(lang_, "person_title"))


def _shift_groups(
    sheet: RosterSheet, entries: Iterable[RosterEntry]
) -> list[tuple[dt.date, list[tuple[tuple[str, dt.datetime, dt.datetime], list[RosterEntry]]]]]:
    """Group entries by local day, then by shift (code and times), each in time order."""
    by_day: list[
        tuple[dt.date, list[tuple[tuple[str, dt.datetime, dt.datetime], list[RosterEntry]]]]
    ]
    by_day = []
    ordered = sorted(entries, key=lambda e: (sheet.local_day(e), e.start, e.end, e.shift_code))
    for day, day_entries in groupby(ordered, key=sheet.local_day):
        shifts = [
            (key, sorted(group, key=lambda e: (e.post_code, e.employee_no, e.guard_id)))
            for key, group in groupby(day_entries, key=lambda e: (e.shift_code, e.start, e.end))
        ]
        by_day.append((day, shifts))
    return by_day


def checkpoint_pdf(
    sheet: RosterSheet, place_code: str, *, day: dt.date | None = None, lang: str = "zh-hans"
) -> bytes:
    """Return an A4 landscape PDF of a place's posts and guards, by day and shift.

    ``day`` limits it to shifts starting on that local date. A place named in
    ``sheet.places`` or with no shifts on ``day`` gets a page saying so; a place in neither
    the entries nor ``sheet.places`` raises ValueError.
    """
    lang_ = check_lang(lang)
    place = sheet.place_ref(place_code)
    entries = [e for e in sheet.for_place(place_code) if day is None or sheet.local_day(e) == day]
    st = _Styles(9.0)
    story = _event_header(sheet, lang_, st, "checkpoint_title")
    primary, secondary = ordered(lang_, place.place_name, place.place_name_en)
    heading = f"{escape(place.place_code)}  {escape(primary)}"
    if secondary != primary:
        heading += f'  <font size="{st.base * 1.2}">{escape(secondary)}</font>'
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(heading, st.title))
    meta = _meta_line(sheet, lang_, st)
    story.append(meta)
    if day is not None:
        story.append(st.text(f"{label(lang_, 'date')}: {day.isoformat()} {weekday(lang_, day)}"))
    story.append(Spacer(1, 2 * mm))
    title = label(lang_, "checkpoint_title")
    if not entries:
        zh, en = LABELS["no_shifts_day" if day is not None else "no_shifts"]
        story.append(st.bi(lang_, zh, en, st.section, stack=False))
        return _build(story, sheet, lang_, pagesize=landscape(A4), title=title)

    keys = ("post_code", "post", "guard", "employee_no", "skill", "squad", "note")
    widths = [24 * mm, 58 * mm, 52 * mm, 28 * mm, 40 * mm, 32 * mm, 35 * mm]
    for local_day, shifts in _shift_groups(sheet, entries):
        # Room for the headings and a few rows, so no heading is left alone at a page foot.
        story.append(CondPageBreak(45 * mm))
        story.append(st.text(f"{local_day.isoformat()}  {weekday(lang_, local_day)}", st.section))
        for (code, _start, _end), group in shifts:
            shift_text = (
                f"{label(lang_, 'shift')} {code}   {time_range(sheet, group[0])}"
                f"   ·   {label(lang_, 'guards')}: {len(group)}"
            )
            rows: list[list[Any]] = [[st.label(lang_, k) for k in keys]]
            previous_post = None
            for e in group:
                # A post staffed by several guards is named once, on its first row.
                same_post = e.post_code == previous_post
                previous_post = e.post_code
                rows.append(
                    [
                        "" if same_post else st.text(e.post_code),
                        "" if same_post else st.bi(lang_, e.post_name, e.post_name_en, stack=True),
                        st.bi(lang_, e.guard_name, e.guard_name_en, stack=True),
                        st.text(e.employee_no),
                        st.bi(lang_, *skill_label(e.skill), stack=True),
                        st.text(e.squad),
                        st.text(e.note),
                    ]
                )
            table = Table(rows, colWidths=widths, repeatRows=1)
            table.setStyle(_table_style())
            story.append(CondPageBreak(30 * mm))
            story.append(st.text(shift_text, st.body))
            story.append(Spacer(1, 1 * mm))
            story.append(table)
            story.append(Spacer(1, 3 * mm))
    return _build(story, sheet, lang_, pagesize=landscape(A4), title=title)
