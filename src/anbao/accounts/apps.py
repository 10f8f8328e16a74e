"""Accounts app: users, roles and scopes, API tokens, device credentials."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who may do what, where."""

    name = "anbao.accounts"
    label = "accounts"
    verbose_name = "Accounts"
