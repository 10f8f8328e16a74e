"""Fixtures shared by the gate tests: the demo site and a fixed clock for live servers."""

from tests.gate.test_end_to_end import fixed, site  # noqa: F401
