"""Reason codes of scan decisions with their texts in zh-Hans and en.

Pure (no Django): the server's decision service and the offline gate client share it.
"""

from __future__ import annotations

__all__ = ["AUTHENTICITY_REASONS", "REASON_TEXT", "texts"]

#: Refusals that say the credential is not genuine; they deny in either direction.
AUTHENTICITY_REASONS = frozenset(
    {
        "malformed",
        "too_large",
        "unknown_key",
        "invalid_signature",
        "wrong_key_purpose",
        "key_expired",
        "unknown_credential",
        "purpose_denied",
        "wrong_event",
    }
)
REASON_TEXT: dict[str, tuple[str, str]] = {
    "ok": ("通过", "Pass"),
    "malformed": ("证件无法识别", "Credential unreadable"),
    "too_large": ("证件数据过长", "Credential too large"),
    "unknown_key": ("签发密钥未知", "Unknown signing key"),
    "invalid_signature": ("签名无效，疑似伪造", "Invalid signature: possible forgery"),  # noqa: RUF001
    "wrong_key_purpose": ("密钥用途不符", "Key not valid for this credential"),
    "key_expired": ("签发密钥已过期", "Signing key expired"),
    "revoked": ("证件已注销", "Credential revoked"),
    "expired": ("证件已过期", "Credential expired"),
    "not_yet_valid": ("证件尚未生效", "Credential not yet valid"),
    "wrong_event": ("非本活动证件", "Credential of another event"),
    "purpose_denied": ("此卡口不受理该类证件", "This credential type is not accepted here"),
    "zone_denied": ("无权进入该区域", "No access to this zone"),
    "venue_denied": ("无权进入该场馆", "No access to this venue"),
    "health_required": ("缺少健康证明", "Health attestation required"),
    "health_expired": ("健康证明已过期", "Health attestation expired"),
    "health_pass_mismatch": ("健康码与证件不符", "Health pass belongs to another badge"),
    "policy_denied": ("不符合准入规则", "Refused by the access policy"),
    "vetting_pending": ("政审未完成", "Vetting pending"),
    "suspended": ("证件已暂停", "Accreditation suspended"),
    "unknown_credential": ("证件不在系统中", "Credential not known to this system"),
    "already_inside": ("已在区域内（防回传）", "Already inside (anti-passback)"),  # noqa: RUF001
    "not_inside": ("未登记进入，无法离开", "Not recorded inside (anti-passback)"),  # noqa: RUF001
}


def texts(reason: str) -> tuple[str, str]:
    """Return the zh-Hans and en texts shown for ``reason`` (the code itself when unknown)."""
    return REASON_TEXT.get(reason, (reason, reason))
