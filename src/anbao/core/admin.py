"""Back office: an audited ModelAdmin base, and the audit log (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest

from anbao.core import audit
from anbao.core.models import AuditEntry, FailedEvent


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every save and delete writes an audit row with before and after."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        """Save, then audit the change with the fields before and after."""
        before = None
        if change and obj.pk is not None:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = audit.snapshot(old) if old is not None else None
        super().save_model(request, obj, form, change)
        action = "admin.changed" if change else "admin.created"
        audit.record(action, obj=obj, before=before, after=audit.snapshot(obj))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        """Audit, then delete."""
        audit.record("admin.deleted", obj=obj, before=audit.snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Audit each object of a bulk delete, then delete."""
        for obj in queryset:
            audit.record("admin.deleted", obj=obj, before=audit.snapshot(obj))
        super().delete_queryset(request, queryset)

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm,
        formset: BaseFormSet,
        change: bool,
    ) -> None:
        """Save inline rows, auditing each one created, changed or deleted."""
        instances = formset.save(commit=False)  # type: ignore[attr-defined]
        for obj in formset.deleted_objects:  # type: ignore[attr-defined]
            audit.record("admin.deleted", obj=obj, before=audit.snapshot(obj))
            obj.delete()
        for obj in instances:
            created = obj.pk is None
            obj.save()
            audit.record(
                "admin.created" if created else "admin.changed", obj=obj, after=audit.snapshot(obj)
            )
        formset.save_m2m()  # type: ignore[attr-defined]


class ReadOnlyAdmin(admin.ModelAdmin):
    """A back-office view of a model that only the services change: no add, edit or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Nothing is added here."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Nothing is edited here."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Nothing is deleted here."""
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: searchable, never editable."""

    list_display = ("at", "actor_label", "source", "action", "object_type", "object_repr", "ip")
    list_filter = ("source", "is_read")
    search_fields = ("actor_label", "action", "object_type", "object_repr")
    date_hierarchy = "at"


@admin.register(FailedEvent)
class FailedEventAdmin(admin.ModelAdmin):
    """Bus events whose handler failed, kept for retry."""

    list_display = ("at", "event_type", "handler", "attempts", "resolved")
    list_filter = ("resolved", "event_type")
    readonly_fields = ("at", "event_type", "handler", "payload", "error", "attempts")
