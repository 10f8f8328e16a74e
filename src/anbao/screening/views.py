"""Screening pages: checkpoints, the leader's checkpoint page, the seizure log, statistics."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from anbao.accounts.decorators import cap_required
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core.errors import DomainError
from anbao.screening import lanes, records, stats
from anbao.screening.models import Disposition, EquipmentKind, EquipmentStatus, Seizure
from anbao.sites import services as sites
from anbao.sites.models import Checkpoint, Event, LaneKind

SEIZURE_PAGE_SIZE = 50


@cap_required(Cap.SCREENING_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the checkpoints with their lanes."""
    event = sites.current_event()
    checkpoints = sites.list_checkpoints(event) if event is not None else []
    return render(request, "screening/index.html", {"event": event, "checkpoints": checkpoints})


def _checkpoint(code: str) -> Checkpoint:
    try:
        return sites.get_checkpoint(sites.get_event(), code)
    except DomainError as exc:
        raise Http404(exc.message) from exc


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # cap_required let only users in


def _labelled(summary: dict[str, Any]) -> dict[str, Any]:
    """Add the words the page shows for codes (lane kind, equipment) and the wait in minutes."""
    lane_kinds = dict(LaneKind.choices)
    kinds = dict(EquipmentKind.choices)
    statuses = dict(EquipmentStatus.choices)
    for lane in summary["lanes"]:
        lane["kind_label"] = lane_kinds.get(lane["kind"], lane["kind"])
        wait = lane["queue"]["wait_s"]
        lane["queue"]["wait_min"] = None if wait is None else math.ceil(wait / 60)
        for f in lane["faults"]:
            f["kind_label"] = kinds.get(f["kind"], f["kind"])
            f["status_label"] = statuses.get(f["status"], f["status"])
    return summary


def _checkpoint_context(request: HttpRequest, code: str) -> dict[str, Any]:
    cp = _checkpoint(code)
    return {
        "checkpoint": cp,
        "summary": _labelled(lanes.checkpoint_summary(cp)),
        "can_lead": _user(request).can(Cap.SCREENING_LEAD),
        "skew_alert_s": int(lanes.SKEW_ALERT_S),
    }


@cap_required(Cap.SCREENING_VIEW)
def checkpoint(request: HttpRequest, code: str) -> HttpResponse:
    """Show the checkpoint leader's page: lanes, throughput, queues, denials, conflicts, gates."""
    return render(request, "screening/checkpoint.html", _checkpoint_context(request, code))


@cap_required(Cap.SCREENING_VIEW)
def checkpoint_live(request: HttpRequest, code: str) -> HttpResponse:
    """Render the live part of the checkpoint page, fetched again every few seconds."""
    return render(request, "screening/_checkpoint_live.html", _checkpoint_context(request, code))


@cap_required(Cap.SCREENING_LEAD)
@require_POST
def lane_toggle(request: HttpRequest, code: str, lane: str) -> HttpResponse:
    """Open or close a lane, then go back to its checkpoint page."""
    back = reverse("screening:checkpoint", args=[code])
    try:
        row = lanes.get_lane(code, lane)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    want_open = request.POST.get("open") == "1"
    try:
        lanes.set_lane_open(
            row, want_open, user=_user(request), note=request.POST.get("note", "")[:200]
        )
        if want_open:
            messages.success(request, gettext("Lane %(lane)s is open.") % {"lane": row.name})
        else:
            messages.success(request, gettext("Lane %(lane)s is closed.") % {"lane": row.name})
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(back)


@cap_required(Cap.SCREENING_LEAD)
@require_POST
def conflict_resolve(request: HttpRequest, code: str, conflict_id: int) -> HttpResponse:
    """Resolve an offline double-entry conflict, then go back to the checkpoint page."""
    cp = _checkpoint(code)
    try:
        lanes.resolve_conflict(
            conflict_id,
            request.POST.get("resolution", "")[:200],
            user=_user(request),
            checkpoint=cp,
        )
        messages.success(request, gettext("Conflict resolved."))
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("screening:checkpoint", args=[code]))


# --- seizure log and deposit desk ----------------------------------------------------------


def _checkpoint_choices(event: Event | None) -> list[tuple[str, Any]]:
    rows = sites.list_checkpoints(event) if event is not None else []
    return [("", _("All checkpoints")), *[(c.code, f"{c.code} · {c.name}") for c in rows]]


class SeizureFilterForm(forms.Form):
    """The seizure log's filters: checkpoint, local day, class and disposition."""

    checkpoint = forms.ChoiceField(label=_("Checkpoint"), required=False)
    day = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    item_class = forms.ChoiceField(
        label=_("Class"),
        required=False,
        choices=[
            ("", _("All")),
            ("prohibited", _("Prohibited (禁)")),
            ("restricted", _("Restricted (限)")),
        ],
    )
    disposition = forms.ChoiceField(
        label=_("Disposition"), required=False, choices=[("", _("All")), *Disposition.choices]
    )

    def __init__(self, *args: Any, event: Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["checkpoint"].choices = _checkpoint_choices(event)  # type: ignore[attr-defined]


def _seizure_rows(event: Event, form: SeizureFilterForm) -> Any:
    data = form.cleaned_data
    cp = sites.get_checkpoint(event, data["checkpoint"]) if data.get("checkpoint") else None
    return stats.seizure_log(
        checkpoint=cp,
        day=data.get("day"),
        item_class=data.get("item_class") or None,
        disposition=data.get("disposition") or None,
        time_zone=event.time_zone,
    )


@cap_required(Cap.SCREENING_VIEW)
def seizures(request: HttpRequest) -> HttpResponse:
    """Show the seizure log with filters, and the deposit desk: ticket look-up, unclaimed items."""
    event = sites.current_event()
    params = request.GET.copy()
    ticket = params.pop("ticket", [""])[-1].strip()[:20]
    form = SeizureFilterForm(params or None, event=event)
    context: dict[str, Any] = {
        "event": event,
        "form": form,
        "page": None,
        "ticket": ticket,
        "deposit": None,
        "deposit_error": "",
        "unclaimed": [],
        "can_operate": _user(request).can(Cap.SCREENING_OPERATE),
        "checkpoints": sites.list_checkpoints(event) if event is not None else [],
    }
    if event is None:
        return render(request, "screening/seizures.html", context)
    if not form.is_bound or form.is_valid():
        rows = _seizure_rows(event, form) if form.is_bound else stats.seizure_log()
        context["page"] = Paginator(rows, SEIZURE_PAGE_SIZE).get_page(request.GET.get("page"))
    if ticket:
        try:
            context["deposit"] = records.get_deposit(ticket)
        except DomainError as exc:
            context["deposit_error"] = exc.message
    context["unclaimed"] = stats.unclaimed_deposits()[:200]
    return render(request, "screening/seizures.html", context)


@cap_required(Cap.SCREENING_OPERATE)
@require_POST
def deposit_return(request: HttpRequest) -> HttpResponse:
    """Hand a deposited item back on exit, then show its ticket at the desk."""
    ticket = request.POST.get("ticket", "").strip()[:20]
    back = reverse("screening:seizures") + (f"?ticket={ticket}" if ticket.isalnum() else "")
    try:
        checkpoint = sites.get_checkpoint(sites.get_event(), request.POST.get("checkpoint", ""))
        seizure: Seizure = records.return_deposit(
            ticket, at_checkpoint=checkpoint, operator=_user(request)
        )
        messages.success(
            request, gettext("Ticket %(ticket)s returned.") % {"ticket": seizure.ticket}
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(back)


# --- statistics ----------------------------------------------------------------------------


class StatisticsForm(forms.Form):
    """The statistics page's choice of local day and checkpoint."""

    day = forms.DateField(
        label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    checkpoint = forms.ChoiceField(label=_("Checkpoint"), required=False)

    def __init__(self, *args: Any, event: Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["checkpoint"].choices = _checkpoint_choices(event)  # type: ignore[attr-defined]


@cap_required(Cap.SCREENING_VIEW)
def statistics(request: HttpRequest) -> HttpResponse:
    """Screening statistics per checkpoint for a local day, by subject, reason and item."""
    event = sites.current_event()
    form = StatisticsForm(request.GET or None, event=event)
    context: dict[str, Any] = {"event": event, "form": form, "rows": None, "day": None}
    if event is not None and (not form.is_bound or form.is_valid()):
        data = form.cleaned_data if form.is_bound else {}
        day = data.get("day") or stats.local_today(event.time_zone)
        cp = sites.get_checkpoint(event, data["checkpoint"]) if data.get("checkpoint") else None
        context["day"] = day
        context["rows"] = stats.statistics(event, day, checkpoint=cp)
    return render(request, "screening/statistics.html", context)
