"""Dashboard app."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The dashboard domain."""

    name = "anbao.dashboard"
    label = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        """Record a replay frame every minute in every server."""
        from anbao.core import housekeeping
        from anbao.dashboard.frames import record_current

        # Every 30 s so that no minute is missed; a minute already recorded is skipped.
        housekeeping.register("dashboard.frames", 30.0, record_current)
