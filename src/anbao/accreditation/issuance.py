"""Credential services: issue, reissue, cancel; health passes; the revocation list.

Each operation is one transaction that writes its audit rows. A change to any signed field or
a lost badge mints a new credential id and revokes the old one (:func:`reissue_credential`);
cancelling revokes without a replacement (:func:`cancel_credential`).
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import zxingcpp
from django.db import transaction
from PIL import Image

from anbao.accreditation import keystore
from anbao.accreditation import services as registry
from anbao.accreditation.bulk import bulk_advance
from anbao.accreditation.credentials import policy as P
from anbao.accreditation.credentials.codec import Claims, HealthColour, Purpose
from anbao.accreditation.credentials.keys import Signer
from anbao.accreditation.credentials.revocation import make_revocation_list, revocation_hash
from anbao.accreditation.models import (
    Accreditation,
    AccreditationStatus,
    Attestation,
    IssuedCredential,
    RevocationEntry,
    TemporaryPass,
    VehiclePermit,
)
from anbao.core import audit, clock
from anbao.core.errors import DomainError

S = AccreditationStatus
REVOCATION_COUNTER = "revocation_list"
HEALTH_PASS_HOURS = 12
QR_ERROR = "q"
QUIET_ZONE = 4  # modules of white round the symbol, as ISO/IEC 18004 asks
#: Statuses whose holder may carry a credential.
ISSUABLE = frozenset({S.ISSUED, S.PRINTED, S.COLLECTED})


@dataclass(frozen=True)
class QrImage:
    """A QR rendered once at issuance: SVG for screens, a module-exact PNG for print."""

    svg: str
    png: bytes
    version: int


def render_qr(text: str) -> QrImage:
    """Render ``text`` as a QR code at ECC level Q, once, at issuance.

    zxing-cpp's encoder (C++) chooses the mask in about 1 ms where segno's pure-Python search
    takes about 20 ms: that is the difference between seconds and a minute when thousands of
    delegates are approved at once. The output is the same standard symbol.
    """
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=QR_ERROR.upper())
    dark = np.asarray(code.to_image(scale=1, add_quiet_zones=False)) == 0
    size = int(dark.shape[0])
    framed = np.pad(dark, QUIET_ZONE, constant_values=False)
    png = io.BytesIO()
    Image.fromarray(~framed).convert("1").save(png, format="PNG", optimize=True)
    return QrImage(svg=_svg(framed), png=png.getvalue(), version=(size - 17) // 4)


def _svg(dark: np.ndarray, scale: int = 4) -> str:
    """Return a compact SVG of a module matrix: one path, a run of dark modules per segment."""
    n = len(dark)
    # Runs of dark modules per row, found with numpy rather than a Python loop per module.
    edges = np.diff(np.pad(dark.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _rows, ends = np.nonzero(edges == -1)
    path = "".join(
        f"M{x} {y}h{w}v1h-{w}z"
        for y, x, w in zip(rows.tolist(), starts.tolist(), (ends - starts).tolist(), strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{n * scale}" height="{n * scale}" '
        f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges"><rect width="{n}" height="{n}" '
        f'fill="#fff"/><path fill="#000" d="{path}"/></svg>'
    )


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _photo_hash(hex_digest: str) -> bytes:
    try:
        return bytes.fromhex(hex_digest)[:8] if hex_digest else b""
    except ValueError:
        return b""


def badge_claims(acc: Accreditation, *, now: datetime) -> Claims:
    """Return the claims of a badge for ``acc`` (no names, no ID numbers)."""
    start, end = registry.event_window(acc.event)
    return Claims(
        cid=secrets.token_bytes(16),
        purpose=Purpose.BADGE,
        event=acc.event.code,
        nbf=_epoch(acc.valid_from or start),
        exp=_epoch(acc.valid_until or end),
        iat=_epoch(now),
        category=acc.category.code,
        zones=tuple(acc.zone_numbers()),
        venues=tuple(acc.venue_codes()),
        photo=_photo_hash(acc.person.photo_sha256),
    )


def _credential_row(
    claims: Claims,
    signer: Signer,
    *,
    reason: str,
    accreditation: Accreditation | None = None,
    vehicle_permit: VehiclePermit | None = None,
    temporary_pass: TemporaryPass | None = None,
) -> IssuedCredential:
    """Sign ``claims``, render the QR once, and return the unsaved credential row."""
    text = signer.sign(claims)
    image = render_qr(text)
    return IssuedCredential(
        cid=claims.cid.hex(),
        accreditation=accreditation,
        vehicle_permit=vehicle_permit,
        temporary_pass=temporary_pass,
        purpose=claims.purpose.label,
        kid=signer.kid.hex(),
        claims=claims.as_json(),
        qr_text=text,
        qr_svg=image.svg,
        qr_png=image.png,
        qr_version=image.version,
        issued_at=datetime.fromtimestamp(claims.iat, tz=UTC),
        valid_from=datetime.fromtimestamp(claims.nbf, tz=UTC),
        valid_until=datetime.fromtimestamp(claims.exp, tz=UTC),
        reason=reason[:200],
    )


def _store(
    claims: Claims,
    signer: Signer,
    *,
    reason: str,
    accreditation: Accreditation | None = None,
    vehicle_permit: VehiclePermit | None = None,
    temporary_pass: TemporaryPass | None = None,
) -> IssuedCredential:
    cred = _credential_row(
        claims,
        signer,
        reason=reason,
        accreditation=accreditation,
        vehicle_permit=vehicle_permit,
        temporary_pass=temporary_pass,
    )
    cred.save()
    audit.record(
        "credentials.issued",
        obj=cred,
        after={"cid": cred.cid, "purpose": cred.purpose, "kid": cred.kid, "reason": reason},
    )
    return cred


def _revoke(cred: IssuedCredential, *, reason: str, now: datetime) -> RevocationEntry:
    cred.revoked_at, cred.revocation_reason = now, reason[:200]
    cred.save(update_fields=["revoked_at", "revocation_reason"])
    entry = RevocationEntry.objects.create(
        credential=cred,
        hash=revocation_hash(bytes.fromhex(cred.cid)).hex(),
        version=keystore.bump_counter(REVOCATION_COUNTER),
        revoked_at=now,
        expires_at=cred.valid_until,
        reason=reason[:200],
    )
    audit.record(
        "credentials.revoked",
        obj=cred,
        after={"cid": cred.cid, "reason": reason, "list_version": entry.version},
    )
    return entry


def active_credential(
    accreditation: Accreditation, purpose: str = "badge"
) -> IssuedCredential | None:
    """Return the accreditation's unrevoked credential of ``purpose``, if any."""
    return (
        IssuedCredential.objects.filter(
            accreditation=accreditation, purpose=purpose, revoked_at__isnull=True
        )
        .order_by("-issued_at", "-id")
        .first()
    )


def _locked(accreditation: Accreditation) -> Accreditation:
    return (
        Accreditation.objects.select_for_update()
        .select_related("event", "category", "person")
        .get(pk=accreditation.pk)
    )


@transaction.atomic
def issue_credential(*, accreditation: Accreditation, reason: str = "issued") -> IssuedCredential:
    """Sign a badge credential for an approved accreditation and move it to ``issued``.

    An accreditation already past ``issued`` may get a credential again only when it has no
    active one (after a cancel); use :func:`reissue_credential` to replace an active one.
    """
    acc = _locked(accreditation)
    if acc.status not in ISSUABLE and acc.status != S.APPROVED:
        raise DomainError(
            "credentials.not_approved",
            f"Only an approved accreditation gets a credential (this one is {acc.status}).",
            status=409,
        )
    if active_credential(acc) is not None:
        raise DomainError(
            "credentials.already_issued",
            "This accreditation already has an active credential; reissue it instead.",
            status=409,
        )
    now = clock.now()
    cred = _store(badge_claims(acc, now=now), keystore.signer("badge"), reason=reason,
                  accreditation=acc)  # fmt: skip
    if acc.status == S.APPROVED:
        registry.transition(acc, to=S.ISSUED, note=f"credential {cred.cid[:8]}")
    accreditation.status = S.ISSUED if acc.status == S.APPROVED else acc.status
    return cred


@transaction.atomic
def reissue_credential(*, accreditation: Accreditation, reason: str) -> IssuedCredential:
    """Mint a new credential id (signed fields changed, badge lost) and revoke the old one."""
    acc = _locked(accreditation)
    if acc.status not in ISSUABLE:
        raise DomainError(
            "credentials.not_issuable",
            f"A {acc.status} accreditation cannot be reissued.",
            status=409,
        )
    old = active_credential(acc)
    now = clock.now()
    new = _store(badge_claims(acc, now=now), keystore.signer("badge"),
                 reason=f"reissue: {reason}", accreditation=acc)  # fmt: skip
    if old is not None:
        _revoke(old, reason=f"replaced: {reason}", now=now)
        old.replaced_by = new
        old.save(update_fields=["replaced_by"])
    return new


@transaction.atomic
def cancel_credential(*, accreditation: Accreditation, reason: str) -> list[IssuedCredential]:
    """Revoke every active credential of the accreditation without a replacement."""
    acc = _locked(accreditation)
    creds = list(
        IssuedCredential.objects.select_for_update().filter(
            accreditation=acc, revoked_at__isnull=True
        )
    )
    if not creds:
        raise DomainError(
            "credentials.no_credential", "This accreditation has no active credential.", 409
        )
    now = clock.now()
    for cred in creds:
        _revoke(cred, reason=f"cancelled: {reason}", now=now)
    return creds


@transaction.atomic
def revoke_credential(*, cid: str, reason: str) -> IssuedCredential:
    """Revoke one credential by id (any purpose)."""
    cred = IssuedCredential.objects.select_for_update().filter(cid=cid).first()
    if cred is None:
        raise DomainError("credentials.unknown_credential", f"No credential {cid!r}.", 404)
    if cred.revoked_at is None:
        _revoke(cred, reason=reason, now=clock.now())
    return cred


# --- vehicles and day passes ---------------------------------------------------------------


def _venues_of_zones(zones: Any) -> tuple[str, ...]:
    return tuple(sorted({z.venue.code for z in zones if z.venue_id is not None}))


@transaction.atomic
def issue_vehicle_credential(*, permit: VehiclePermit, reason: str = "issued") -> IssuedCredential:
    """Sign a vehicle permit (carries the plate); an active one is revoked and replaced."""
    permit = VehiclePermit.objects.select_for_update().select_related("event").get(pk=permit.pk)
    if permit.status != "active":
        raise DomainError("credentials.not_issuable", "The permit is not active.", 409)
    zones = list(permit.zones.select_related("venue"))
    now = clock.now()
    claims = Claims(
        cid=secrets.token_bytes(16),
        purpose=Purpose.VEHICLE,
        event=permit.event.code,
        nbf=_epoch(permit.valid_from),
        exp=_epoch(permit.valid_until),
        iat=_epoch(now),
        category="V",
        zones=tuple(sorted(z.number for z in zones)),
        venues=_venues_of_zones(zones),
        plate=permit.plate,
    )
    old = list(permit.credentials.filter(revoked_at__isnull=True))
    new = _store(claims, keystore.signer("vehicle"), reason=reason, vehicle_permit=permit)
    for cred in old:
        _revoke(cred, reason=f"replaced: {reason}", now=now)
        cred.replaced_by = new
        cred.save(update_fields=["replaced_by"])
    return new


@transaction.atomic
def issue_day_pass_credential(*, temporary_pass: TemporaryPass) -> IssuedCredential:
    """Sign a day or guest pass, valid on its day in the event's time zone."""
    tp = TemporaryPass.objects.select_for_update().select_related("event").get(pk=temporary_pass.pk)
    if tp.status != "active":
        raise DomainError("credentials.not_issuable", "The pass is not active.", 409)
    if tp.credentials.filter(revoked_at__isnull=True).exists():
        raise DomainError("credentials.already_issued", "The pass already has a credential.", 409)
    tz = ZoneInfo(tp.event.time_zone)
    start = datetime.combine(tp.day, datetime.min.time(), tzinfo=tz)
    zones = list(tp.zones.select_related("venue"))
    claims = Claims(
        cid=secrets.token_bytes(16),
        purpose=Purpose.DAY_PASS,
        event=tp.event.code,
        nbf=_epoch(start),
        exp=_epoch(start + timedelta(days=1)),
        iat=_epoch(clock.now()),
        category=tp.kind.upper()[:8],
        zones=tuple(sorted(z.number for z in zones)),
        venues=_venues_of_zones(zones),
    )
    return _store(claims, keystore.signer("day_pass"), reason="issued", temporary_pass=tp)


# --- health passes -------------------------------------------------------------------------

_COLOURS = {c.name.lower(): c for c in HealthColour if c is not HealthColour.NONE}


def _sampled_at(att: Attestation) -> datetime:
    raw = att.value.get("sampled_at") if isinstance(att.value, dict) else None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return att.observed_at
        if parsed.tzinfo is not None:
            return parsed
    return att.observed_at


def attestations_for(person_id: int, *, now: datetime | None = None) -> list[P.Attestation]:
    """Return a person's current attestations in the policy engine's form."""
    now = now or clock.now()
    out: list[P.Attestation] = []
    rows = Attestation.objects.filter(person_id=person_id, observed_at__lte=now).order_by(
        "-observed_at"
    )
    for att in rows[:50]:
        value = att.value if isinstance(att.value, dict) else {}
        at = _sampled_at(att) if att.kind == "nat_test" else att.observed_at
        until = _epoch(att.valid_until) if att.valid_until else None
        out.append(P.Attestation(att.kind, value, _epoch(at), until))
    return out


@transaction.atomic
def issue_health_pass(
    *, accreditation: Accreditation, hours: int = HEALTH_PASS_HOURS
) -> IssuedCredential:
    """Sign a short-lived health pass bound to the active badge, from current health facts."""
    acc = _locked(accreditation)
    badge = active_credential(acc)
    if badge is None or acc.status not in ISSUABLE:
        raise DomainError(
            "credentials.no_credential", "The accreditation has no active badge.", 409
        )
    if not 1 <= hours <= 72:
        raise DomainError("credentials.invalid_hours", "A health pass lasts 1 to 72 hours.")
    now = clock.now()
    facts = attestations_for(acc.person_id, now=now)
    live = [a for a in facts if a.valid_until is None or a.valid_until >= _epoch(now)]
    code = next((a for a in live if a.kind == "health_code"), None)
    test = next(
        (a for a in live if a.kind == "nat_test" and a.value.get("result") == "negative"), None
    )
    if code is None and test is None:
        raise DomainError(
            "credentials.no_health_facts", "No current health code or negative test on record.", 409
        )
    colour = HealthColour.NONE
    if code is not None:
        colour = _COLOURS.get(str(code.value.get("colour", "")).lower(), HealthColour.NONE)
    exp = min(_epoch(now + timedelta(hours=hours)), _epoch(badge.valid_until))
    claims = Claims(
        cid=secrets.token_bytes(16),
        purpose=Purpose.HEALTH_PASS,
        event=acc.event.code,
        nbf=_epoch(now),
        exp=max(exp, _epoch(now) + 60),
        iat=_epoch(now),
        subject=bytes.fromhex(badge.cid),
        colour=colour,
        colour_at=code.at if code is not None else 0,
        tested_at=test.at if test is not None else 0,
    )
    return _store(claims, keystore.signer("health_pass"), reason="health pass", accreditation=acc)


# --- lists for scanners --------------------------------------------------------------------


def trust_list() -> bytes:
    """Return the root-signed trust list (COSE_Sign1 bytes) for scanners."""
    return keystore.trust_list()


def revocation_list(since_version: int | None = None) -> bytes:
    """Return the signed revocation list: full, or the delta since ``since_version``."""
    current = keystore.counter(REVOCATION_COUNTER)
    since = since_version or 0
    if since < 0 or since > current:
        raise DomainError(
            "credentials.unknown_version",
            f"The revocation list is at version {current}; cannot send changes since {since}.",
            detail={"current": current},
        )
    now = clock.now()
    entries = RevocationEntry.objects.filter(version__gt=since)
    if since == 0:
        # A full list leaves out credentials that have expired anyway: gates refuse them.
        entries = entries.filter(expires_at__gt=now - timedelta(days=1))
    hashes = [bytes.fromhex(h) for h in entries.values_list("hash", flat=True)]
    return make_revocation_list(
        keystore.signer("revocation"),
        version=current,
        issued_at=_epoch(now),
        hashes=hashes,
        since=since,
    )


def issue_credentials(*, accreditation_ids: list[int], reason: str = "issued") -> list[str]:
    """Issue badge credentials for many approved accreditations at once; return the ids issued.

    The same checks and records as :func:`issue_credential`, set-based: one signer, one bulk
    insert of credentials and audit rows per chunk, and one lifecycle step for all of them.
    Accreditations that are not approved, or already hold a credential, are left alone.
    """
    issued: list[int] = []
    signer = keystore.signer("badge")
    with transaction.atomic():
        holders = set(
            IssuedCredential.objects.filter(
                accreditation_id__in=accreditation_ids, purpose="badge", revoked_at__isnull=True
            ).values_list("accreditation_id", flat=True)
        )
        rows = (
            Accreditation.objects.select_for_update()
            .filter(pk__in=accreditation_ids, status=S.APPROVED)
            .exclude(pk__in=holders)
            .select_related("event", "category", "person")
            .prefetch_related("zones", "venues")
            .order_by("pk")
        )
        now = clock.now()
        batch: list[IssuedCredential] = []
        for acc in rows:
            batch.append(
                _credential_row(
                    badge_claims(acc, now=now), signer, reason=reason, accreditation=acc
                )
            )
            issued.append(acc.pk)
        created = IssuedCredential.objects.bulk_create(batch, batch_size=500)
        audit.record_many(
            audit.build(
                "credentials.issued",
                obj=cred,
                after={"cid": cred.cid, "purpose": cred.purpose, "kid": cred.kid, "reason": reason},
            )
            for cred in created
        )
        bulk_advance(issued, to=S.ISSUED, note="credential issued")
    return [cred.cid for cred in created]
