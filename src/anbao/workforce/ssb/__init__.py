"""The Shift Scheduling Benchmark (Curtois and Qu): reader, CP-SAT solver, evaluator, runner.

Pure Python plus OR-Tools; nothing here imports Django.
"""

from __future__ import annotations

from anbao.workforce.ssb.evaluate import Evaluation, evaluate
from anbao.workforce.ssb.reader import Instance, SsbFormatError, parse, read
from anbao.workforce.ssb.solver import Result, solve

__all__ = [
    "Evaluation",
    "Instance",
    "Result",
    "SsbFormatError",
    "evaluate",
    "parse",
    "read",
    "solve",
]
