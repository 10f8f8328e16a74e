"""Sites app: the event, its venues, zones, checkpoints, lanes, perimeter, airspace, cameras, devices."""

from django.apps import AppConfig


class SitesConfig(AppConfig):
    """The one model of the event site that every other domain hangs off."""

    name = "anbao.sites"
    label = "sites"
    verbose_name = "Sites"
