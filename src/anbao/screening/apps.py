"""Screening app."""

from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    """The screening domain."""

    name = "anbao.screening"
    label = "screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        """Plug the living checkpoints into the demo simulator."""
        from anbao.core import simulation
        from anbao.screening.simulation import traffic_simulation

        simulation.register("screening", traffic_simulation)  # type: ignore[arg-type]
