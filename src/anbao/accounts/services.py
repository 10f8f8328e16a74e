"""Account rules: users and roles, API tokens, device enrolment, rotation and revocation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from anbao.accounts.events import DeviceTokenChanged
from anbao.accounts.models import ApiToken, DeviceCredential, User
from anbao.accounts.roles import Role
from anbao.core import audit, bus, clock
from anbao.core.errors import DomainError, FieldProblem, NotFound
from anbao.sites.models import Checkpoint, Device, Venue

LANGUAGES = {"zh-hans", "en"}
ENROLMENT_VALIDITY = timedelta(hours=24)


def normalise_language(value: str) -> str:
    """Map a language tag to one the UI has (``zh``, ``zh-CN`` → ``zh-hans``)."""
    tag = (value or "").strip().lower().replace("_", "-")
    if tag in {"zh", "zh-cn", "zh-hans", "zh-sg"}:
        return "zh-hans"
    if tag.startswith("en"):
        return "en"
    raise DomainError(
        "accounts.unknown_language",
        "Unknown language; choose zh-hans or en.",
        problems=[FieldProblem("language", f"{value!r} is not offered")],
    )


@transaction.atomic
def set_language(*, user: User, language: str) -> User:
    """Store the user's UI language."""
    lang = normalise_language(language)
    before = user.language
    if before != lang:
        user.language = lang
        user.save(update_fields=["language"])
        audit.record(
            "accounts.language_set", obj=user, before={"language": before}, after={"language": lang}
        )
    return user


@dataclass(frozen=True)
class NewUser:
    """A created user and, when generated, the password to hand over once."""

    user: User
    password: str | None


@transaction.atomic
def create_user(
    *,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    language: str = "zh-hans",
    venue_codes: list[str] | None = None,
    checkpoint_codes: list[str] | None = None,
    superuser: bool = False,
) -> NewUser:
    """Create a user with a role and scope; a password is generated when none is given."""
    problems: list[FieldProblem] = []
    username = (username or "").strip()
    if not username or len(username) > 150:
        problems.append(FieldProblem("username", "a username of 1 to 150 characters is required"))
    elif User.objects.filter(username=username).exists():
        problems.append(FieldProblem("username", f"{username!r} already exists", code="duplicate"))
    if role not in Role.values:
        problems.append(
            FieldProblem("role", f"{role!r} is not a role; choose one of {', '.join(Role.values)}")
        )
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(12)
    else:
        try:
            validate_password(password)
        except ValidationError as exc:
            problems.extend(FieldProblem("password", m) for m in exc.messages)
    venues = list(Venue.objects.filter(code__in=venue_codes or []))
    missing_v = set(venue_codes or []) - {v.code for v in venues}
    if missing_v:
        problems.append(FieldProblem("venues", f"unknown venues: {', '.join(sorted(missing_v))}"))
    checkpoints = list(Checkpoint.objects.filter(code__in=checkpoint_codes or []))
    missing_c = set(checkpoint_codes or []) - {c.code for c in checkpoints}
    if missing_c:
        problems.append(
            FieldProblem("checkpoints", f"unknown checkpoints: {', '.join(sorted(missing_c))}")
        )
    if problems:
        raise DomainError("accounts.invalid_user", "The user cannot be created.", problems=problems)
    user = User(
        username=username,
        email=email,
        role=role,
        language=normalise_language(language),
        # The admin role is the back office's superuser; no other role reaches the admin.
        is_staff=superuser or role == Role.ADMIN,
        is_superuser=superuser or role == Role.ADMIN,
    )
    user.set_password(password)
    user.save()
    user.venues.set(venues)
    user.checkpoints.set(checkpoints)
    audit.record(
        "accounts.user_created",
        obj=user,
        after={
            "username": username,
            "role": role,
            "venues": sorted(v.code for v in venues),
            "checkpoints": sorted(c.code for c in checkpoints),
        },
    )
    return NewUser(user=user, password=password if generated else None)


@transaction.atomic
def issue_api_token(*, user: User, name: str, valid_for: timedelta | None = None) -> str:
    """Create an API token for ``user`` and return its text (shown once, stored as a digest)."""
    secret = ApiToken.new_secret()
    now = clock.now()
    token = ApiToken.objects.create(
        user=user,
        name=name[:100] or "token",
        prefix=secret[:12],
        digest=ApiToken.digest_of(secret),
        created_at=now,
        expires_at=now + valid_for if valid_for else None,
    )
    audit.record(
        "accounts.api_token_issued", obj=token, after={"user": user.username, "name": token.name}
    )
    return secret


def in_checkpoint_scope(user: User, checkpoint: Checkpoint) -> bool:
    """Say whether ``user`` may act at ``checkpoint`` (an empty scope means everywhere)."""
    if user.is_superuser:
        return True
    cp_ids = set(user.checkpoints.values_list("id", flat=True))
    venue_ids = set(user.venues.values_list("id", flat=True))
    if not cp_ids and not venue_ids:
        return True
    return checkpoint.id in cp_ids or checkpoint.venue_id in venue_ids


# --- device credentials -------------------------------------------------------------------------


def _device(device_id: str) -> Device:
    device = Device.objects.filter(external_id=device_id).first()
    if device is None:
        raise NotFound("sites.unknown_device", f"No device {device_id!r}.")
    return device


def _broker_hash(token: str) -> str:
    # The broker checks device passwords itself, so it needs the token in its own hash format;
    # the plain token exists only here, at issue time.
    from anbao.alarms.mosquitto import hash_password

    return hash_password(token)


@transaction.atomic
def start_enrolment(*, device_id: str) -> str:
    """Issue a one-time enrolment code for a device (revokes any token it had)."""
    device = _device(device_id)
    code = DeviceCredential.new_enrolment_code()
    now = clock.now()
    cred, _created = DeviceCredential.objects.get_or_create(device=device)
    had_token = bool(cred.token_digest) and cred.revoked_at is None
    cred.enrolment_digest = DeviceCredential.digest_of(code)
    cred.enrolment_expires_at = now + ENROLMENT_VALIDITY
    cred.token_digest = ""
    cred.token_prefix = ""
    cred.broker_hash = ""
    cred.revoked_at = None
    cred.save()
    audit.record(
        "accounts.device_enrolment_started",
        obj=device,
        after={"expires_at": cred.enrolment_expires_at.isoformat(), "replaced_token": had_token},
    )
    if had_token:
        bus.publish(DeviceTokenChanged(device=device.external_id))
    return code


@transaction.atomic
def redeem_enrolment(*, device_id: str, code: str) -> str:
    """Exchange a one-time enrolment code for the device's token; the code then dies."""
    cred = (
        DeviceCredential.objects.select_for_update()
        .select_related("device")
        .filter(device__external_id=device_id)
        .first()
    )
    now = clock.now()
    digest = DeviceCredential.digest_of((code or "").strip().upper())
    if (
        cred is None
        or not cred.enrolment_digest
        or not secrets.compare_digest(cred.enrolment_digest, digest)
    ):
        raise DomainError(
            "accounts.enrolment_invalid", "The enrolment code is wrong or already used.", status=403
        )
    if cred.enrolment_expires_at is None or cred.enrolment_expires_at <= now:
        raise DomainError(
            "accounts.enrolment_expired", "The enrolment code has expired.", status=403
        )
    token = DeviceCredential.new_token()
    cred.token_digest = DeviceCredential.digest_of(token)
    cred.token_prefix = token[:12]
    cred.broker_hash = _broker_hash(token)
    cred.enrolment_digest = ""
    cred.enrolment_expires_at = None
    cred.enrolled_at = now
    cred.save()
    audit.record(
        "accounts.device_enrolled", obj=cred.device, after={"token_prefix": cred.token_prefix}
    )
    return token


@transaction.atomic
def rotate_device_token(*, device_id: str) -> str:
    """Replace a device's token with a new one; the old one stops working at once."""
    device = _device(device_id)
    cred = DeviceCredential.objects.select_for_update().filter(device=device).first()
    if cred is None or not cred.token_digest or cred.revoked_at is not None:
        raise DomainError(
            "accounts.device_not_enrolled", f"Device {device_id!r} holds no live token.", status=409
        )
    old_prefix = cred.token_prefix
    token = DeviceCredential.new_token()
    cred.token_digest = DeviceCredential.digest_of(token)
    cred.token_prefix = token[:12]
    cred.broker_hash = _broker_hash(token)
    cred.rotated_at = clock.now()
    cred.save()
    audit.record(
        "accounts.device_token_rotated",
        obj=device,
        before={"token_prefix": old_prefix},
        after={"token_prefix": cred.token_prefix},
    )
    bus.publish(DeviceTokenChanged(device=device.external_id))
    return token


@transaction.atomic
def revoke_device_token(*, device_id: str) -> None:
    """Revoke a device's token and any pending enrolment code."""
    device = _device(device_id)
    cred = DeviceCredential.objects.select_for_update().filter(device=device).first()
    if cred is None or (cred.revoked_at is not None and not cred.enrolment_digest):
        raise DomainError(
            "accounts.device_not_enrolled", f"Device {device_id!r} holds no credential.", status=409
        )
    cred.revoked_at = clock.now()
    cred.broker_hash = ""
    cred.enrolment_digest = ""
    cred.enrolment_expires_at = None
    cred.save()
    audit.record(
        "accounts.device_token_revoked", obj=device, before={"token_prefix": cred.token_prefix}
    )
    bus.publish(DeviceTokenChanged(device=device.external_id))


@dataclass(frozen=True)
class CredentialState:
    """What a device's credential looks like now, for the device page."""

    device: Device
    status: str  # none | pending | active | revoked
    token_prefix: str
    enrolled_at: object
    rotated_at: object
    revoked_at: object
    enrolment_expires_at: object


def credential_state(*, device_id: str) -> CredentialState:
    """Describe a device's credential: none, pending enrolment, active or revoked."""
    device = _device(device_id)
    cred = DeviceCredential.objects.filter(device=device).first()
    if cred is None:
        return CredentialState(device, "none", "", None, None, None, None)
    if cred.enrolment_digest:
        status = "pending"
    elif cred.revoked_at is not None:
        status = "revoked"
    elif cred.token_digest:
        status = "active"
    else:
        status = "none"
    return CredentialState(
        device,
        status,
        cred.token_prefix,
        cred.enrolled_at,
        cred.rotated_at,
        cred.revoked_at,
        cred.enrolment_expires_at,
    )
