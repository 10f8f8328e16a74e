"""Screening app."""

from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    """The screening domain."""

    name = "anbao.screening"
    label = "screening"
    verbose_name = "Screening"

    def ready(self) -> None:
        """Plug the living checkpoints into the demo simulator; drop changed device tokens."""
        from anbao.accounts.events import DeviceTokenChanged
        from anbao.core import bus, simulation
        from anbao.screening import fastpath
        from anbao.screening.simulation import traffic_simulation

        simulation.register("screening", traffic_simulation)  # type: ignore[arg-type]
        # A revoked or rotated token stops working in this process at once (others: 5 s).
        bus.subscribe(DeviceTokenChanged, fastpath.on_token_changed)
