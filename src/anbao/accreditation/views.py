"""Accreditation office pages: the list with bulk actions, the person page, the vetting queue."""

from __future__ import annotations

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
from anbao.accounts.roles import Cap
from anbao.accreditation import issuance
from anbao.accreditation import services as office
from anbao.accreditation.bulk import bulk_advance
from anbao.accreditation.models import AccreditationStatus
from anbao.core import audit
from anbao.core.errors import DomainError
from anbao.sites import services as sites

PAGE_SIZE = 50
# Bulk actions offered on the list, as target statuses of the lifecycle.
BULK_ACTIONS = {
    "vet": AccreditationStatus.VETTED,
    "approve": AccreditationStatus.APPROVED,
    "suspend": AccreditationStatus.SUSPENDED,
    "revoke": AccreditationStatus.REVOKED,
}


class SearchForm(forms.Form):
    """Filters of the accreditation list."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *AccreditationStatus.choices]
    )
    category = forms.CharField(label=_("Category"), required=False, max_length=10)


def _can_edit(request: HttpRequest) -> bool:
    return bool(request.user.can(Cap.ACCREDITATION_EDIT))  # type: ignore[union-attr]


@cap_required(Cap.ACCREDITATION_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """List the event's accreditations, searchable and filterable, with bulk actions."""
    form = SearchForm(request.GET or None)
    event = sites.current_event()
    context: dict[str, Any] = {
        "form": form,
        "event": event,
        "page": None,
        "can_edit": _can_edit(request),
        "bulk_actions": BULK_ACTIONS,
    }
    if event is not None and (not form.is_bound or form.is_valid()):
        data = form.cleaned_data if form.is_bound else {}
        rows = office.search_accreditations(
            event=event,
            status=data.get("status", ""),
            category=data.get("category", ""),
            q=data.get("q", ""),
        )
        context["page"] = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accreditation/index.html", context)


@cap_required(Cap.ACCREDITATION_VIEW)
def vetting_queue(request: HttpRequest) -> HttpResponse:
    """List accreditations waiting for a police vetting result."""
    event = sites.current_event()
    rows = (
        office.search_accreditations(event=event, status=AccreditationStatus.APPLIED).filter(
            category__vetting_required=True
        )
        if event is not None
        else None
    )
    page = (
        Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")) if rows is not None else None
    )
    return render(request, "accreditation/vetting.html", {"event": event, "page": page})


@cap_required(Cap.ACCREDITATION_EDIT)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Apply one lifecycle step to the selected accreditations (e.g. bulk approval)."""
    target = BULK_ACTIONS.get(request.POST.get("action", ""))
    back = request.POST.get("next") or reverse("accreditation:index")
    if not back.startswith("/"):
        back = reverse("accreditation:index")
    try:
        ids = [int(v) for v in request.POST.getlist("ids")][:5000]
    except ValueError:
        ids = []
    if target is None or not ids:
        messages.error(request, gettext("Choose an action and at least one accreditation."))
        return HttpResponseRedirect(back)
    result = bulk_advance(ids, to=target, note=request.POST.get("note", "")[:500])
    if result.done:
        messages.success(request, gettext("%(n)d accreditations moved.") % {"n": len(result.done)})
    for problem in result.problems[:20]:
        messages.warning(request, f"#{problem.field}: {problem.message}")
    return HttpResponseRedirect(back)


def _person(pk: int) -> Any:
    try:
        return office.get_person(pk)
    except DomainError as exc:
        raise Http404(exc.message) from exc


@cap_required(Cap.ACCREDITATION_VIEW)
def person(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a person: masked identity, photo, accreditations with their history, attestations."""
    subject = _person(pk)
    revealed = None
    if request.method == "POST" and request.POST.get("action") == "reveal":
        try:
            revealed = office.reveal_person(subject, user=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
    accreditations = subject.accreditations.select_related("category").prefetch_related(
        "steps", "zones", "venues"
    )
    context = {
        "subject": subject,
        "revealed": revealed,
        "may_reveal": office.may_reveal(request.user),
        "can_edit": _can_edit(request),
        "accreditations": [
            {
                "acc": acc,
                "targets": [
                    (value, label)
                    for value, label in AccreditationStatus.choices
                    if value in office.allowed_targets(acc)
                ],
                "credential": issuance.active_credential(acc),
            }
            for acc in accreditations
        ],
        "attestations": subject.attestations.order_by("-observed_at")[:50],
    }
    return render(request, "accreditation/person.html", context)


@cap_required(Cap.ACCREDITATION_VIEW)
def person_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a person's photo (decrypted), auditing the read."""
    subject = _person(pk)
    data = bytes(subject.photo or b"")
    if not data:
        raise Http404("no photo")
    audit.record_read("photo", obj=subject)
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@cap_required(Cap.ACCREDITATION_EDIT)
@require_POST
def transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one accreditation along its lifecycle, then go back to its person."""
    try:
        acc = office.get_accreditation(pk)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    try:
        office.transition(
            acc, to=request.POST.get("to", ""), note=request.POST.get("note", "")[:500]
        )
        messages.success(request, gettext("Status changed."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("accreditation:person", args=[acc.person_id]))
