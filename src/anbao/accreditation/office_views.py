"""Office pages for credentials, the import wizard and the access policy (views stay thin)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from anbao.accounts.decorators import cap_required
from anbao.accounts.roles import Cap
from anbao.accreditation import access, importing_store, issuance
from anbao.accreditation import services as office
from anbao.accreditation.credentials import policy as P
from anbao.accreditation.models import AccessPolicy
from anbao.core.errors import DomainError
from anbao.sites import services as sites
from anbao.sites.models import Checkpoint

MAX_UPLOAD = 50 * 1024 * 1024
# Photos are a few hundred KB each: 500 MB is some thousands, and refuses a runaway file.
MAX_PHOTOS_UPLOAD = 500 * 1024 * 1024
CREDENTIAL_ACTIONS = {"issue", "reissue", "cancel"}


@cap_required(Cap.ACCREDITATION_EDIT)
@require_POST
def credential_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue, reissue (lost badge, changed fields) or cancel an accreditation's credential."""
    try:
        acc = office.get_accreditation(pk)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "").strip()[:200] or action
    try:
        if action == "issue":
            issuance.issue_credential(accreditation=acc)
        elif action == "reissue":
            issuance.reissue_credential(accreditation=acc, reason=reason)
        elif action == "cancel":
            issuance.cancel_credential(accreditation=acc, reason=reason)
        else:
            raise DomainError("accreditation.unknown_action", gettext("Unknown action."))
        messages.success(request, gettext("Done."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return HttpResponseRedirect(reverse("accreditation:person", args=[acc.person_id]))


def _upload_dir() -> Path:
    folder = Path(settings.ANBAO_HOME) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stash(data: bytes) -> str:
    token = secrets.token_hex(16)
    (_upload_dir() / token).write_bytes(data)
    return token


def _unstash(token: str) -> bytes | None:
    if not token or len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        return None
    path = _upload_dir() / token
    return path.read_bytes() if path.is_file() else None


@cap_required(Cap.ACCREDITATION_EDIT)
def import_wizard(request: HttpRequest) -> HttpResponse:
    """Upload a people file (and photos), preview every problem, then commit all or the valid."""
    context: dict[str, Any] = {}
    if request.method == "POST" and request.POST.get("step") == "preview":
        upload = request.FILES.get("file")
        photos = request.FILES.get("photos")
        if upload is None or upload.size is None or upload.size > MAX_UPLOAD:
            context["error"] = gettext("Choose a people file (.xlsx or .csv) of at most 50 MB.")
        elif photos is not None and (photos.size is None or photos.size > MAX_PHOTOS_UPLOAD):
            context["error"] = gettext("The photo archive is larger than 500 MB.")
        else:
            data = upload.read()
            photo_bytes = photos.read() if photos is not None else None
            try:
                report = importing_store.preview_import(
                    data=data, filename=upload.name or "upload", photos_zip=photo_bytes
                )
                context["report"] = report
                context["file_token"] = _stash(data)
                context["photos_token"] = _stash(photo_bytes) if photo_bytes else ""
                context["filename"] = upload.name
            except DomainError as exc:
                context["error"] = exc.message
                context["problems"] = exc.problems
    elif request.method == "POST" and request.POST.get("step") == "commit":
        data = _unstash(request.POST.get("file_token", ""))
        photo_bytes = _unstash(request.POST.get("photos_token", ""))
        if data is None:
            context["error"] = gettext("The uploaded file has expired; upload it again.")
        else:
            try:
                report = importing_store.commit_import(
                    data=data,
                    filename=request.POST.get("filename", "upload.csv"),
                    mode=request.POST.get("mode", "all"),
                    photos_zip=photo_bytes,
                )
                context["committed"] = report
                if report.error_file:
                    context["error_token"] = _stash(report.error_file)
            except DomainError as exc:
                context["error"] = exc.message
                context["problems"] = exc.problems
    return render(request, "accreditation/import.html", context)


@cap_required(Cap.ACCREDITATION_EDIT)
def import_download(request: HttpRequest, what: str, token: str = "") -> HttpResponse:
    """Download the import template or a stored error spreadsheet."""
    if what == "template":
        data, filename, content_type = importing_store.import_template(sites.current_event())
    elif what == "errors":
        stored = _unstash(token)
        if stored is None:
            raise Http404("no such file")
        data, filename = stored, "import-errors.xlsx"
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise Http404("unknown download")
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@cap_required(Cap.ACCREDITATION_VIEW)
def policy_editor(request: HttpRequest) -> HttpResponse:
    """Edit the event's access policy (JSON rules) and test it on a person at a checkpoint."""
    event = sites.current_event()
    if event is None:
        return render(request, "accreditation/policy.html", {"event": None})
    can_edit = bool(request.user.can(Cap.ACCREDITATION_EDIT))  # type: ignore[union-attr]
    row = AccessPolicy.objects.filter(event=event, active=True).first()
    document = row.document if row else P.preset_document(access.DEFAULT_PRESET)
    context: dict[str, Any] = {
        "event": event,
        "presets": P.PRESETS,
        "can_edit": can_edit,
        "checkpoints": Checkpoint.objects.filter(event=event).order_by("code"),
    }
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action in {"save", "preset"} and not can_edit:
        context["error"] = gettext("Your role may not change the policy.")
    elif action == "preset":
        try:
            document = access.use_preset(event=event, name=request.POST.get("preset", "")).document
            messages.success(request, gettext("Preset applied."))
        except DomainError as exc:
            context["error"] = exc.message
    elif action == "save":
        text = request.POST.get("document", "")
        try:
            document = json.loads(text)
            access.set_policy(event=event, document=document)
            messages.success(request, gettext("Policy saved."))
        except json.JSONDecodeError as exc:
            context["error"] = gettext("Not valid JSON: %(msg)s") % {"msg": exc}
            context["text"] = text
        except DomainError as exc:
            context["error"] = exc.message
            context["problems"] = exc.problems
            context["text"] = text
    elif action == "test":
        context["test"] = _test_decision(request, event)
    context.setdefault("text", json.dumps(document, ensure_ascii=False, indent=2))
    return render(request, "accreditation/policy.html", context)


def _test_decision(request: HttpRequest, event: Any) -> dict[str, Any]:
    """Would this accreditation's badge pass this checkpoint now? (the test box)."""
    try:
        acc = office.get_accreditation(int(request.POST.get("accreditation", "0")))
    except (ValueError, DomainError):
        return {"error": gettext("No such accreditation.")}
    cred = issuance.active_credential(acc)
    if cred is None:
        return {"error": gettext("This accreditation has no active credential.")}
    try:
        decision = access.check_access(
            qr_text=cred.qr_text, event=event, checkpoint_code=request.POST.get("checkpoint", "")
        )
    except DomainError as exc:
        return {"error": exc.message}
    return {"accreditation": acc, "decision": decision.as_json()}
