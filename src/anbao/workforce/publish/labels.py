"""Bilingual labels shared by every roster document: Chinese and English, either one first."""

from __future__ import annotations

import datetime as dt

from anbao.workforce.publish.sheets import Lang

__all__ = [
    "DASH",
    "LABELS",
    "bilingual",
    "label",
    "ordered",
    "page_label",
    "weekday",
    "weekday_pair",
]

#: Between the two ends of a time range (an en dash, as in print).
DASH = "\N{EN DASH}"

#: Label key -> (Chinese, English).
LABELS: dict[str, tuple[str, str]] = {
    "person_title": ("个人排班表", "Personal roster"),
    "checkpoint_title": ("岗点排班表", "Checkpoint roster"),
    "wall_title": ("值班总表", "Duty wall chart"),
    "employee_no": ("工号", "Employee no."),
    "squad": ("班组", "Squad"),
    "version": ("版本", "Version"),
    "published": ("发布时间", "Published"),
    "tz": ("时区", "Time zone"),
    "date": ("日期", "Date"),
    "weekday": ("星期", "Day"),
    "time": ("时间", "Time"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "place": ("地点", "Place"),
    "post_code": ("岗位代码", "Post code"),
    "post": ("岗位", "Post"),
    "skill": ("技能", "Skill"),
    "hours": ("工时", "Hours"),
    "total_hours": ("合计工时", "Total hours"),
    "total": ("合计", "Total"),
    "shift": ("班次", "Shift"),
    "shifts": ("班次数", "Shifts"),
    "guard": ("姓名", "Name"),
    "guard_en": ("英文名", "Name (English)"),
    "note": ("备注", "Note"),
    "guards": ("人数", "Guards"),
    "legend": ("图例", "Legend"),
    "continued": ("续", "continued"),
    "from_before": ("前一天开始", "started the day before"),
    "to_after": ("次日结束", "ends the next day"),
    "no_shifts": ("本次发布中没有排班。", "No shifts in this publication."),
    "no_shifts_day": ("当天没有排班。", "No shifts on this day."),
}

_ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def ordered(lang: Lang, zh: str, en: str) -> tuple[str, str]:
    """Return (primary, secondary) text for a language; an empty side falls back to the other."""
    zh = zh or en
    en = en or zh
    return (zh, en) if lang == "zh-hans" else (en, zh)


def bilingual(lang: Lang, zh: str, en: str, sep: str = " ") -> str:
    """Return plain "primary secondary" text, once if both languages read the same."""
    primary, secondary = ordered(lang, zh, en)
    return primary if primary == secondary else f"{primary}{sep}{secondary}"


def label(lang: Lang, key: str, sep: str = " ") -> str:
    """Return a bilingual label from :data:`LABELS` as plain text."""
    zh, en = LABELS[key]
    return bilingual(lang, zh, en, sep)


def weekday_pair(day: dt.date) -> tuple[str, str]:
    """Return the (Chinese, English) weekday of ``day``."""
    i = day.weekday()
    return _ZH_WEEKDAYS[i], _EN_WEEKDAYS[i]


def weekday(lang: Lang, day: dt.date) -> str:
    """Return the weekday of ``day``, bilingual ("周一 Mon")."""
    return bilingual(lang, *weekday_pair(day))


def page_label(lang: Lang, number: int, total: int | None = None) -> str:
    """Return the page footer, "第 n 页 / Page n" (or "… / 共 N 页" with a total)."""
    if total is None:
        zh, en = f"第 {number} 页", f"Page {number}"
    else:
        zh, en = f"第 {number} 页 / 共 {total} 页", f"Page {number} of {total}"
    return bilingual(lang, zh, en, " / ")
