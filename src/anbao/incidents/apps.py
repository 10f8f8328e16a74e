"""Incidents app."""

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """The incidents domain."""

    name = "anbao.incidents"
    label = "incidents"
    verbose_name = "Incidents"
