"""Publishing rosters: the files guards and supervisors get from a roster publication.

Pure (no Django): the caller builds a :class:`RosterSheet` from the published roster and
turns it into a guard's PDF and calendar, a checkpoint's PDF and workbook, or the day's
wall chart. All times are shown in the event's time zone.
"""

from anbao.workforce.publish.ics import cancelled_ics, person_ics, removed_entries, shift_uid
from anbao.workforce.publish.pdf import checkpoint_pdf, person_pdf
from anbao.workforce.publish.sheets import (
    LANGS,
    SKILL_LABELS,
    GuardRef,
    Lang,
    PlaceRef,
    RosterEntry,
    RosterSheet,
    format_hours,
)
from anbao.workforce.publish.wallchart import wall_chart_pdf
from anbao.workforce.publish.xlsx import checkpoint_xlsx

__all__ = [
    "LANGS",
    "SKILL_LABELS",
    "GuardRef",
    "Lang",
    "PlaceRef",
    "RosterEntry",
    "RosterSheet",
    "cancelled_ics",
    "checkpoint_pdf",
    "checkpoint_xlsx",
    "format_hours",
    "person_ics",
    "person_pdf",
    "removed_entries",
    "shift_uid",
    "wall_chart_pdf",
]
