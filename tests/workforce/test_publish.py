"""Roster publishing: render each document, then read it back as a guard or supervisor would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from zoneinfo import ZoneInfo

import icalendar
import openpyxl
import pypdf
import pypdfium2 as pdfium
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A3, A4, landscape

from anbao.workforce.publish import (
    GuardRef,
    PlaceRef,
    RosterEntry,
    RosterSheet,
    cancelled_ics,
    checkpoint_pdf,
    checkpoint_xlsx,
    format_hours,
    person_ics,
    person_pdf,
    removed_entries,
    shift_uid,
    wall_chart_pdf,
)

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
DAY1 = dt.date(2026, 11, 20)
DAY2 = DAY1 + dt.timedelta(days=1)

GUARDS = {
    1: ("G0001", "王小明", "Wang Xiaoming", "一队"),
    2: ("G0002", "李娜", "Li Na", "一队"),
    3: ("G0003", "张伟", "Zhang Wei", "二队"),
    4: ("G0004", "欧阳晓燕", "Ouyang Xiaoyan", "二队"),
    5: ("G0005", "陈静", "Chen Jing", "三队"),
    6: ("G0006", "刘洋", "Liu Yang", ""),
}
PLACES = {
    "N": ("北门安检口", "North gate checkpoint"),
    "S": ("南门安检口", "South gate checkpoint"),
    "V": ("车辆检查区", "Vehicle search area"),
}
POSTS = {
    "N-01": ("N", "一号安检通道", "Lane 1"),
    "N-02": ("N", "二号安检通道", "Lane 2"),
    "S-01": ("S", "南门通道", "South lane"),
    "V-01": ("V", "车检岗", "Vehicle post"),
}
#: Shift code -> (local start, length): day, evening, and a night crossing midnight.
SHIFTS = {"D": (dt.time(8), 8), "E": (dt.time(14), 8), "N": (dt.time(22), 10)}
#: (day, shift, post, guard, skill)
PLAN = [
    (DAY1, "D", "N-01", 1, "xray"),
    (DAY1, "D", "N-01", 2, "search"),
    (DAY1, "D", "N-02", 3, "search"),
    (DAY1, "D", "S-01", 4, "xray"),
    (DAY1, "D", "V-01", 5, "vehicle"),
    (DAY1, "E", "N-01", 6, "xray"),
    (DAY1, "N", "N-01", 3, "xray"),
    (DAY1, "N", "S-01", 5, "search"),
    (DAY2, "D", "N-01", 1, "xray"),
    (DAY2, "D", "N-01", 2, "search"),
    (DAY2, "D", "S-01", 4, "xray"),
    (DAY2, "D", "V-01", 6, "leader"),
    (DAY2, "N", "N-02", 1, "search"),
]


def make_entry(day: dt.date, shift: str, post: str, guard: int, skill: str) -> RosterEntry:
    """An entry as the caller builds it: instants in UTC, local times only via the zone."""
    start_time, hours = SHIFTS[shift]
    start = dt.datetime.combine(day, start_time, ZONE).astimezone(dt.UTC)
    place, post_name, post_name_en = POSTS[post]
    employee_no, name, name_en, squad = GUARDS[guard]
    return RosterEntry(
        guard_id=guard,
        employee_no=employee_no,
        guard_name=name,
        guard_name_en=name_en,
        squad=squad,
        post_code=post,
        post_name=post_name,
        post_name_en=post_name_en,
        place_code=place,
        place_name=PLACES[place][0],
        place_name_en=PLACES[place][1],
        skill=skill,
        shift_code=shift,
        start=start,
        end=start + dt.timedelta(hours=hours),
    )


def make_sheet(
    plan: list[tuple[dt.date, str, str, int, str]] = PLAN, version: int = 3
) -> RosterSheet:
    return RosterSheet(
        event_code="WIC2026",
        event_name="世界互联网大会",
        event_name_en="World Internet Conference",
        tz=TZ,
        version=version,
        published_at=dt.datetime(2026, 11, 18, 2, 30, tzinfo=dt.UTC) + dt.timedelta(hours=version),
        entries=tuple(make_entry(*row) for row in plan),
        guards=(GuardRef(7, "G0007", "赵磊", "Zhao Lei"),),
        places=(PlaceRef("W", "西门", "West gate"),),
    )


@pytest.fixture
def sheet() -> RosterSheet:
    return make_sheet()


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]


def render(pdf: bytes, page: int = 0, scale: float = 1.0) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[page].render(scale=scale).to_pil().convert("L")
    finally:
        doc.close()


def ink_fraction(img: Image.Image) -> float:
    """Share of pixels darker than light grey: 0 for a blank page."""
    dark = sum(count for value, count in enumerate(img.histogram()) if value < 160)
    return dark / (img.width * img.height)


def local_hm(instant: dt.datetime) -> str:
    return f"{instant.astimezone(ZONE):%H:%M}"


def assert_size(actual: tuple[float, float], expected: tuple[float, float]) -> None:
    assert actual == pytest.approx(expected, abs=0.5)


# --- the sheet ---------------------------------------------------------------------------


def test_entries_must_be_aware_and_forward() -> None:
    entry = make_entry(*PLAN[0])
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(entry, start=entry.start.replace(tzinfo=None))
    with pytest.raises(ValueError, match="before it starts"):
        dataclasses.replace(entry, end=entry.start)
    with pytest.raises(ValueError, match="time zone"):
        dataclasses.replace(make_sheet(), tz="Mars/Olympus")


def test_night_shift_belongs_to_the_day_it_starts(sheet: RosterSheet) -> None:
    night = next(e for e in sheet.entries if e.shift_code == "N")
    assert sheet.local(night.end).date() == sheet.local_day(night) + dt.timedelta(days=1)
    assert sheet.local_day(night) == DAY1


def test_format_hours_drops_trailing_zeros() -> None:
    assert format_hours(8.0) == "8"
    assert format_hours(7.5) == "7.5"
    assert format_hours(7.25) == "7.25"


# --- a guard's PDF -----------------------------------------------------------------------


def test_person_pdf_lists_the_guards_shifts_in_local_time(sheet: RosterSheet) -> None:
    guard = 1
    mine = sheet.for_guard(guard)
    pdf = person_pdf(sheet, guard)
    text = pdf_text(pdf)
    employee_no, name, _name_en, _squad = GUARDS[guard]
    assert name in text
    assert employee_no in text
    for e in mine:
        assert e.post_name in text
        assert local_hm(e.start) in text
        assert local_hm(e.end) in text
    # The day shift starts at midnight UTC; a UTC rendering would print 00:00.
    assert local_hm(mine[0].start) != f"{mine[0].start:%H:%M}"
    assert "00:00" not in text
    assert f"{format_hours(sum(e.hours for e in mine))}" in text
    days = [sheet.local_day(e).isoformat() for e in mine]
    positions = [text.index(d) for d in dict.fromkeys(days)]
    assert positions == sorted(positions)
    assert f"{sheet.version}" in text
    assert "第 1 页" in text
    for other in {e.guard_name for e in sheet.entries} - {name}:
        assert other not in text
    assert_size(page_sizes(pdf)[0], A4)
    assert ink_fraction(render(pdf)) > 0.005


def test_person_pdf_marks_the_night_shift_as_ending_next_day(sheet: RosterSheet) -> None:
    night = next(e for e in sheet.for_guard(3) if e.shift_code == "N")
    text = pdf_text(person_pdf(sheet, 3))
    assert f"{local_hm(night.start)}\N{EN DASH}{local_hm(night.end)} +1" in text


def test_person_pdf_in_english_puts_english_first(sheet: RosterSheet) -> None:
    zh = pdf_text(person_pdf(sheet, 1, lang="zh-hans"))
    en = pdf_text(person_pdf(sheet, 1, lang="en"))
    assert zh.index("日期") < zh.index("Date")
    assert en.index("Date") < en.index("日期")
    assert en.index("Total hours") < en.index("合计工时")
    assert en.index("Wang Xiaoming") < en.index("王小明")
    assert en.index("Page 1") < en.index("第 1 页")


def test_person_pdf_without_shifts_says_so(sheet: RosterSheet) -> None:
    text = pdf_text(person_pdf(sheet, 7))
    assert "赵磊" in text
    assert "没有排班" in text
    assert "No shifts" in text


def test_person_pdf_refuses_an_unknown_guard_and_language(sheet: RosterSheet) -> None:
    with pytest.raises(ValueError, match="guard 999"):
        person_pdf(sheet, 999)
    with pytest.raises(ValueError, match="language"):
        person_pdf(sheet, 1, lang="fr")


def test_pdfs_are_reproducible(sheet: RosterSheet) -> None:
    assert person_pdf(sheet, 1) == person_pdf(sheet, 1)
    assert wall_chart_pdf(sheet, DAY1) == wall_chart_pdf(sheet, DAY1)


# --- a guard's calendar ------------------------------------------------------------------


def events(ics: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(ics).events)


def test_ics_has_one_event_per_shift_in_the_event_zone(sheet: RosterSheet) -> None:
    guard = 1
    mine = sheet.for_guard(guard)
    ics = person_ics(sheet, guard)
    cal = icalendar.Calendar.from_ical(ics)
    assert str(cal["PRODID"]) == "-//anbao//roster//EN"
    assert str(cal["VERSION"]) == "2.0"
    assert GUARDS[guard][1] in str(cal["X-WR-CALNAME"])
    assert [str(tz["TZID"]) for tz in cal.timezones] == [TZ]
    found = events(ics)
    assert len(found) == len(mine)
    by_uid = {ev.uid: ev for ev in found}
    for e in mine:
        ev = by_uid[shift_uid(sheet.event_code, e)]
        assert ev.get("DTSTART").params["TZID"] == TZ
        start = ev.start
        assert isinstance(start, dt.datetime)
        assert start == e.start
        assert str(start.tzinfo) == TZ
        assert ev.end == e.end
        assert ev.sequence == sheet.version
        assert e.post_name in str(ev["SUMMARY"])
        assert e.place_name in str(ev["LOCATION"])
        assert "X-ray screener" in str(ev["DESCRIPTION"]) or e.skill != "xray"
        assert str(ev["STATUS"]) == "CONFIRMED"
    local_start = f"DTSTART;TZID={TZ}:{mine[0].start.astimezone(ZONE):%Y%m%dT%H%M%S}"
    assert local_start.encode() in ics.replace(b"\r\n ", b"")


def test_ics_uids_are_stable_and_removed_shifts_are_cancelled(sheet: RosterSheet) -> None:
    guard = 1
    dropped = next(row for row in PLAN if row[3] == guard and row[1] == "N")
    added = (DAY2, "E", "N-02", guard, "search")
    newer = make_sheet([*(row for row in PLAN if row != dropped), added], version=4)

    old_uids = {ev.uid for ev in events(person_ics(sheet, guard))}
    removed = removed_entries(sheet, newer)
    assert [(e.guard_id, e.post_code, e.shift_code) for e in removed] == [
        (guard, dropped[2], dropped[1])
    ]
    ics = person_ics(newer, guard, cancelled=removed)
    assert ics == cancelled_ics(sheet, newer, guard)
    new_events = {ev.uid: ev for ev in events(ics)}
    dropped_uid = shift_uid(sheet.event_code, make_entry(*dropped))
    added_uid = shift_uid(sheet.event_code, make_entry(*added))
    assert old_uids - {dropped_uid} <= set(new_events)
    assert added_uid in new_events
    assert added_uid not in old_uids
    assert str(new_events[dropped_uid]["STATUS"]) == "CANCELLED"
    assert new_events[dropped_uid].sequence == newer.version
    live = [ev for ev in new_events.values() if str(ev["STATUS"]) != "CANCELLED"]
    assert len(live) == len(newer.for_guard(guard))
    assert all(ev.sequence == 4 for ev in new_events.values())


def test_ics_cancellations_reach_a_guard_with_no_shifts_left(sheet: RosterSheet) -> None:
    guard = 6
    newer = make_sheet([row for row in PLAN if row[3] != guard], version=4)
    ics = cancelled_ics(sheet, newer, guard)
    found = events(ics)
    assert len(found) == len(sheet.for_guard(guard))
    assert {str(ev["STATUS"]) for ev in found} == {"CANCELLED"}


def test_removed_entries_needs_an_older_publication(sheet: RosterSheet) -> None:
    with pytest.raises(ValueError, match="not older"):
        removed_entries(sheet, sheet)


def test_ics_for_a_guard_without_shifts_is_an_empty_calendar(sheet: RosterSheet) -> None:
    ics = person_ics(sheet, 7)
    assert events(ics) == []
    with pytest.raises(ValueError, match="guard 999"):
        person_ics(sheet, 999)


# --- a checkpoint's PDF and workbook ---------------------------------------------------


def test_checkpoint_pdf_lists_the_places_guards_only(sheet: RosterSheet) -> None:
    place = "N"
    pdf = checkpoint_pdf(sheet, place)
    text = pdf_text(pdf)
    here = {e.guard_name for e in sheet.entries if e.place_code == place}
    elsewhere = {e.guard_name for e in sheet.entries} - here
    assert here
    assert elsewhere
    for name in here:
        assert name in text
    for name in elsewhere:
        assert name not in text
    for e in sheet.for_place(place):
        assert e.post_code in text
        assert e.employee_no in text
    assert "第 1 页 / Page 1" in text
    assert_size(page_sizes(pdf)[0], landscape(A4))
    assert ink_fraction(render(pdf)) > 0.005


def test_checkpoint_pdf_for_one_day(sheet: RosterSheet) -> None:
    place = "N"
    text = pdf_text(checkpoint_pdf(sheet, place, day=DAY2, lang="en"))
    on_day = {e.guard_name for e in sheet.for_place(place) if sheet.local_day(e) == DAY2}
    other_days = {e.guard_name for e in sheet.for_place(place)} - on_day
    assert other_days
    for name in on_day:
        assert name in text
    for name in other_days:
        assert name not in text
    assert text.index("Page 1") < text.index("第 1 页")


def test_checkpoint_documents_for_an_empty_or_unknown_place(sheet: RosterSheet) -> None:
    text = pdf_text(checkpoint_pdf(sheet, "W"))
    assert "西门" in text
    assert "没有排班" in text
    day_text = pdf_text(checkpoint_pdf(sheet, "N", day=DAY2 + dt.timedelta(days=5)))
    assert "当天没有排班" in day_text
    book = openpyxl.load_workbook(io.BytesIO(checkpoint_xlsx(sheet, "W")))
    assert book["Roster 排班"].max_row == 1
    with pytest.raises(ValueError, match="place 'Q'"):
        checkpoint_pdf(sheet, "Q")
    with pytest.raises(ValueError, match="place 'Q'"):
        checkpoint_xlsx(sheet, "Q")


def test_checkpoint_xlsx_reads_back(sheet: RosterSheet) -> None:
    place = "N"
    mine = sheet.for_place(place)
    book = openpyxl.load_workbook(io.BytesIO(checkpoint_xlsx(sheet, place)))
    assert book.sheetnames == ["Roster 排班", "Summary 汇总"]
    ws = book["Roster 排班"]
    header = [c.value for c in ws[1]]
    assert header[:11] == [
        "Date 日期",
        "Shift 班次",
        "Start 开始",
        "End 结束",
        "Post code 岗位代码",
        "Post 岗位",
        "Skill 技能",
        "Employee no. 工号",
        "Name 姓名",
        "Name (English) 英文名",
        "Squad 班组",
    ]
    hours_col = header.index("Hours 工时")
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:")
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(mine)
    assert sum(r[hours_col] for r in rows) == pytest.approx(sum(e.hours for e in mine))
    first = rows[0]
    assert first[2] == mine[0].start.astimezone(ZONE).replace(tzinfo=None)
    assert first[0].date() == sheet.local_day(mine[0])  # Excel stores dates as datetimes
    assert {r[8] for r in rows} == {e.guard_name for e in mine}
    assert ws.column_dimensions["F"].width > ws.column_dimensions["B"].width

    summary = book["Summary 汇总"]
    body = list(summary.iter_rows(min_row=2, values_only=True))
    per_guard, total = body[:-1], body[-1]
    assert len(per_guard) == len({e.guard_id for e in mine})
    for row in per_guard:
        expected = sum(e.hours for e in mine if e.employee_no == row[0])
        assert row[5] == pytest.approx(expected)
    assert total[5] == pytest.approx(sum(e.hours for e in mine))
    assert total[4] == len(mine)


# --- the wall chart ----------------------------------------------------------------------


def test_wall_chart_is_one_a3_landscape_page_with_posts_and_names(sheet: RosterSheet) -> None:
    pdf = wall_chart_pdf(sheet, DAY1)
    assert_size(page_sizes(pdf)[0], landscape(A3))
    assert len(page_sizes(pdf)) == 1
    text = pdf_text(pdf)
    today = [e for e in sheet.entries if sheet.local_day(e) == DAY1]
    for e in today:
        assert e.post_code in text
        assert e.guard_name in text
    absent = {e.guard_name for e in sheet.entries} - {e.guard_name for e in today}
    for name in absent:
        assert name not in text
    assert "值班总表" in text
    assert ink_fraction(render(pdf, scale=0.5)) > 0.01


def test_wall_chart_shows_the_night_shift_from_the_day_before(sheet: RosterSheet) -> None:
    text = pdf_text(wall_chart_pdf(sheet, DAY2, lang="en"))
    overnight = [e for e in sheet.entries if sheet.local_day(e) == DAY1 and e.shift_code == "N"]
    assert overnight
    for e in overnight:
        assert e.guard_name_en in text
    assert text.index("Duty wall chart") < text.index("值班总表")


def test_wall_chart_runs_on_to_more_pages_for_many_posts() -> None:
    base = make_entry(*PLAN[0])
    entries = tuple(
        dataclasses.replace(
            base,
            guard_id=100 + i,
            employee_no=f"E{i:04d}",
            guard_name=f"保安{i:03d}",
            post_code=f"P-{i:03d}",
            place_code=f"Z{i // 20}",
            place_name=f"区域{i // 20}",
        )
        for i in range(90)
    )
    big = dataclasses.replace(make_sheet(), entries=entries)
    pdf = wall_chart_pdf(big, DAY1)
    sizes = page_sizes(pdf)
    assert len(sizes) > 1
    text = pdf_text(pdf)
    for e in entries:
        assert e.post_code in text
        assert e.guard_name in text
    assert f"Page {len(sizes)} of {len(sizes)}" in text


def test_wall_chart_for_a_day_without_shifts(sheet: RosterSheet) -> None:
    pdf = wall_chart_pdf(sheet, DAY2 + dt.timedelta(days=10))
    assert len(page_sizes(pdf)) == 1
    assert "当天没有排班" in pdf_text(pdf)


def test_wall_chart_on_a_daylight_saving_day() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    day = dt.date(2026, 3, 29)  # clocks go from 02:00 to 03:00
    base = make_entry(*PLAN[0])
    start = dt.datetime.combine(day, dt.time(0), berlin)
    night = dataclasses.replace(base, start=start, end=dt.datetime.combine(day, dt.time(6), berlin))
    assert night.hours == 5
    sheet = dataclasses.replace(make_sheet(), tz="Europe/Berlin", entries=(night,))
    text = pdf_text(wall_chart_pdf(sheet, day, lang="en"))
    assert night.guard_name_en in text
    assert "00:00\N{EN DASH}06:00" in text


def test_wall_chart_legend_lists_every_shift_of_the_day() -> None:
    base = make_entry(*PLAN[0])
    codes = [f"S{i}" for i in range(12)]
    entries = tuple(
        dataclasses.replace(
            base,
            guard_id=200 + i,
            post_code=f"L-{i:02d}",
            shift_code=code,
            start=base.start + dt.timedelta(hours=i),
            end=base.start + dt.timedelta(hours=i + 3),
        )
        for i, code in enumerate(codes)
    )
    sheet = dataclasses.replace(make_sheet(), entries=entries)
    text = pdf_text(wall_chart_pdf(sheet, DAY1, lang="en"))
    for i, code in enumerate(codes):
        start = entries[i].start.astimezone(ZONE)
        assert f"Shift 班次 {code}  {start:%H:%M}" in text
