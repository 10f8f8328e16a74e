"""Workforce app."""

from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    """The workforce domain."""

    name = "anbao.workforce"
    label = "workforce"
    verbose_name = "Workforce"

    def ready(self) -> None:
        """Plug guards checking in and out into the demo simulator."""
        from anbao.core import simulation
        from anbao.workforce.simulation import duty_simulation

        simulation.register("workforce", duty_simulation)  # type: ignore[arg-type]
