"""Fixtures shared by the screening tests."""

from tests.screening.test_scan import at_event  # noqa: F401
