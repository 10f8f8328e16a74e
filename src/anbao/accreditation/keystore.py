"""The key store: the root key, purpose-bound signing keys, rotation and the signed trust list.

Private keys live in the database, encrypted at rest with the installation's key (see
``anbao.core.crypto``); they never enter the repository or an export. Scanners pin the root's
public key (:func:`root_public_key`) and load everything else from :func:`trust_list`.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from anbao.accreditation.credentials import keys as K
from anbao.accreditation.models import CredentialKey, KeyPurpose, KeyStatus, SchemeCounter
from anbao.core import audit, clock
from anbao.core.errors import DomainError

ROOT_DAYS = 3650
TRUST_COUNTER = "trust_list"
#: A signing key is replaced by ``ensure_keys`` once less than this much life is left, so that
#: credentials it signs never outlive it.
RENEW_MARGIN = timedelta(days=30)

_cache: dict[str, K.Signer] = {}
_cache_lock = threading.Lock()


def key_days() -> int:
    """Return the lifetime of a new signing key in days (``ANBAO_CREDENTIAL_KEY_DAYS``)."""
    return int(getattr(settings, "ANBAO_CREDENTIAL_KEY_DAYS", 400))


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def bump_counter(name: str) -> int:
    """Increase a named scheme counter inside the caller's transaction and return it."""
    row, _ = SchemeCounter.objects.select_for_update().get_or_create(name=name)
    row.value += 1
    row.save(update_fields=["value"])
    return row.value


def counter(name: str) -> int:
    """Return the current value of a named scheme counter (0 before the first bump)."""
    row = SchemeCounter.objects.filter(name=name).first()
    return row.value if row else 0


def _root_row() -> CredentialKey | None:
    return CredentialKey.objects.filter(purpose=KeyPurpose.ROOT, status=KeyStatus.ACTIVE).first()


def _new_key(purpose: str, root: CredentialKey | None, now: datetime) -> CredentialKey:
    private = K.Signer.generate(purpose)
    days = ROOT_DAYS if root is None else key_days()
    not_before, not_after = now - timedelta(hours=1), now + timedelta(days=days)
    cert = b""
    if root is not None:
        cert = private.certificate(
            K.load_private(bytes(root.private_key)),
            not_before=_epoch(not_before),
            not_after=_epoch(not_after),
        )
    row = CredentialKey.objects.create(
        kid=private.kid.hex(),
        purpose=purpose,
        status=KeyStatus.ACTIVE,
        public_key=private.public_key,
        private_key=K.private_bytes(private.key),
        certificate=cert,
        not_before=not_before,
        not_after=not_after,
        created_at=now,
    )
    audit.record(
        "credentials.key_created",
        obj=row,
        after={"kid": row.kid, "purpose": purpose, "not_after": not_after.isoformat()},
    )
    return row


@transaction.atomic
def ensure_keys() -> list[CredentialKey]:
    """Create the root and one active signing key per purpose where missing; return new ones."""
    # Serialise first use across processes: the counter row is the lock.
    SchemeCounter.objects.get_or_create(name=TRUST_COUNTER)
    SchemeCounter.objects.select_for_update().get(name=TRUST_COUNTER)
    now = clock.now()
    created: list[CredentialKey] = []
    root = _root_row()
    if root is None:
        root = _new_key(KeyPurpose.ROOT, None, now)
        created.append(root)
    for purpose in K.KEY_PURPOSES:
        live = CredentialKey.objects.filter(
            purpose=purpose, status=KeyStatus.ACTIVE, not_after__gt=now + RENEW_MARGIN
        ).exists()
        if not live:
            CredentialKey.objects.filter(purpose=purpose, status=KeyStatus.ACTIVE).update(
                status=KeyStatus.RETIRED, retired_at=now
            )
            created.append(_new_key(purpose, root, now))
    if created:
        bump_counter(TRUST_COUNTER)
    return created


def _no_keys() -> DomainError:
    return DomainError("credentials.no_keys", "The credential keys are missing.", status=503)


def _purpose(purpose: str) -> str:
    if purpose not in K.KEY_PURPOSES:
        raise DomainError(
            "credentials.unknown_purpose",
            f"Unknown key purpose {purpose!r}; one of {', '.join(K.KEY_PURPOSES)}.",
        )
    return purpose


@transaction.atomic
def rotate_key(purpose: str) -> CredentialKey:
    """Replace the active key of ``purpose``; the old one verifies until it expires."""
    _purpose(purpose)
    ensure_keys()
    now = clock.now()
    root = _root_row()
    old = list(
        CredentialKey.objects.select_for_update().filter(purpose=purpose, status=KeyStatus.ACTIVE)
    )
    for row in old:
        row.status, row.retired_at = KeyStatus.RETIRED, now
        row.save(update_fields=["status", "retired_at"])
    new = _new_key(purpose, root, now)
    version = bump_counter(TRUST_COUNTER)
    audit.record(
        "credentials.key_rotated",
        obj=new,
        before={"kids": [r.kid for r in old]},
        after={"kid": new.kid, "trust_list_version": version},
    )
    return new


@transaction.atomic
def revoke_key(kid: str) -> CredentialKey:
    """Withdraw a (compromised) signing key from the trust list at once."""
    row = CredentialKey.objects.select_for_update().filter(kid=kid).first()
    if row is None or row.purpose == KeyPurpose.ROOT:
        raise DomainError("credentials.unknown_key", f"No signing key {kid!r}.", status=404)
    before = row.status
    row.status, row.retired_at = KeyStatus.REVOKED, row.retired_at or clock.now()
    row.save(update_fields=["status", "retired_at"])
    version = bump_counter(TRUST_COUNTER)
    audit.record(
        "credentials.key_revoked",
        obj=row,
        before={"status": before},
        after={"status": row.status, "trust_list_version": version},
    )
    _cache.pop(kid, None)
    return row


def signer(purpose: str) -> K.Signer:
    """Return the active signer for ``purpose``, creating keys on first use."""
    _purpose(purpose)
    now = clock.now()
    row = (
        CredentialKey.objects.filter(purpose=purpose, status=KeyStatus.ACTIVE, not_after__gt=now)
        .only("kid", "purpose")
        .first()
    )
    if row is None:
        ensure_keys()
        row = CredentialKey.objects.filter(purpose=purpose, status=KeyStatus.ACTIVE).first()
        if row is None:
            raise _no_keys()
    cached = _cache.get(row.kid)
    if cached is not None:
        return cached
    full = CredentialKey.objects.get(pk=row.pk)
    loaded = K.Signer(
        kid=bytes.fromhex(full.kid), purpose=purpose, key=K.load_private(bytes(full.private_key))
    )
    with _cache_lock:
        _cache[row.kid] = loaded
    return loaded


def root_public_key() -> bytes:
    """Return the root's raw public key: scanners pin it."""
    root = _root_row()
    if root is None:
        ensure_keys()
        root = _root_row()
        if root is None:
            raise _no_keys()
    return bytes(root.public_key)


def trust_list() -> bytes:
    """Return the root-signed trust list of every listed key that has not expired."""
    ensure_keys()
    now = clock.now()
    root = _root_row()
    if root is None:
        raise _no_keys()
    rows = CredentialKey.objects.filter(
        status__in=[KeyStatus.ACTIVE, KeyStatus.RETIRED], not_after__gt=now
    ).exclude(purpose=KeyPurpose.ROOT)
    return K.make_trust_list(
        K.load_private(bytes(root.private_key)),
        version=max(counter(TRUST_COUNTER), 1),
        issued_at=_epoch(now),
        certificates=[bytes(r.certificate) for r in rows.order_by("purpose", "kid")],
    )


def loaded_trust_list() -> K.TrustList:
    """Return the current trust list, verified and parsed (for server-side checks)."""
    return K.load_trust_list(trust_list(), root_public_key())
