"""Fixtures shared by the browser tests: the system Chromium and the demo site."""

from tests.ui.test_browser import browser, site  # noqa: F401
