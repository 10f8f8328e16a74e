"""Core models: the audit log and the record of failed bus handlers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditSource(models.TextChoices):
    """Where a change or read came from."""

    UI = "ui", _("UI")
    API = "api", _("API")
    DEVICE = "device", _("Device")
    CLI = "cli", _("CLI")
    SYSTEM = "system", _("System")


class AuditEntry(models.Model):
    """One state change or one read of personal data: who, what, when, from where."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=10, choices=AuditSource.choices)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    is_read = models.BooleanField(default=False, help_text="a read of personal data")
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}"


class FailedEvent(models.Model):
    """A bus event whose handler raised: kept for retry, so that nothing silently vanishes."""

    at = models.DateTimeField()
    event_type = models.CharField(max_length=100)
    handler = models.CharField(max_length=200)
    payload = models.JSONField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.handler}"


class ProcessedMessage(models.Model):
    """A receipt for a device message id or nonce, so that a replay changes nothing."""

    source = models.CharField(max_length=100, help_text="who sent it, e.g. device:GS-A1-1")
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    result = models.JSONField(null=True, blank=True, help_text="the answer given the first time")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "message_id"], name="processed_message_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}#{self.message_id}"
