"""A guard's shifts as an iCalendar (RFC 5545) file for phones and desktop calendars.

Calendar apps match events by UID and keep the copy with the highest SEQUENCE. A shift's UID
is built from the event, the guard, the shift's start (UTC) and the post, so it stays the same
from one publication to the next; SEQUENCE is the publication number, so every new
publication replaces what a subscribed calendar holds. A shift that is gone from the new
publication is sent once more with ``STATUS:CANCELLED`` so that the app deletes it, rather
than being left out (which most apps would read as "no news").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from urllib.parse import quote

from icalendar import Calendar, Event

from anbao.workforce.publish.labels import LABELS, bilingual
from anbao.workforce.publish.sheets import RosterEntry, RosterSheet, skill_label

__all__ = ["PRODID", "cancelled_ics", "person_ics", "removed_entries", "shift_uid"]

PRODID = "-//anbao//roster//EN"
#: How often subscribed calendars should fetch the feed again.
REFRESH = dt.timedelta(hours=1)


def shift_uid(event_code: str, entry: RosterEntry) -> str:
    """Return the UID of a guard's shift on a post: stable across publications."""
    start = entry.start.astimezone(dt.UTC)
    # Quote rather than strip odd characters, so two different post codes never share a UID.
    post = quote(entry.post_code, safe="-._~")
    event = quote(event_code, safe="-._~")
    return f"{event}-{entry.guard_id}-{start:%Y%m%dT%H%MZ}-{post}@anbao"


def removed_entries(previous: RosterSheet, current: RosterSheet) -> tuple[RosterEntry, ...]:
    """Return the entries of ``previous`` whose shift (by UID) is not in ``current``."""
    if previous.event_code != current.event_code:
        raise ValueError(
            f"publications of different events: {previous.event_code} and {current.event_code}"
        )
    if previous.version >= current.version:
        raise ValueError(
            f"previous version {previous.version} is not older than version {current.version}"
        )
    live = {shift_uid(current.event_code, e) for e in current.entries}
    return tuple(
        sorted(
            (e for e in previous.entries if shift_uid(previous.event_code, e) not in live),
            key=lambda e: e.sort_key,
        )
    )


def _label(key: str) -> str:
    zh, en = LABELS[key]
    return f"{zh} {en}"


def _event(sheet: RosterSheet, entry: RosterEntry, *, cancelled: bool) -> Event:
    zone = sheet.zone
    post = bilingual("zh-hans", entry.post_name, entry.post_name_en)
    place = bilingual("zh-hans", entry.place_name, entry.place_name_en)
    summary = f"{post} — {place}"
    if cancelled:
        summary = f"已取消 Cancelled: {summary}"
    lines = [
        f"{_label('skill')}: {bilingual('zh-hans', *skill_label(entry.skill))}",
        f"{_label('shift')}: {entry.shift_code}",
        f"{_label('post_code')}: {entry.post_code}",
    ]
    if entry.squad:
        lines.append(f"{_label('squad')}: {entry.squad}")
    if entry.note:
        lines.append(f"{_label('note')}: {entry.note}")
    lines.append(f"{_label('version')}: {sheet.version}")

    event = Event()
    event.add("uid", shift_uid(sheet.event_code, entry))
    event.add("dtstamp", sheet.published_at.astimezone(dt.UTC))
    event.add("last-modified", sheet.published_at.astimezone(dt.UTC))
    event.add("sequence", sheet.version)
    # Local times with a TZID, so a guard's phone in another zone still shows the event's hours.
    event.add("dtstart", entry.start.astimezone(zone))
    event.add("dtend", entry.end.astimezone(zone))
    event.add("summary", summary)
    event.add("location", place)
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return event


def person_ics(
    sheet: RosterSheet, guard_id: int, *, cancelled: Iterable[RosterEntry] = ()
) -> bytes:
    """Return a guard's shifts as a VCALENDAR, plus cancellations for ``cancelled`` entries.

    ``cancelled`` is usually :func:`removed_entries` of the previous publication; entries of
    other guards, and shifts still in ``sheet``, are ignored. A guard with neither shifts nor
    cancellations gives a valid empty calendar if named in ``sheet.guards``; a guard unknown to
    the sheet and to ``cancelled`` raises ValueError.
    """
    mine_cancelled = [e for e in cancelled if e.guard_id == guard_id]
    entries = sheet.for_guard(guard_id)
    if entries or not mine_cancelled:
        guard_name = sheet.guard_ref(guard_id).guard_name
    else:
        guard_name = mine_cancelled[0].guard_name
    live = {shift_uid(sheet.event_code, e) for e in entries}
    gone: dict[str, RosterEntry] = {}
    for e in sorted(mine_cancelled, key=lambda e: e.sort_key):
        uid = shift_uid(sheet.event_code, e)
        if uid not in live:
            gone.setdefault(uid, e)

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event_name = bilingual("zh-hans", sheet.event_name, sheet.event_name_en)
    cal.add("x-wr-calname", f"{guard_name} 排班 Roster — {event_name}")
    cal.add("x-wr-timezone", sheet.tz)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for entry in entries:
        cal.add_component(_event(sheet, entry, cancelled=False))
    for entry in gone.values():
        cal.add_component(_event(sheet, entry, cancelled=True))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def cancelled_ics(previous: RosterSheet, current: RosterSheet, guard_id: int) -> bytes:
    """Return a guard's calendar for ``current`` with the shifts removed since ``previous``."""
    return person_ics(current, guard_id, cancelled=removed_entries(previous, current))
