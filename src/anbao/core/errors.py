"""Domain errors: every refusal carries a stable code that the API, the UI and the CLI show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field, file row or feature."""

    field: str
    message: str
    code: str = "invalid"
    location: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict."""
        out: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.location:
            out["location"] = self.location
        return out


@dataclass
class DomainError(Exception):
    """A business rule refused an operation; ``code`` is stable (``sites.unknown_reference``)."""

    code: str
    message: str
    status: int = 400
    problems: list[FieldProblem] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.code}: {self.message}")

    def as_dict(self) -> dict[str, Any]:
        """Return the error in the one error format shared by every API endpoint."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.problems:
            body["problems"] = [p.as_dict() for p in self.problems]
        if self.detail:
            body["detail"] = self.detail
        return {"error": body}


class NotFound(DomainError):
    """The object asked for does not exist (or is outside the caller's scope)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message, status=404)


class Forbidden(DomainError):
    """The caller is authenticated but may not do this."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message, status=403)
