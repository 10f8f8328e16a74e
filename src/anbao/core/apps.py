"""Core app: clock, audit log, domain errors, event bus."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure for every domain."""

    name = "anbao.core"
    label = "core"
    verbose_name = "Core"
