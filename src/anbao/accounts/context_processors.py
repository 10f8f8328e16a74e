"""Template context: the navigation, filtered by what the user's role may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from anbao.accounts.navigation import nav_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Add ``nav``: the menu entries the current user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    return {"nav": nav_for(user, request.path)}
