"""Django settings, composed from :mod:`anbao.config` (environment and ``anbao.toml``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from anbao import config

CONFIG = config.load()
ANBAO_HOME: Path = CONFIG.home
_SECRETS = config.instance_secrets(ANBAO_HOME)

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = _SECRETS["secret_key"]
ANBAO_DATA_KEY = _SECRETS["data_key"]
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",
    "anbao.core",
    "anbao.accounts",
    "anbao.sites",
    "anbao.accreditation",
    "anbao.screening",
    "anbao.workforce",
    "anbao.alarms",
    "anbao.incidents",
    "anbao.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "anbao.core.middleware.ApiErrorFormatMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "anbao.accounts.middleware.UserLanguageMiddleware",
    "anbao.core.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "anbao.urls"
ASGI_APPLICATION = "anbao.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "anbao.accounts.context_processors.navigation",
            ],
        },
    },
]


def _database() -> dict[str, object]:
    if CONFIG.database_url:
        db: dict[str, object] = dict(dj_database_url.parse(CONFIG.database_url, conn_max_age=60))
        if db.get("ENGINE") == "django.db.backends.sqlite3":
            db.setdefault("OPTIONS", {})
        return db
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(ANBAO_HOME / "anbao.sqlite3"),
        "OPTIONS": {
            # WAL lets the dashboard read while devices write; IMMEDIATE avoids
            # "database is locked" upgrades from read to write inside a transaction.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
                # Each write by another process empties this connection's page cache; mapped
                # pages are re-read from the OS cache without a system call per page.
                " PRAGMA mmap_size=268435456;"
            ),
            "transaction_mode": "IMMEDIATE",
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Brute-force protection: lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = CONFIG.login_failure_limit
AXES_COOLOFF_TIME = CONFIG.login_cooloff_minutes / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = CONFIG.time_zone

STATIC_URL = "/static/"
STATIC_ROOT = ANBAO_HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on a missing folder
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve straight from the package's static folders: no collectstatic step for the demo.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Under ASGI, Django streams whitenoise's file iterators through a thread and says so for
# every static file; the assets are small and cached by the browser, so the note is noise.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)

MEDIA_ROOT = ANBAO_HOME / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Oversized payloads are refused with a clear 400/413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "anbao": {"handlers": ["console"], "level": "INFO"},
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 100
