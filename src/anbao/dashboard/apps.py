"""Dashboard app."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The dashboard domain."""

    name = "anbao.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"
