"""Back office for users (audited) and read-only views of tokens and device credentials."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from anbao.accounts.models import ApiToken, DeviceCredential, User
from anbao.core.admin import AuditedModelAdmin, ReadOnlyAdmin


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    """Users with their role, language and scope."""

    list_display = ("username", "role", "language", "is_active", "last_login")
    list_filter = ("role", "is_active", "language")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("anbao", {"fields": ("role", "language", "venues", "checkpoints")}),
    )
    filter_horizontal = ("venues", "checkpoints", "groups", "user_permissions")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Personal API tokens (only their prefix; the secret is never stored)."""

    list_display = (
        "prefix",
        "name",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    exclude = ("digest",)


@admin.register(DeviceCredential)
class DeviceCredentialAdmin(ReadOnlyAdmin):
    """Device credentials; enrol, rotate and revoke from the device page or the CLI."""

    list_display = ("device", "token_prefix", "enrolled_at", "rotated_at", "revoked_at")
    exclude = ("token_digest", "enrolment_digest")
