"""The audit page's search form: it validates the GET parameters into an ``AuditFilter``."""

from __future__ import annotations

from datetime import tzinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from anbao.core.models import AuditSource
from anbao.core.services import EXPORT_FORMATS, AuditFilter


class AuditSearchForm(forms.Form):
    """Text, source, date range and 'reads of personal data only'."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"placeholder": _("actor, action or object"), "type": "search"}
        ),
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("All sources")), *AuditSource.choices]
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reads = forms.BooleanField(label=_("Reads of personal data only"), required=False)

    def clean(self) -> dict[str, object]:
        """Refuse a range whose end lies before its start."""
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            raise forms.ValidationError(_("The end date lies before the start date."), code="range")
        return data

    def to_filter(self, tz: tzinfo) -> AuditFilter:
        """Return the validated filter (call after ``is_valid()``)."""
        d = self.cleaned_data
        return AuditFilter(
            text=d.get("q") or "",
            source=d.get("source") or "",
            date_from=d.get("date_from"),
            date_to=d.get("date_to"),
            reads_only=bool(d.get("reads")),
            tz=tz,
        )


def export_format(value: str | None) -> str | None:
    """Return ``csv`` or ``xlsx`` when asked for, else None (the HTML page)."""
    value = (value or "").lower()
    return value if value in EXPORT_FORMATS else None
