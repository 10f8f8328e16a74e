"""Incidents app."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """The incidents domain."""

    name = "anbao.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        """Plug in the demo's incident desk, and the incident timers for every server."""
        from anbao.core import housekeeping, simulation
        from anbao.incidents.simulation import incident_simulation
        from anbao.incidents.timers import tick_current

        simulation.register("incidents", incident_simulation)  # type: ignore[arg-type]
        housekeeping.register("incidents.timers", 10.0, tick_current)
