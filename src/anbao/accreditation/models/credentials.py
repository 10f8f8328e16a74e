"""Accreditation models: signing keys, issued credentials, revocations (the signed scheme).

Private keys are stored encrypted (``EncryptedBinaryField``), never in the repository.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.core.fields import EncryptedBinaryField

__all__ = [
    "AccessPolicy",
    "CredentialKey",
    "CredentialPurpose",
    "IssuedCredential",
    "KeyPurpose",
    "KeyStatus",
    "RevocationEntry",
    "SchemeCounter",
]


class KeyPurpose(models.TextChoices):
    """What a key signs: the root signs keys and trust lists; the others are bound to one use."""

    ROOT = "root", _("Root")
    BADGE = "badge", _("Badge")
    VEHICLE = "vehicle", _("Vehicle permit")
    DAY_PASS = "day_pass", _("Day pass")
    HEALTH_PASS = "health_pass", _("Health pass")
    REVOCATION = "revocation", _("Revocation list")
    GATE_BUNDLE = "gate_bundle", _("Gate bundle")


class KeyStatus(models.TextChoices):
    """Active keys sign; retired keys still verify until they expire; revoked keys are unlisted."""

    ACTIVE = "active", _("Active")
    RETIRED = "retired", _("Retired")
    REVOKED = "revoked", _("Revoked")


class CredentialKey(models.Model):
    """An Ed25519 key of the credential scheme, with its root-signed certificate."""

    kid = models.CharField(max_length=16, unique=True, help_text="hex of 8 bytes of SHA-256")
    purpose = models.CharField(max_length=12, choices=KeyPurpose.choices, db_index=True)
    status = models.CharField(max_length=8, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    public_key = models.BinaryField()
    private_key = EncryptedBinaryField(editable=False)
    certificate = models.BinaryField(blank=True, default=b"", help_text="empty for the root")
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["purpose", "-created_at"]
        verbose_name = _("credential key")

    def __str__(self) -> str:
        return f"{self.purpose}:{self.kid} ({self.status})"


class CredentialPurpose(models.TextChoices):
    """What an issued credential is for."""

    BADGE = "badge", _("Badge")
    VEHICLE = "vehicle", _("Vehicle permit")
    DAY_PASS = "day_pass", _("Day pass")
    HEALTH_PASS = "health_pass", _("Health pass")


class IssuedCredential(models.Model):
    """One signed credential: its claims, QR text and QR image (rendered once, at issuance)."""

    cid = models.CharField(max_length=32, unique=True, help_text="hex of the 16-byte id")
    accreditation = models.ForeignKey(
        "accreditation.Accreditation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credentials",
    )
    vehicle_permit = models.ForeignKey(
        "accreditation.VehiclePermit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credentials",
    )
    temporary_pass = models.ForeignKey(
        "accreditation.TemporaryPass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credentials",
    )
    purpose = models.CharField(max_length=12, choices=CredentialPurpose.choices, db_index=True)
    kid = models.CharField(max_length=16)
    claims = models.JSONField()
    qr_text = models.TextField()
    qr_svg = models.TextField()
    qr_png = models.BinaryField(help_text="one pixel per module, quiet zone included")
    qr_version = models.PositiveSmallIntegerField()
    issued_at = models.DateTimeField()
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, help_text="why it was issued")
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revocation_reason = models.CharField(max_length=200, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("issued credential")

    def __str__(self) -> str:
        return f"{self.purpose}:{self.cid[:8]}"

    @property
    def active(self) -> bool:
        """Return whether the credential has not been revoked."""
        return self.revoked_at is None


class RevocationEntry(models.Model):
    """A revoked credential as listed for scanners: its truncated hash and the list version."""

    credential = models.OneToOneField(
        IssuedCredential, on_delete=models.CASCADE, related_name="revocation"
    )
    hash = models.CharField(max_length=16, unique=True, help_text="hex of 8 bytes of SHA-256")
    version = models.PositiveIntegerField(db_index=True)
    revoked_at = models.DateTimeField()
    expires_at = models.DateTimeField(help_text="when the credential would have expired")
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["version"]
        verbose_name = _("revocation entry")

    def __str__(self) -> str:
        return f"v{self.version} {self.hash}"


class SchemeCounter(models.Model):
    """A named, monotonically growing version number (trust list, revocation list)."""

    name = models.CharField(max_length=40, unique=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class AccessPolicy(models.Model):
    """An event's access policy document (rules as data; see ``credentials.policy``)."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=60)
    document = models.JSONField()
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["event", "code"]
        verbose_name = _("access policy")
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="access_policy_event_code")
        ]

    def __str__(self) -> str:
        return self.code
