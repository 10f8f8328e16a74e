"""Model fields that encrypt their value at rest (see :mod:`anbao.core.crypto`)."""

from __future__ import annotations

from typing import Any

from django.db import models

from anbao.core import crypto


class EncryptedTextField(models.TextField):
    """A text field stored encrypted; reads decrypt, queries can only test for empty.

    Search by value through a separate blind-index column instead.
    """

    description = "Text encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        """Encrypt before storing."""
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt_text(str(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """Decrypt after loading."""
        if value in (None, ""):
            return value
        return crypto.decrypt_text(value)


class EncryptedBinaryField(models.BinaryField):
    """A binary field (photos, face templates) stored encrypted."""

    description = "Bytes encrypted at rest"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        """Encrypt before storing."""
        if value is None:
            return None
        raw = bytes(value)
        if not raw:
            return super().get_db_prep_value(raw, connection, prepared)
        return super().get_db_prep_value(crypto.encrypt_bytes(raw), connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """Decrypt after loading."""
        if value is None:
            return None
        raw = bytes(value)
        return crypto.decrypt_bytes(raw) if raw else raw
