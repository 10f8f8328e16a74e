"""The daily wall chart: every post of the event against the 24 hours of one day, on A3.

Rows are posts grouped by place; a bar spans each shift, filled in the shift's colour, with
the time on its first line and the guards' names below. Guards who share a post and a shift
share a bar; shifts on the same post that overlap in time get a lane each. A night shift
that began the day before, or that runs on past midnight, is cut at the edge of the day and
marked with a triangle there. Rows run on to further pages when a day has many posts; each
page repeats the header, the hour scale and the legend.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.pagesizes import A3, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from anbao.accreditation.badges.fonts import register_fonts
from anbao.workforce.publish.labels import (
    DASH,
    LABELS,
    bilingual,
    label,
    ordered,
    page_label,
    weekday,
)
from anbao.workforce.publish.sheets import Lang, RosterEntry, RosterSheet, check_lang

__all__ = ["SHIFT_COLOURS", "wall_chart_pdf"]

#: Bar fills, handed to shift codes in order of their usual start time of day.
SHIFT_COLOURS: tuple[str, ...] = (
    "#cfe3ff",
    "#ffe0b3",
    "#d9d0f7",
    "#c8eed4",
    "#ffd0d0",
    "#f2eeb0",
    "#cdeef3",
    "#ead6c2",
)

_PAGE = landscape(A3)
_MARGIN = 12 * mm
_LABEL_W = 64 * mm
_HEADER_H = 24 * mm
_AXIS_H = 8 * mm
_LEGEND_H = 14 * mm
_FOOTER_H = 6 * mm
_PLACE_H = 8 * mm
_LANE_H = 13 * mm
_ROW_PAD = 1.2 * mm

_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#5c5c5c")
_GRID = colors.HexColor("#c8c8c8")
_GRID_STRONG = colors.HexColor("#7a7a7a")
_STRIPE = colors.HexColor("#f4f4f4")
_PLACE_FILL = colors.HexColor("#e3e9f1")
_BAR_EDGE = colors.HexColor("#4a4a4a")


@dataclass
class _Bar:
    """One shift on one post: its guards and where it is cut by the day's edges."""

    shift_code: str
    start: dt.datetime
    end: dt.datetime
    entries: list[RosterEntry] = field(default_factory=list)


@dataclass
class _PostRow:
    """A post's row: its bars packed into lanes that do not overlap in time."""

    place_code: str
    post_code: str
    post_name: str
    post_name_en: str
    lanes: list[list[_Bar]]

    @property
    def height(self) -> float:
        """Row height on the page."""
        return len(self.lanes) * _LANE_H + 2 * _ROW_PAD


@dataclass
class _PlaceRow:
    """A place's header band above its posts."""

    place_code: str
    place_name: str
    place_name_en: str
    continued: bool = False

    @property
    def height(self) -> float:
        """Row height on the page."""
        return _PLACE_H


def _colours(sheet: RosterSheet) -> dict[str, str]:
    """Give each shift code a colour, the same on every day of the sheet."""
    first: dict[str, int] = {}
    for e in sheet.entries:
        local = sheet.local(e.start)
        minute = local.hour * 60 + local.minute
        first[e.shift_code] = min(first.get(e.shift_code, minute), minute)
    codes = sorted(first, key=lambda c: (first[c], c))
    return {c: SHIFT_COLOURS[i % len(SHIFT_COLOURS)] for i, c in enumerate(codes)}


def _pack(bars: list[_Bar]) -> list[list[_Bar]]:
    """Put bars into the fewest lanes so that no two bars in a lane overlap."""
    lanes: list[list[_Bar]] = []
    for bar in sorted(bars, key=lambda b: (b.start, b.end, b.shift_code)):
        for lane in lanes:
            if lane[-1].end <= bar.start:
                lane.append(bar)
                break
        else:
            lanes.append([bar])
    return lanes


def _rows(
    sheet: RosterSheet, entries: list[RosterEntry], max_lanes: int
) -> list[_PlaceRow | _PostRow]:
    """Build the place and post rows for the day, in place then post code order."""
    bars: dict[tuple[str, str], dict[tuple[str, dt.datetime, dt.datetime], _Bar]] = defaultdict(
        dict
    )
    names: dict[str, tuple[str, str]] = {}
    posts: dict[tuple[str, str], tuple[str, str]] = {}
    for e in entries:
        names.setdefault(e.place_code, (e.place_name, e.place_name_en))
        posts.setdefault((e.place_code, e.post_code), (e.post_name, e.post_name_en))
        key = (e.shift_code, e.start, e.end)
        bar = bars[(e.place_code, e.post_code)].setdefault(key, _Bar(e.shift_code, e.start, e.end))
        bar.entries.append(e)
    rows: list[_PlaceRow | _PostRow] = []
    for place_code in sorted(names):
        rows.append(_PlaceRow(place_code, *names[place_code]))
        for (pc, post_code), (name, name_en) in sorted(posts.items()):
            if pc != place_code:
                continue
            lanes = _pack(list(bars[(pc, post_code)].values()))
            # A post with more parallel shifts than a page holds goes on in further rows.
            for i in range(0, len(lanes), max_lanes):
                rows.append(_PostRow(pc, post_code, name, name_en, lanes[i : i + max_lanes]))
    return rows


def _paginate(rows: list[_PlaceRow | _PostRow], body_h: float) -> list[list[_PlaceRow | _PostRow]]:
    """Split rows into pages; a place header is never left alone at the foot of a page."""
    pages: list[list[_PlaceRow | _PostRow]] = [[]]
    used = 0.0
    current_place: _PlaceRow | None = None
    for i, row in enumerate(rows):
        need = row.height
        if isinstance(row, _PlaceRow):
            current_place = row
            following = rows[i + 1] if i + 1 < len(rows) else None
            if isinstance(following, _PostRow):
                need += following.height
        if used + need > body_h and pages[-1]:
            pages.append([])
            used = 0.0
            if isinstance(row, _PostRow) and current_place is not None:
                repeat = _PlaceRow(
                    current_place.place_code,
                    current_place.place_name,
                    current_place.place_name_en,
                    continued=True,
                )
                pages[-1].append(repeat)
                used += repeat.height
        pages[-1].append(row)
        used += row.height
    return pages


class _Chart:
    """Draws the pages of one day's chart on a canvas."""

    def __init__(self, sheet: RosterSheet, day: dt.date, lang: Lang) -> None:
        self.sheet = sheet
        self.day = day
        self.lang = lang
        self.font = register_fonts()
        zone = sheet.zone
        self.day_start = dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.UTC)
        self.day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).astimezone(
            dt.UTC
        )
        width, height = _PAGE
        self.x0 = _MARGIN + _LABEL_W
        self.x1 = width - _MARGIN
        self.top = height - _MARGIN - _HEADER_H - _AXIS_H
        self.bottom = _MARGIN + _FOOTER_H + _LEGEND_H
        self.colours = _colours(sheet)

    @property
    def body_h(self) -> float:
        """Height available for rows on each page."""
        return self.top - self.bottom

    def x(self, instant: dt.datetime) -> float:
        """Return the page x of an instant, clamped to the day."""
        span = (self.day_end - self.day_start).total_seconds()
        t = (instant.astimezone(dt.UTC) - self.day_start).total_seconds()
        frac = min(max(t / span, 0.0), 1.0)
        return self.x0 + frac * (self.x1 - self.x0)

    def fit(self, text: str, width: float, size: float) -> str:
        """Cut ``text`` with an ellipsis so that it fits ``width`` at ``size``."""
        if stringWidth(text, self.font, size) <= width:
            return text
        while text and stringWidth(text + "…", self.font, size) > width:
            text = text[:-1]
        return text + "…" if text else ""

    def header(self, c: Canvas, page: int, pages: int, guards: int) -> None:
        """Draw the title block, the hour scale and the page number."""
        width, height = _PAGE
        top = height - _MARGIN
        primary, secondary = ordered(self.lang, self.sheet.event_name, self.sheet.event_name_en)
        c.setFillColor(_INK)
        c.setFont(self.font, 20)
        c.drawString(_MARGIN, top - 20, primary)
        if secondary != primary:
            c.setFont(self.font, 11)
            c.setFillColor(_MUTED)
            c.drawString(_MARGIN + stringWidth(primary, self.font, 20) + 10, top - 20, secondary)
        c.setFillColor(_INK)
        c.setFont(self.font, 15)
        day = f"{self.day.isoformat()} {weekday(self.lang, self.day)}"
        title = f"{label(self.lang, 'wall_title')}   {day}"
        c.drawString(_MARGIN, top - 42, title)
        c.setFont(self.font, 9)
        c.setFillColor(_MUTED)
        published = self.sheet.local(self.sheet.published_at)
        lines = [
            f"{label(self.lang, 'version')}: {self.sheet.version}",
            f"{label(self.lang, 'published')}: {published:%Y-%m-%d %H:%M} ({self.sheet.tz})",
            f"{label(self.lang, 'guards')}: {guards}",
        ]
        for i, line in enumerate(lines):
            c.drawRightString(width - _MARGIN, top - 14 - i * 12, line)
        c.drawRightString(width - _MARGIN, _MARGIN, page_label(self.lang, page, pages))
        c.drawString(
            _MARGIN, _MARGIN, f"{self.sheet.event_code} · {label(self.lang, 'wall_title')}"
        )
        self.axis(c)

    def axis(self, c: Canvas) -> None:
        """Draw hour labels above the body and the hour grid through it."""
        axis_y = self.top + 2.5 * mm
        c.setFont(self.font, 9)
        # Step through real hours from local midnight and label each with its local hour, so
        # a 23- or 25-hour day (daylight saving) keeps every column one hour wide.
        hours: list[dt.datetime] = []
        instant = self.day_start
        while instant < self.day_end:
            hours.append(instant)
            instant += dt.timedelta(hours=1)
        for i, start in enumerate(hours):
            xa = self.x(start)
            xb = self.x(hours[i + 1]) if i + 1 < len(hours) else self.x1
            if i % 2 == 0:
                c.setFillColor(_STRIPE)
                c.rect(xa, self.bottom, xb - xa, self.top - self.bottom, stroke=0, fill=1)
            c.setFillColor(_INK)
            c.drawCentredString((xa + xb) / 2, axis_y, f"{self.sheet.local(start).hour:02d}")
        for edge in [*hours, self.day_end]:
            xh = self.x(edge)
            strong = edge == self.day_end or self.sheet.local(edge).hour % 6 == 0
            c.setStrokeColor(_GRID_STRONG if strong else _GRID)
            c.setLineWidth(0.9 if strong else 0.4)
            c.line(xh, self.bottom, xh, self.top + (2 * mm if strong else 0))
        c.setStrokeColor(_INK)
        c.setLineWidth(0.8)
        c.line(_MARGIN, self.top, self.x1, self.top)

    def place_row(self, c: Canvas, row: _PlaceRow, y: float) -> None:
        """Draw a place's header band with its top edge at ``y``."""
        c.setFillColor(_PLACE_FILL)
        c.rect(_MARGIN, y - row.height, self.x1 - _MARGIN, row.height, stroke=0, fill=1)
        text = f"{row.place_code}  {bilingual(self.lang, row.place_name, row.place_name_en)}"
        if row.continued:
            text += f"  ({label(self.lang, 'continued')})"
        c.setFillColor(_INK)
        c.setFont(self.font, 11.5)
        c.drawString(_MARGIN + 2 * mm, y - row.height + 2.3 * mm, text)

    def post_row(self, c: Canvas, row: _PostRow, y: float) -> None:
        """Draw a post's label and its bars with the row's top edge at ``y``."""
        bottom = y - row.height
        c.setStrokeColor(_GRID_STRONG)
        c.setLineWidth(0.5)
        c.line(_MARGIN, bottom, self.x1, bottom)
        primary, secondary = ordered(self.lang, row.post_name, row.post_name_en)
        mid = (y + bottom) / 2
        text_w = _LABEL_W - 4 * mm
        c.setFillColor(_INK)
        c.setFont(self.font, 13)
        c.drawString(_MARGIN + 2 * mm, mid + 2, self.fit(row.post_code, text_w, 13))
        c.setFont(self.font, 8.5)
        name = primary if secondary == primary else f"{primary} {secondary}"
        c.drawString(_MARGIN + 2 * mm, mid - 8, self.fit(name, text_w, 8.5))
        for i, lane in enumerate(row.lanes):
            lane_top = y - _ROW_PAD - i * _LANE_H
            for bar in lane:
                self.bar(c, bar, lane_top)

    def bar(self, c: Canvas, bar: _Bar, lane_top: float) -> None:
        """Draw one shift bar with its time and the guards' names."""
        xa, xb = self.x(bar.start), self.x(bar.end)
        h = _LANE_H - 1.2 * mm
        yb = lane_top - _LANE_H + 0.6 * mm
        c.setFillColor(colors.HexColor(self.colours.get(bar.shift_code, SHIFT_COLOURS[0])))
        c.setStrokeColor(_BAR_EDGE)
        c.setLineWidth(0.6)
        c.roundRect(xa, yb, xb - xa, h, 1.5 * mm, stroke=1, fill=1)
        c.setFillColor(_BAR_EDGE)
        tri = 2.2 * mm
        if bar.start < self.day_start:
            self.triangle(c, xa + 0.8 * mm, yb + h / 2, tri, pointing="left")
        if bar.end > self.day_end:
            self.triangle(c, xb - 0.8 * mm, yb + h / 2, tri, pointing="right")
        pad = 1.5 * mm + (tri + 1 * mm if bar.start < self.day_start else 0)
        inner = xb - xa - 2 * pad - (tri if bar.end > self.day_end else 0)
        if inner <= 4:
            return
        start, end = self.sheet.local(bar.start), self.sheet.local(bar.end)
        days = (end.date() - start.date()).days
        when = f"{bar.shift_code}  {start:%H:%M}{DASH}{end:%H:%M}" + (f" +{days}" if days else "")
        c.setFillColor(_MUTED)
        c.setFont(self.font, 7)
        c.drawString(xa + pad, yb + h - 8, self.fit(when, inner, 7))
        people = sorted(bar.entries, key=lambda e: (e.employee_no, e.guard_id))
        names = [ordered(self.lang, e.guard_name, e.guard_name_en)[0] for e in people]
        self.names(c, names, xa + pad, yb + 2, inner, h - 11)

    def names(
        self, c: Canvas, names: list[str], x: float, y: float, width: float, height: float
    ) -> None:
        """Write names in one line, or two smaller ones, or as many as fit then "+n"."""
        sep = "、" if self.lang == "zh-hans" else ", "
        c.setFillColor(_INK)
        one = sep.join(names)
        for size in (13.0, 12.0, 11.0, 10.0, 9.0, 8.0, 7.0):
            if stringWidth(one, self.font, size) <= width:
                c.setFont(self.font, size)
                c.drawString(x, y + (height - size) / 2, one)
                return
        if len(names) > 1:
            half = (len(names) + 1) // 2
            lines = [sep.join(names[:half]), sep.join(names[half:])]
            for size in (10.0, 9.0, 8.0, 7.0, 6.5):
                fits = max(stringWidth(s, self.font, size) for s in lines) <= width
                if fits and 2.1 * size <= height:
                    c.setFont(self.font, size)
                    base = y + (height - 2.1 * size) / 2
                    c.drawString(x, base + size * 1.1, lines[0])
                    c.drawString(x, base, lines[1])
                    return
        size = 7.0
        c.setFont(self.font, size)
        shown: list[str] = []
        for i, name in enumerate(names):
            rest = len(names) - i - 1
            more = f" +{rest}" if rest else ""
            trial = sep.join([*shown, name]) + more
            if stringWidth(trial, self.font, size) > width:
                break
            shown.append(name)
        rest = len(names) - len(shown)
        text = sep.join(shown) + (f" +{rest}" if rest else "")
        c.drawString(x, y + (height - size) / 2, self.fit(text, width, size))

    @staticmethod
    def triangle(c: Canvas, x: float, y: float, size: float, *, pointing: str) -> None:
        """Draw a filled triangle with its tip at (x, y)."""
        path = c.beginPath()
        back = size if pointing == "left" else -size
        path.moveTo(x, y)
        path.lineTo(x + back, y + size / 2)
        path.lineTo(x + back, y - size / 2)
        path.close()
        c.drawPath(path, stroke=0, fill=1)

    def legend(self, c: Canvas, bars: list[_Bar]) -> None:
        """Draw the shift colours with their times, and what the edge triangles mean."""
        size = 9.0
        line_h = 12.0
        y = self.bottom - 4 * mm
        tz_text = f"{label(self.lang, 'tz')}: {self.sheet.tz}"
        c.setFont(self.font, size)
        c.setFillColor(_MUTED)
        c.drawRightString(self.x1, y, tz_text)
        right = self.x1 - stringWidth(tz_text, self.font, size) - 8 * mm
        head = f"{label(self.lang, 'legend')}:"
        c.setFillColor(_INK)
        c.drawString(_MARGIN, y, head)
        left = _MARGIN + stringWidth(head, self.font, size) + 4 * mm
        x = left

        def place(width: float) -> tuple[float, float]:
            """Return where an item of ``width`` goes, wrapping to the next line if needed."""
            nonlocal x, y
            if x + width > right and x > left:
                x = left
                y -= line_h
            at = (x, y)
            x += width + 6 * mm
            return at

        times: dict[str, set[str]] = defaultdict(set)
        for bar in bars:
            start, end = self.sheet.local(bar.start), self.sheet.local(bar.end)
            times[bar.shift_code].add(f"{start:%H:%M}{DASH}{end:%H:%M}")
        order = list(self.colours)
        for code in sorted(times, key=lambda k: (order.index(k) if k in order else 0, k)):
            text = f"{label(self.lang, 'shift')} {code}  {', '.join(sorted(times[code]))}"
            ix, iy = place(10.5 * mm + stringWidth(text, self.font, size))
            c.setFillColor(colors.HexColor(self.colours.get(code, SHIFT_COLOURS[0])))
            c.setStrokeColor(_BAR_EDGE)
            c.setLineWidth(0.6)
            c.rect(ix, iy - 1, 9 * mm, 3.6 * mm, stroke=1, fill=1)
            c.setFillColor(_INK)
            c.drawString(ix + 10.5 * mm, iy, text)
        for pointing, key in (("left", "from_before"), ("right", "to_after")):
            text = label(self.lang, key)
            ix, iy = place(4 * mm + stringWidth(text, self.font, size))
            c.setFillColor(_BAR_EDGE)
            tip = ix if pointing == "left" else ix + 2.2 * mm
            self.triangle(c, tip, iy + 3, 2.2 * mm, pointing=pointing)
            c.setFillColor(_INK)
            c.drawString(ix + 4 * mm, iy, text)


def wall_chart_pdf(sheet: RosterSheet, day: dt.date, *, lang: str = "zh-hans") -> bytes:
    """Return an A3 landscape PDF of every post's shifts on ``day`` (local), for a wall.

    Shifts that overlap the local day at all are drawn, cut at midnight. A day without
    shifts gives one page that says so.
    """
    lang_ = check_lang(lang)
    chart = _Chart(sheet, day, lang_)
    entries = [e for e in sheet.entries if e.start < chart.day_end and e.end > chart.day_start]
    max_lanes = max(1, int((chart.body_h - _PLACE_H - 2 * _ROW_PAD) // _LANE_H))
    rows = _rows(sheet, entries, max_lanes)
    pages = _paginate(rows, chart.body_h) if rows else [[]]
    bars = [bar for row in rows if isinstance(row, _PostRow) for lane in row.lanes for bar in lane]

    out = io.BytesIO()
    c = Canvas(out, pagesize=_PAGE, invariant=1, pageCompression=1)
    c.setTitle(
        f"{label(lang_, 'wall_title')} {day.isoformat()} — "
        f"{bilingual(lang_, sheet.event_name, sheet.event_name_en)}"
    )
    c.setAuthor("anbao")
    c.setCreator("anbao")
    c.setSubject(f"{sheet.event_code} v{sheet.version}")
    guards = len({e.guard_id for e in entries})
    for number, page in enumerate(pages, start=1):
        chart.header(c, number, len(pages), guards)
        if not page:
            zh, en = LABELS["no_shifts_day"]
            c.setFont(chart.font, 18)
            c.setFillColor(_INK)
            c.drawCentredString(
                (chart.x0 + chart.x1) / 2, (chart.top + chart.bottom) / 2, bilingual(lang_, zh, en)
            )
        y = chart.top
        for row in page:
            if isinstance(row, _PlaceRow):
                chart.place_row(c, row, y)
            else:
                chart.post_row(c, row, y)
            y -= row.height
        chart.legend(c, bars)
        c.showPage()
    c.save()
    return out.getvalue()
