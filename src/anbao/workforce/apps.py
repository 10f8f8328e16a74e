"""Workforce app."""

from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    """The workforce domain."""

    name = "anbao.workforce"
    label = "workforce"
    verbose_name = "Workforce"
