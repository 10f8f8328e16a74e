"""Screening app."""

from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    """The screening domain."""

    name = "anbao.screening"
    label = "screening"
    verbose_name = "Screening"
