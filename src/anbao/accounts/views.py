"""Account pages: switching the user's language."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from anbao.accounts import services


@login_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Store the chosen language on the user and go back to the page."""
    lang = request.POST.get("language", "")
    services.set_language(user=request.user, language=lang)  # type: ignore[arg-type]
    nxt = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    response = HttpResponseRedirect(nxt)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, services.normalise_language(lang))
    return response
