"""Background vetting: apply the police's result files and drive the lifecycle from them.

A result file (CSV or .xlsx) has the columns ``id_number``, ``result`` (cleared, refused,
pending; 通过, 不通过, 待定), ``reference`` and ``date``. Each row is stored as a ``vetting``
attestation of the person, then:

- cleared: an ``applied`` accreditation goes to ``vetted``;
- refused: the accreditation is revoked, with the reference as the reason;
- pending: it stays, flagged ``vetting_pending``.

Rows that cannot be applied are listed as (row, column, reason); the others are applied in
one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from anbao.accreditation import events, services
from anbao.accreditation.importing import (
    ImportFileError,
    RowProblem,
    nfkc,
    normalise_id,
    parse_date,
    read_table,
)
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    AttestationKind,
)
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.models import Event

RESULTS = {
    "cleared": "cleared",
    "clear": "cleared",
    "通过": "cleared",
    "refused": "refused",
    "refuse": "refused",
    "不通过": "refused",
    "pending": "pending",
    "待定": "pending",
}
_HEADERS = {
    "id_number": ("id_number", "证件号码", "身份证号"),
    "result": ("result", "结果", "审查结果"),
    "reference": ("reference", "ref", "编号", "文号"),
    "date": ("date", "日期"),
}


@dataclass
class VettingReport:
    """How a vetting file went: counts per result and the rows not applied."""

    cleared: int = 0
    refused: int = 0
    pending: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def _columns(headers: list[str]) -> tuple[dict[str, int], list[RowProblem]]:
    cols: dict[str, int] = {}
    for i, head in enumerate(headers):
        key = nfkc(head).casefold().replace(" ", "_")
        for name, aliases in _HEADERS.items():
            if key in aliases:
                cols[name] = i
    missing = [
        RowProblem(1, name, "import.missing_column", f"required column {name} is missing")
        for name in ("id_number", "result")
        if name not in cols
    ]
    return cols, missing


def import_vetting(*, data: bytes, filename: str, event: Event | None = None) -> VettingReport:
    """Apply a police vetting result file to the event's accreditations."""
    from anbao.sites import services as sites

    ev = event or sites.current_event()
    if ev is None:
        raise DomainError("accreditation.no_event", "Load a site first: there is no event.")
    try:
        table = read_table(data, filename)
    except ImportFileError as exc:
        raise DomainError(exc.code, exc.message) from exc
    cols, missing = _columns(table.headers)
    if missing:
        raise DomainError(
            "import.missing_column",
            "The vetting file lacks required columns.",
            problems=[FieldProblem(p.column, p.message, p.code, "row 1") for p in missing],
        )
    report = VettingReport()
    tz = ZoneInfo(ev.time_zone)
    with transaction.atomic():
        for offset, raw in enumerate(table.rows):
            cells = {k: (raw[i] if i < len(raw) else None) for k, i in cols.items()}
            if all(nfkc(v) == "" for v in cells.values()):
                continue
            _apply_row(ev, offset + 2, cells, tz, report)
        audit.record(
            "accreditation.vetting_import",
            object_type="accreditation.vetting",
            object_id=ev.code,
            after={"cleared": report.cleared, "refused": report.refused, "pending": report.pending},
        )
        bus.publish(events.VettingImported(ev.pk, report.cleared, report.refused, report.pending))
    return report


def _apply_row(
    ev: Event, rowno: int, cells: dict[str, Any], tz: ZoneInfo, report: VettingReport
) -> None:
    def bad(column: str, code: str, message: str) -> None:
        report.problems.append(RowProblem(rowno, column, code, message))

    result = RESULTS.get(nfkc(cells.get("result")).casefold())
    if result is None:
        bad("result", "vetting.invalid_result", "result must be cleared, refused or pending")
        return
    when = clock.now()
    if nfkc(cells.get("date")):
        try:
            when = datetime.combine(parse_date(cells["date"]), time(12), tzinfo=tz)
        except ValueError as exc:
            bad("date", "import.invalid_date", str(exc))
            return
    number = normalise_id("", cells.get("id_number"))
    acc = (
        Accreditation.objects.select_related("person", "category")
        .filter(event=ev, person__id_index=services.id_index(number))
        .first()
        if number
        else None
    )
    if acc is None:
        bad("id_number", "vetting.unknown_person", "no accreditation with this ID number")
        return
    reference = nfkc(cells.get("reference"))[:100]
    services.record_attestation(
        person=acc.person,
        kind=AttestationKind.VETTING,
        value={"result": result, "reference": reference},
        observed_at=when,
        source="police",
    )
    s = AccreditationStatus
    if result == "cleared":
        if acc.status == s.APPLIED:
            services.transition(acc, to=s.VETTED, note=f"vetting cleared {reference}".strip())
            report.cleared += 1
        else:
            report.unchanged += 1
    elif result == "refused":
        if acc.status == s.REVOKED:
            report.unchanged += 1
        else:
            services.transition(acc, to=s.REVOKED, note=f"vetting refused {reference}".strip())
            report.refused += 1
    else:
        acc.flag, acc.flag_note = "vetting_pending", reference
        acc.save(update_fields=["flag", "flag_note"])
        audit.record("accreditation.vetting_pending", obj=acc, after={"reference": reference})
        report.pending += 1


def report_dict(report: VettingReport) -> dict[str, Any]:
    """Return a vetting report as a JSON-ready dict."""
    return {
        "cleared": report.cleared,
        "refused": report.refused,
        "pending": report.pending,
        "unchanged": report.unchanged,
        "problems": [p.as_dict() for p in report.problems],
    }
