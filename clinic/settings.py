"""Clinic Flow settings: one module, configured from the environment (django-environ).

Every variable is documented in README.md § Configuration. Defaults are safe for production
(DEBUG off, no secret key); `make run` turns DEBUG on for the local quick start.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or .env (DEBUG=1 allows a "
            "development key)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "clinic",
    "scheduling",
    "appointments",
    "visits",
    "billing",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "clinic.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

WSGI_APPLICATION = "clinic.wsgi.application"

# --- Database -------------------------------------------------------------------------------
# SQLite file by default (quick start); production: DATABASE_URL=mysql://user:pass@host:3306/db
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.mysql":
    # utf8mb4 for full Unicode (names), strict mode so that bad data is an error, never
    # silently truncated. Django itself sets READ COMMITTED on MySQL connections: keep it.
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("charset", "utf8mb4")
    _db["OPTIONS"].setdefault(
        "init_command", "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE'"
    )
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once with "database is locked".
    _db.setdefault("OPTIONS", {}).setdefault("timeout", 20)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "clinic.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------------
# The browser's language chooses (LocaleMiddleware); Simplified Chinese otherwise.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
# Tests and DEBUG serve files straight from the finders, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG


# --- Clinic rules ---------------------------------------------------------------------------
def _parse_hours(name: str, default: str) -> tuple[dt.time, dt.time]:
    raw = env.str(name, default=default)
    try:
        start_text, end_text = raw.split("-")
        start = dt.time.fromisoformat(start_text.strip())
        end = dt.time.fromisoformat(end_text.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must look like 08:00-12:00, got {raw!r}.") from exc
    if start >= end:
        raise ImproperlyConfigured(f"{name}: the start {start} must come before the end {end}.")
    return start, end


# Shown on pages, slips and receipts; empty means the translated "Community Clinic".
CLINIC_NAME = env.str("CLINIC_NAME", default="")
# Opening hours of the two half-day slots; a full-day schedule spans both.
CLINIC_MORNING_HOURS = _parse_hours("CLINIC_MORNING_HOURS", "08:00-12:00")
CLINIC_AFTERNOON_HOURS = _parse_hours("CLINIC_AFTERNOON_HOURS", "13:30-17:30")
if CLINIC_MORNING_HOURS[1] > CLINIC_AFTERNOON_HOURS[0]:
    raise ImproperlyConfigured(
        "CLINIC_MORNING_HOURS must end before CLINIC_AFTERNOON_HOURS starts."
    )
# How far ahead patients may book, how early they may check in, and the grace period after
# a slot ends before an appointment may be marked a no-show.
CLINIC_BOOKING_HORIZON_DAYS = env.int("CLINIC_BOOKING_HORIZON_DAYS", default=30)
CLINIC_CHECK_IN_EARLY_MINUTES = env.int("CLINIC_CHECK_IN_EARLY_MINUTES", default=60)
CLINIC_NO_SHOW_GRACE_MINUTES = env.int("CLINIC_NO_SHOW_GRACE_MINUTES", default=30)
# Whether patients read their medical records on the patient site (off unless enabled).
CLINIC_PATIENTS_SEE_RECORDS = env.bool("CLINIC_PATIENTS_SEE_RECORDS", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
