"""Page guards: login first, then the capability; a missing capability is a 403 page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from anbao.accounts.roles import Cap

View = Callable[..., HttpResponseBase]


def cap_required(cap: Cap) -> Callable[[View], View]:
    """Guard a page: anonymous users go to the login page, others need ``cap``."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.can(cap):
                return render(request, "403.html", {"cap": cap.value}, status=403)
            return view(request, *args, **kwargs)

        wrapper._anbao_cap = cap  # type: ignore[attr-defined]
        return wrapper

    return decorate
