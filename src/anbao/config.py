"""Instance configuration: environment variables over an optional ``anbao.toml``, and secrets."""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


@dataclass(frozen=True)
class Config:
    """Resolved settings of one anbao instance."""

    home: Path
    database_url: str | None
    debug: bool
    allowed_hosts: list[str]
    time_zone: str
    login_failure_limit: int
    login_cooloff_minutes: int
    redis_url: str | None
    mqtt_url: str | None


def _home() -> Path:
    return Path(os.environ.get("ANBAO_HOME", "./.anbao")).expanduser().resolve()


def _toml(home: Path) -> dict[str, Any]:
    candidates = [os.environ.get("ANBAO_CONFIG"), str(home / "anbao.toml"), "anbao.toml"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            try:
                with open(candidate, "rb") as fh:
                    return tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{candidate}: {exc}") from exc
    return {}


def _get(data: dict[str, Any], env: str, key: str, default: Any) -> Any:
    if env in os.environ:
        return os.environ[env]
    return data.get(key, default)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def load() -> Config:
    """Read the configuration from the environment and ``anbao.toml``."""
    home = _home()
    data = _toml(home)
    hosts = _get(data, "ANBAO_ALLOWED_HOSTS", "allowed_hosts", "127.0.0.1,localhost,testserver")
    if isinstance(hosts, str):
        hosts = [h.strip() for h in hosts.split(",") if h.strip()]
    try:
        limit = int(_get(data, "ANBAO_LOGIN_FAILURE_LIMIT", "login_failure_limit", 5))
        cooloff = int(_get(data, "ANBAO_LOGIN_COOLOFF_MINUTES", "login_cooloff_minutes", 15))
    except ValueError as exc:
        raise ConfigError(f"login limits must be whole numbers: {exc}") from exc
    return Config(
        home=home,
        database_url=_get(data, "ANBAO_DATABASE_URL", "database_url", None) or None,
        debug=_bool(_get(data, "ANBAO_DEBUG", "debug", False)),
        allowed_hosts=list(hosts),
        time_zone=str(_get(data, "ANBAO_TIME_ZONE", "time_zone", "Asia/Shanghai")),
        login_failure_limit=limit,
        login_cooloff_minutes=cooloff,
        redis_url=_get(data, "ANBAO_REDIS_URL", "redis_url", None) or None,
        mqtt_url=_get(data, "ANBAO_MQTT_URL", "mqtt_url", None) or None,
    )


def instance_secrets(home: Path) -> dict[str, str]:
    """Return the instance's secrets, generating and storing them (mode 600) on first run."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is unreadable: {exc}") from exc
    wanted = {"secret_key": 50, "data_key": 32}
    missing = {k: n for k, n in wanted.items() if not stored.get(k)}
    if missing:
        for key, nbytes in missing.items():
            stored[key] = secrets.token_urlsafe(nbytes)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(stored, fh, indent=2)
        os.replace(tmp, path)
    return stored
