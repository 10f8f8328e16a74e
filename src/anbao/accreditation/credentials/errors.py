"""Stable reason codes for every credential decision, and the error that carries one."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a credential was accepted or refused; the codes are stable (gates log them)."""

    OK = "ok"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_KEY = "unknown_key"
    INVALID_SIGNATURE = "invalid_signature"
    WRONG_KEY_PURPOSE = "wrong_key_purpose"
    KEY_EXPIRED = "key_expired"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_EVENT = "wrong_event"
    PURPOSE_DENIED = "purpose_denied"
    ZONE_DENIED = "zone_denied"
    VENUE_DENIED = "venue_denied"
    HEALTH_REQUIRED = "health_required"
    HEALTH_EXPIRED = "health_expired"
    HEALTH_PASS_MISMATCH = "health_pass_mismatch"  # noqa: S105  (a reason code, no secret)
    POLICY_DENIED = "policy_denied"


class CredentialError(Exception):
    """A credential, certificate or list could not be accepted; ``reason`` says why."""

    __slots__ = ("detail", "reason")

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class PolicyError(ValueError):
    """A policy document is not valid; ``path`` points at the offending node."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
