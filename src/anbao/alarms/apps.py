"""Alarms app."""

from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """The alarms domain."""

    name = "anbao.alarms"
    label = "alarms"
    verbose_name = "Alarms"
