"""Alarms app."""

from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """The alarms domain."""

    name = "anbao.alarms"
    label = "alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        """React to devices going silent; plug in the simulated sensors and the alarm timers."""
        from anbao.alarms import reactions
        from anbao.alarms.services import tick_current
        from anbao.alarms.simulation import sensor_simulation
        from anbao.core import housekeeping, simulation

        reactions.connect()
        simulation.register("alarms", sensor_simulation)  # type: ignore[arg-type]
        housekeeping.register("alarms.timers", 5.0, tick_current)
