"""Alarms app."""

from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """The alarms domain."""

    name = "anbao.alarms"
    label = "alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        """React to devices going silent; plug the simulated sensors into the demo."""
        from anbao.alarms import reactions
        from anbao.alarms.simulation import sensor_simulation
        from anbao.core import simulation

        reactions.connect()
        simulation.register("alarms", sensor_simulation)  # type: ignore[arg-type]
