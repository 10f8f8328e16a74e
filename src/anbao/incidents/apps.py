"""Incidents app."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """The incidents domain."""

    name = "anbao.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        """Plug the incident desk (timers, incidents from critical alarms) into the simulator."""
        from anbao.core import simulation
        from anbao.incidents.simulation import incident_simulation

        simulation.register("incidents", incident_simulation)  # type: ignore[arg-type]
