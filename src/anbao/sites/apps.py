"""Sites app: the event and its venues, zones, checkpoints, lanes, perimeter, airspace, devices."""

from django.apps import AppConfig


class SitesConfig(AppConfig):
    """The one model of the event site that every other domain hangs off."""

    name = "anbao.sites"
    label = "sites"
    verbose_name = "Sites"

    def ready(self) -> None:
        """Plug the sites domain's simulated devices into the demo simulator."""
        from anbao.core import simulation
        from anbao.sites.simulation import fleet

        simulation.register("sites", fleet)  # type: ignore[arg-type]
