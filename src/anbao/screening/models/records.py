"""Screening models: records."""

from __future__ import annotations

__all__: list[str] = []
