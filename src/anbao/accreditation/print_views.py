"""The print queue: choose badges, warn before reprints, run a job with progress, download."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.accreditation import badge_templates, printing
from anbao.accreditation import badges as B
from anbao.accreditation import services as office
from anbao.accreditation.models import AccreditationStatus, BadgeTemplate, PrintJob
from anbao.core.errors import DomainError
from anbao.sites import services as sites


@cap_required(Cap.ACCREDITATION_VIEW)
def print_queue(request: HttpRequest) -> HttpResponse:
    """List the badges waiting to be printed, the recent jobs, and the form to start one."""
    event = sites.current_event()
    waiting = (
        office.search_accreditations(event=event, status=AccreditationStatus.ISSUED)
        if event is not None
        else None
    )
    context: dict[str, Any] = {
        "event": event,
        "page": Paginator(waiting, 50).get_page(request.GET.get("page")) if waiting else None,
        "jobs": PrintJob.objects.order_by("-created_at")[:20],
        "templates": BadgeTemplate.objects.order_by("name"),
        "can_edit": bool(request.user.can(Cap.ACCREDITATION_EDIT)),  # type: ignore[union-attr]
    }
    return render(request, "accreditation/print_queue.html", context)


@cap_required(Cap.ACCREDITATION_EDIT)
@require_POST
def start_job(request: HttpRequest) -> HttpResponse:
    """Start a print job in the background; a reprint needs an explicit confirmation."""
    category = request.POST.get("category", "").strip().upper()[:10] or None
    only_new = request.POST.get("only_new") == "1"
    try:
        job = printing.start_print_job(
            category=category,
            only_new=only_new,
            template=request.POST.get("template") or None,
            allow_reprint=request.POST.get("allow_reprint") == "1",
            imposition="a4" if request.POST.get("imposition") == "a4" else "single",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("accreditation:print_queue"))
    return HttpResponseRedirect(reverse("accreditation:print_job", args=[job.pk]))


@cap_required(Cap.ACCREDITATION_VIEW)
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a print job's progress (the page refreshes itself while the job runs)."""
    try:
        job = printing.get_job(pk)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    return render(request, "accreditation/print_job.html", {"job": job})


@cap_required(Cap.ACCREDITATION_EDIT)
def job_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Download a finished job's PDF (or zip of PDFs); the read is audited."""
    try:
        path, content_type = printing.job_output(printing.get_job(pk))
    except DomainError as exc:
        raise Http404(exc.message) from exc
    return FileResponse(path.open("rb"), content_type=content_type, as_attachment=True,
                        filename=path.name)  # fmt: skip


@cap_required(Cap.ACCREDITATION_EDIT)
@require_POST
def collect(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a badge handed over at the desk, after the holder's ID was checked."""
    try:
        acc = office.get_accreditation(pk)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    try:
        printing.record_collection(
            accreditation=acc,
            id_checked=request.POST.get("id_checked") == "1",
            note=request.POST.get("note", "")[:200],
        )
        messages.success(request, gettext("Collection recorded."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("accreditation:person", args=[acc.person_id]))


def _layout_text(template: Any) -> str:
    return json.dumps(template.layout if template else B.default_layout_document(), indent=2,
                      ensure_ascii=False)  # fmt: skip


@cap_required(Cap.ACCREDITATION_VIEW)
def template_editor(request: HttpRequest) -> HttpResponse:
    """Edit a badge template's JSON layout, with a preview of a sample badge."""
    name = (request.POST.get("name") or request.GET.get("name") or "").strip()[:80]
    template = BadgeTemplate.objects.filter(name=name).first() if name else None
    context: dict[str, Any] = {
        "templates": BadgeTemplate.objects.order_by("name"),
        "name": name,
        "can_edit": bool(request.user.can(Cap.ACCREDITATION_EDIT)),  # type: ignore[union-attr]
        "text": _layout_text(template),
    }
    if request.method == "POST":
        if not context["can_edit"]:
            context["error"] = gettext("Your role may not change badge templates.")
        else:
            context["text"] = request.POST.get("layout", "")
            try:
                layout = json.loads(context["text"])
                if not name:
                    raise DomainError("badges.name_required", gettext("Give the template a name."))
                badge_templates.save_template(name=name, layout=layout, template=template)
                messages.success(request, gettext("Template saved."))
            except json.JSONDecodeError as exc:
                context["error"] = gettext("Not valid JSON: %(msg)s") % {"msg": exc}
            except DomainError as exc:
                context["error"], context["problems"] = exc.message, exc.problems
    return render(request, "accreditation/badge_template.html", context)


@cap_required(Cap.ACCREDITATION_VIEW)
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """Render the layout being edited as a PNG preview fragment (htmx, on each change)."""
    try:
        layout = json.loads(request.POST.get("layout", ""))
        sides = []
        count = layout.get("sides", 1) if isinstance(layout, dict) else 1
        for side in range(2 if count == 2 else 1):
            png = badge_templates.preview(layout=layout, fmt="png", side=side)
            sides.append(base64.b64encode(png).decode("ascii"))
        return render(request, "accreditation/_badge_preview.html", {"sides": sides})
    except (json.JSONDecodeError, AttributeError, TypeError):
        error = gettext("Not valid JSON yet.")
        return render(request, "accreditation/_badge_preview.html", {"error": error})
    except DomainError as exc:
        return render(
            request, "accreditation/_badge_preview.html",
            {"error": exc.message, "problems": exc.problems},
        )  # fmt: skip
