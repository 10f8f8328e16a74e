"""Accreditation app."""

from django.apps import AppConfig


class AccreditationConfig(AppConfig):
    """The accreditation domain."""

    name = "anbao.accreditation"
    label = "accreditation"
    verbose_name = "Accreditation"
