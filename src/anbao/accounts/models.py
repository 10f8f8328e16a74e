"""Users with a role and a scope, API tokens, and device credentials."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.accounts.roles import Cap, Role, caps_for


class User(AbstractUser):
    """A person who logs in; one role, optionally scoped to venues or checkpoints."""

    role = models.CharField(max_length=30, choices=Role.choices, default=Role.POLICE_LIAISON)
    language = models.CharField(
        max_length=10, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans"
    )
    venues = models.ManyToManyField("sites.Venue", blank=True, related_name="+")
    checkpoints = models.ManyToManyField("sites.Checkpoint", blank=True, related_name="+")

    class Meta:
        verbose_name = _("user")

    @property
    def caps(self) -> frozenset[Cap]:
        """Return the capabilities this user holds."""
        if not self.is_active:
            return frozenset()
        if self.is_superuser:
            return frozenset(Cap)
        return caps_for(self.role)

    def can(self, cap: Cap) -> bool:
        """Say whether this user holds ``cap``."""
        return cap in self.caps


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token for a user's scripts; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @staticmethod
    def new_secret() -> str:
        """Return a fresh token text: a short public prefix and a long secret."""
        return "abu_" + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(secret: str) -> str:
        """Return the stored digest of a token text."""
        return _digest(secret)


class DeviceCredential(models.Model):
    """A device's token: enrolled once with a one-time code, rotatable and revocable."""

    device = models.OneToOneField(
        "sites.Device", on_delete=models.CASCADE, related_name="credential"
    )
    enrolment_digest = models.CharField(max_length=64, blank=True)
    enrolment_expires_at = models.DateTimeField(null=True, blank=True)
    token_prefix = models.CharField(max_length=12, blank=True)
    token_digest = models.CharField(max_length=64, blank=True, db_index=True)
    broker_hash = models.CharField(
        max_length=200, blank=True, help_text="the token hashed for the MQTT broker's password file"
    )
    enrolled_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"credential of {self.device_id}"

    @staticmethod
    def new_token() -> str:
        """Return a fresh device token text."""
        return "abd_" + secrets.token_urlsafe(32)

    @staticmethod
    def new_enrolment_code() -> str:
        """Return a fresh one-time enrolment code (short enough to type if the QR fails)."""
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        return "-".join(raw[i : i + 4] for i in range(0, 16, 4))

    @staticmethod
    def digest_of(secret: str) -> str:
        """Return the stored digest of a token or code."""
        return _digest(secret)
