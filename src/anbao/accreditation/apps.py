"""Accreditation app."""

from django.apps import AppConfig


class AccreditationConfig(AppConfig):
    """The accreditation domain."""

    name = "anbao.accreditation"
    label = "accreditation"
    verbose_name = "Accreditation"

    def ready(self) -> None:
        """Subscribe the credential reactions (reissue on change, revoke on suspension)."""
        from anbao.accreditation import credential_handlers

        credential_handlers.register()
