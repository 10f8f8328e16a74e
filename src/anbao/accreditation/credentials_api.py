"""Credential API (mounted at ``/api/credentials``): lists for scanners, issue/reissue/cancel.

Scanners (device tokens) fetch the root-signed trust list and the signed revocation list
(full or delta). Office users issue, reissue and cancel credentials and ask for an online check.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from anbao.accounts.auth import DEVICE_AUTH, need
from anbao.accounts.roles import Cap
from anbao.accreditation import access, issuance, keystore
from anbao.accreditation import services as registry
from anbao.accreditation.credentials.keys import kid_of
from anbao.accreditation.models import IssuedCredential

router = Router(tags=["credentials"])


class SignedListOut(Schema):
    """A signed list (COSE_Sign1, base64): the trust list or a revocation list."""

    kind: str
    version: int
    since: int = 0
    format: str = "cose_sign1"
    data: str = Field(description="base64 of the COSE_Sign1 bytes")


class RootKeyOut(Schema):
    """The root public key that scanners pin (raw Ed25519, base64) and its kid (hex)."""

    kid: str
    public_key: str
    algorithm: str = "EdDSA/Ed25519"


class CredentialOut(Schema):
    """An issued credential with its QR, as stored at issuance."""

    cid: str
    purpose: str
    kid: str
    claims: dict[str, Any]
    qr_text: str
    qr_svg: str
    qr_version: int
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime
    reason: str
    revoked_at: datetime | None
    revocation_reason: str
    replaced_by: str | None


class ReasonIn(Schema):
    """Why a credential is reissued or cancelled."""

    reason: str = Field(min_length=1, max_length=200)


class HealthPassIn(Schema):
    """How long a health pass lasts."""

    hours: int = Field(default=issuance.HEALTH_PASS_HOURS, ge=1, le=72)


class CheckIn(Schema):
    """An online check: a scanned QR text at a checkpoint of the accreditation's event."""

    qr_text: str = Field(max_length=4000)
    checkpoint: str = Field(min_length=1, max_length=40)
    health_pass: str | None = Field(default=None, max_length=4000)


class DecisionOut(Schema):
    """A verification decision: status, stable reason, the claims and the refusing rule."""

    status: str
    reason: str
    detail: str
    claims: dict[str, Any] | None
    rule: dict[str, str] | None


def _out(cred: IssuedCredential) -> CredentialOut:
    return CredentialOut(
        cid=cred.cid,
        purpose=cred.purpose,
        kid=cred.kid,
        claims=cred.claims,
        qr_text=cred.qr_text,
        qr_svg=cred.qr_svg,
        qr_version=cred.qr_version,
        issued_at=cred.issued_at,
        valid_from=cred.valid_from,
        valid_until=cred.valid_until,
        reason=cred.reason,
        revoked_at=cred.revoked_at,
        revocation_reason=cred.revocation_reason,
        replaced_by=cred.replaced_by.cid if cred.replaced_by is not None else None,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@router.get("/root-key", response=RootKeyOut, auth=DEVICE_AUTH)
def root_key(request: HttpRequest) -> RootKeyOut:
    """Return the root public key for scanners to pin."""
    public = keystore.root_public_key()
    return RootKeyOut(kid=kid_of(public).hex(), public_key=_b64(public))


@router.get("/trust-list", response=SignedListOut, auth=DEVICE_AUTH)
def trust_list(request: HttpRequest) -> SignedListOut:
    """Return the root-signed trust list of signing-key certificates."""
    return SignedListOut(
        kind="trust_list",
        version=keystore.counter(keystore.TRUST_COUNTER),
        data=_b64(issuance.trust_list()),
    )


@router.get("/revocation-list", response=SignedListOut, auth=DEVICE_AUTH)
def revocation_list(request: HttpRequest, since: int = 0) -> SignedListOut:
    """Return the signed revocation list: full (``since=0``) or the changes since a version."""
    data = issuance.revocation_list(since)
    return SignedListOut(
        kind="revocation_list",
        version=keystore.counter(issuance.REVOCATION_COUNTER),
        since=since,
        data=_b64(data),
    )


@router.get(
    "/accreditations/{accreditation_id}",
    response=list[CredentialOut],
    auth=need(Cap.ACCREDITATION_VIEW),
)
def credentials_of(request: HttpRequest, accreditation_id: int) -> list[CredentialOut]:
    """List an accreditation's credentials, newest first."""
    acc = registry.get_accreditation(accreditation_id)
    return [_out(c) for c in acc.credentials.select_related("replaced_by")]


@router.post(
    "/accreditations/{accreditation_id}/issue",
    response=CredentialOut,
    auth=need(Cap.ACCREDITATION_EDIT),
)
def issue(request: HttpRequest, accreditation_id: int) -> CredentialOut:
    """Issue the badge credential of an approved accreditation."""
    acc = registry.get_accreditation(accreditation_id)
    return _out(issuance.issue_credential(accreditation=acc))


@router.post(
    "/accreditations/{accreditation_id}/reissue",
    response=CredentialOut,
    auth=need(Cap.ACCREDITATION_EDIT),
)
def reissue(request: HttpRequest, accreditation_id: int, payload: ReasonIn) -> CredentialOut:
    """Replace the badge credential (new id; the old one is revoked)."""
    acc = registry.get_accreditation(accreditation_id)
    return _out(issuance.reissue_credential(accreditation=acc, reason=payload.reason))


@router.post(
    "/accreditations/{accreditation_id}/cancel",
    response=list[CredentialOut],
    auth=need(Cap.ACCREDITATION_EDIT),
)
def cancel(request: HttpRequest, accreditation_id: int, payload: ReasonIn) -> list[CredentialOut]:
    """Revoke the accreditation's credentials without replacement."""
    acc = registry.get_accreditation(accreditation_id)
    return [_out(c) for c in issuance.cancel_credential(accreditation=acc, reason=payload.reason)]


@router.post(
    "/accreditations/{accreditation_id}/health-pass",
    response=CredentialOut,
    auth=need(Cap.ACCREDITATION_EDIT),
)
def health_pass(
    request: HttpRequest, accreditation_id: int, payload: HealthPassIn
) -> CredentialOut:
    """Issue a short-lived health pass bound to the badge, for display on a phone."""
    acc = registry.get_accreditation(accreditation_id)
    return _out(issuance.issue_health_pass(accreditation=acc, hours=payload.hours))


@router.post(
    "/accreditations/{accreditation_id}/check",
    response=DecisionOut,
    auth=need(Cap.ACCREDITATION_VIEW),
)
def check(request: HttpRequest, accreditation_id: int, payload: CheckIn) -> DecisionOut:
    """Would this QR pass this checkpoint of the accreditation's event now? (online check)."""
    acc = registry.get_accreditation(accreditation_id)
    decision = access.check_access(
        qr_text=payload.qr_text,
        event=acc.event,
        checkpoint_code=payload.checkpoint,
        health_pass=payload.health_pass,
    )
    return DecisionOut(**decision.as_json())
