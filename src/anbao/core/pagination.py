"""API pagination with bounded inputs: a page number past any real list is a 422, not a crash."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 100_000
MAX_PAGE_SIZE = 500


class BoundedPageNumberPagination(PageNumberPagination):
    """Ninja's page-number pagination, with limits SQLite and PostgreSQL can both offset by."""

    class Input(Schema):
        """The page to return and its size."""

        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)
