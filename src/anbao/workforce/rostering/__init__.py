"""The event roster engine: build, check and explain guard rosters (pure Python + CP-SAT)."""

from __future__ import annotations

from .check import check
from .explain import explain_uncovered
from .generate import absences, generate_event
from .solve import solve
from .suggest import suggest_replacements
from .types import (
    Assignment,
    Candidate,
    Dog,
    Guard,
    Need,
    Pin,
    Post,
    Problem,
    Progress,
    Qualification,
    Rules,
    Shift,
    Shortfall,
    Skill,
    Solution,
    Violation,
)

__all__ = [
    "Assignment",
    "Candidate",
    "Dog",
    "Guard",
    "Need",
    "Pin",
    "Post",
    "Problem",
    "Progress",
    "Qualification",
    "Rules",
    "Shift",
    "Shortfall",
    "Skill",
    "Solution",
    "Violation",
    "absences",
    "check",
    "explain_uncovered",
    "generate_event",
    "solve",
    "suggest_replacements",
]
