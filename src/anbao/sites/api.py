"""Sites API (read side; the site files are the write side)."""

from __future__ import annotations

from ninja import Router

from anbao.accounts.auth import USER_AUTH

router = Router(tags=["sites"], auth=USER_AUTH)
