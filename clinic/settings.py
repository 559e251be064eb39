"""Clinic Flow settings: one module, configured from the environment (django-environ).

Every variable is documented in README.md § Configuration. Defaults are safe for production
(DEBUG off, no secret key); `make run` turns DEBUG on for the local quick start.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Without DEBUG there is no default key. Commands that sign nothing (makemigrations --check
# in a hook, collectstatic in an image build) run with a throw-away random key; serving
# refuses to start without a real one (clinic/wsgi.py), and so does check --deploy.
SECRET_KEY = env.str("SECRET_KEY", default="")
SECRET_KEY_MISSING = not SECRET_KEY and not DEBUG
if not SECRET_KEY:
    SECRET_KEY = (
        secrets.token_urlsafe(50)
        if SECRET_KEY_MISSING
        else "django-insecure-development-only-key-never-use-in-production"
    )

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
    # django-axes, with its Django Admin section titled in the clinic's languages.
    "clinic.third_party.AxesConfig",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "clinic",
    "notifications",
    "scheduling",
    "appointments",
    "visits",
    "billing",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their long cache; everything else is no-store.
    "clinic.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clinic.middleware.SessionLimitsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its lockout answer.
    "axes.middleware.AxesMiddleware",
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
    # Messages to patients are plain text (text messages, e-mails): the same templates,
    # rendered without HTML escaping ("Ear, Nose & Throat", not "&amp;").
    {
        "NAME": "plain_text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"autoescape": False},
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
# Galera: causal reads. With DATABASE_WSREP_SYNC_WAIT=1 every read waits until the node has
# applied every write the cluster had committed when the read began, so a page reloaded
# right after a POST answered by another node shows that POST (a bitmask, 0-15: 1 covers
# SELECT and SHOW; see MariaDB's wsrep_sync_wait). Unset, the server's own setting stands.
# Single-writer mode (every request through one node) reads its own writes without it.
DATABASE_WSREP_SYNC_WAIT = env.int("DATABASE_WSREP_SYNC_WAIT", default=None)
if DATABASE_WSREP_SYNC_WAIT is not None and not 0 <= DATABASE_WSREP_SYNC_WAIT <= 15:
    raise ImproperlyConfigured("DATABASE_WSREP_SYNC_WAIT must be between 0 and 15.")
if _db["ENGINE"] == "django.db.backends.mysql":
    # utf8mb4 for full Unicode (names), strict mode so that bad data is an error, never
    # silently truncated. Django itself sets READ COMMITTED on MySQL connections: keep it.
    # One statement (init_command cannot hold several).
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("charset", "utf8mb4")
    _init = "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE'"
    if DATABASE_WSREP_SYNC_WAIT is not None:
        if "init_command" in _db["OPTIONS"]:
            raise ImproperlyConfigured(
                "DATABASE_WSREP_SYNC_WAIT cannot be added to an init_command given in "
                "DATABASE_URL: put SESSION wsrep_sync_wait in that command instead."
            )
        _init += f", SESSION wsrep_sync_wait={DATABASE_WSREP_SYNC_WAIT}"
    _db["OPTIONS"].setdefault("init_command", _init)
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif _db["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once with "database is locked".
    _db.setdefault("OPTIONS", {}).setdefault("timeout", 20)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
# Several app servers share one Redis (REDIS_URL=redis://host:6379/0): the API's sign-in
# throttle and the registration page's rate limit (clinic.client_address.AuthRateThrottle)
# count per client across all of them. Without it, each process keeps its own local-memory
# cache (make run, the test suite). Sessions stay in the database either way.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "clinic",
            # Passed to redis-py's connection pool: a Redis that does not answer fails a
            # request (503, clinic.availability) or a health check within a second instead
            # of redis-py's default of 5.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "clinic.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes first: it refuses a locked-out username and address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# The database handler (axes' default, named here on purpose): failed sign-ins are rows of
# AccessAttempt, so a lockout holds across every app server; axes then uses no cache.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# axes' default cool-off is a permanent lock; a clinic wants the user back after a while.
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clinic.views.locked_out"
AXES_VERBOSE = False
# How many proxies in front of the application append to X-Forwarded-For (nginx: 1). The
# client's address is read through them (clinic.client_address) by the lockout, the audit
# log, the API's throttles and the registration page's rate limit; 0 believes no header.
CLINIC_NUM_PROXIES = env.int("NUM_PROXIES", default=0)
if CLINIC_NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more.")
AXES_CLIENT_IP_CALLABLE = "clinic.client_address.client_ip"

# Argon2id sized for a 2-core server (see clinic/hashers.py); older hashes still verify. The
# clinic's hasher is the only one for "argon2": Django picks the hasher that verifies a hash by
# its algorithm name, the last listed one winning, so a second Argon2 entry would verify every
# argon2 hash in its stead. It reads the parameters from each hash (Django's own included).
PASSWORD_HASHERS = [
    "clinic.hashers.ClinicArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# --- Sessions and transport security --------------------------------------------------------
# A sign-in (site session or API refresh tokens) ends after its role's idle time (polling does
# not count) and, however busy, SESSION_MAX_HOURS after it was made (clinic.sessions).
CLINIC_STAFF_IDLE_MINUTES = env.int("STAFF_IDLE_MINUTES", default=30)
CLINIC_PATIENT_IDLE_MINUTES = env.int("PATIENT_IDLE_MINUTES", default=120)
SESSION_COOKIE_AGE = env.int("SESSION_MAX_HOURS", default=12) * 3600
# Sessions in the database (shared by every app server); a lost database answers 503.
SESSION_ENGINE = "clinic.session_store"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The load balancer checks each app server over plain HTTP (clinic.views.healthz).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    # Behind nginx terminating TLS: trust its X-Forwarded-Proto header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: no inline script anywhere (htmx and every page script are files
# under /static/, htmx is told not to inject its indicator style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

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
# One way to write dates (2026-12-06) and times (10:48) in both languages, Django Admin too,
# and ISO values in every <input type="date">: clinic/formats/.
FORMAT_MODULE_PATH = ["clinic.formats"]
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
# Time-sliced booking: a new schedule's windows are this long (5-240 minutes); a patient
# who checks in after their window has ended queues after the patients of the window running
# then ("after_current_window") or keeps their own window's turn ("own_window").
CLINIC_WINDOW_MINUTES = env.int("CLINIC_WINDOW_MINUTES", default=30)
if not 5 <= CLINIC_WINDOW_MINUTES <= 240:
    raise ImproperlyConfigured("CLINIC_WINDOW_MINUTES must be between 5 and 240.")
CLINIC_LATE_ARRIVALS = env.str("CLINIC_LATE_ARRIVALS", default="after_current_window")
if CLINIC_LATE_ARRIVALS not in ("after_current_window", "own_window"):
    raise ImproperlyConfigured(
        'CLINIC_LATE_ARRIVALS must be "after_current_window" or "own_window".'
    )
# Whether patients read their medical records on the patient site (off unless enabled).
CLINIC_PATIENTS_SEE_RECORDS = env.bool("CLINIC_PATIENTS_SEE_RECORDS", default=False)


# --- Background work and messages (notifications) --------------------------------------------
def _choice(name: str, choices: dict[str, str], default: str) -> str:
    raw = env.str(name, default=default)
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}.")
    return choices[raw]


# Tasks (Django 6's API, django-tasks backport): the database backend, run by
# `manage.py run_worker`; TASKS_BACKEND=immediate runs each task at once in the process that
# enqueues it (the test suite does; periodic tasks then need `run_worker --batch` or a timer).
TASKS = {
    "default": {
        "BACKEND": _choice(
            "TASKS_BACKEND",
            {
                "database": "django_tasks_db.DatabaseBackend",
                "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            },
            "database",
        ),
    }
}
# The periodic tasks and their intervals in seconds (notifications.periodic).
CLINIC_PERIODIC_TASKS = {
    "notifications.tasks.send_due_notifications": 60,
    "appointments.tasks.queue_reminders": 300,
    "appointments.tasks.mark_due_no_shows": 300,
    "appointments.tasks.expire_offers": 60,
    "appointments.tasks.offer_free_places": 120,
    "notifications.tasks.prune_task_results": 24 * 3600,
}
# Reminders: sent from this hour (0-23, clinic time) the day before an appointment; a booking
# made later than that for the next day is reminded at once.
CLINIC_REMINDER_HOUR = env.int("CLINIC_REMINDER_HOUR", default=18)
if not 0 <= CLINIC_REMINDER_HOUR <= 23:
    raise ImproperlyConfigured("CLINIC_REMINDER_HOUR must be between 0 and 23.")
# Waitlist: how long a freed place is held for the patient it is offered to (minutes), and
# the shorter hold when the place is today.
CLINIC_OFFER_MINUTES = env.int("CLINIC_OFFER_MINUTES", default=30)
CLINIC_OFFER_SAME_DAY_MINUTES = env.int("CLINIC_OFFER_SAME_DAY_MINUTES", default=10)
if not 1 <= CLINIC_OFFER_SAME_DAY_MINUTES <= CLINIC_OFFER_MINUTES:
    raise ImproperlyConfigured(
        "CLINIC_OFFER_SAME_DAY_MINUTES must be between 1 and CLINIC_OFFER_MINUTES."
    )
# The no-show policy: CLINIC_NO_SHOW_LIMIT no-shows within CLINIC_NO_SHOW_LOOKBACK_DAYS stop
# a patient booking online for CLINIC_NO_SHOW_BLOCK_DAYS after the last one (the desk can
# still book for them, and lift the block). A limit of 0 turns the policy off.
CLINIC_NO_SHOW_LIMIT = env.int("CLINIC_NO_SHOW_LIMIT", default=3)
CLINIC_NO_SHOW_LOOKBACK_DAYS = env.int("CLINIC_NO_SHOW_LOOKBACK_DAYS", default=90)
CLINIC_NO_SHOW_BLOCK_DAYS = env.int("CLINIC_NO_SHOW_BLOCK_DAYS", default=30)
if CLINIC_NO_SHOW_LIMIT < 0 or CLINIC_NO_SHOW_LOOKBACK_DAYS < 1 or CLINIC_NO_SHOW_BLOCK_DAYS < 1:
    raise ImproperlyConfigured(
        "CLINIC_NO_SHOW_LIMIT must be 0 or more, the look-back and block days at least 1."
    )
# E-mail: EMAIL_URL as django-environ reads it (smtp+tls://user:password@host:587), the
# console when unset; the sender is DEFAULT_FROM_EMAIL.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")
# Text messages: the file backend (one file per message under CLINIC_SMS_FILE_DIR) or the
# HTTP gateway (notifications.channels.HttpSmsBackend and its CLINIC_SMS_HTTP_* settings).
CLINIC_SMS_BACKEND = _choice(
    "CLINIC_SMS_BACKEND",
    {
        "file": "notifications.channels.FileSmsBackend",
        "http": "notifications.channels.HttpSmsBackend",
    },
    "file",
)
CLINIC_SMS_FILE_DIR = env.str("CLINIC_SMS_FILE_DIR", default=str(BASE_DIR / "var" / "sms"))
CLINIC_SMS_HTTP_URL = env.str("CLINIC_SMS_HTTP_URL", default="")
CLINIC_SMS_HTTP_USER = env.str("CLINIC_SMS_HTTP_USER", default="")
CLINIC_SMS_HTTP_PASSWORD = env.str("CLINIC_SMS_HTTP_PASSWORD", default="")
CLINIC_SMS_HTTP_TOKEN = env.str("CLINIC_SMS_HTTP_TOKEN", default="")
CLINIC_SMS_HTTP_BODY = env.str(
    "CLINIC_SMS_HTTP_BODY", default='{"to": "{to}", "text": "{text}", "id": "{key}"}'
)


# Expected waits (visits.waits): the median and 80th percentile of a doctor's last
# CLINIC_WAIT_SAMPLE finished consultations within CLINIC_WAIT_LOOKBACK_DAYS; a doctor with
# fewer than CLINIC_WAIT_MIN_SAMPLE of them is estimated from the department's, and a
# department with fewer from CLINIC_WAIT_DEFAULT_MINUTES ("median" or "median-p80" in
# minutes); left unset, no estimate is shown rather than a made-up one.
def _parse_wait_default(raw: str) -> tuple[float, float] | None:
    if not raw.strip():
        return None
    try:
        parts = [float(part) for part in raw.split("-")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or not 0 < parts[0] <= parts[1]:
        raise ImproperlyConfigured(
            f"CLINIC_WAIT_DEFAULT_MINUTES must look like 10 or 10-15, got {raw!r}."
        )
    return parts[0], parts[1]


CLINIC_WAIT_SAMPLE = env.int("CLINIC_WAIT_SAMPLE", default=30)
CLINIC_WAIT_MIN_SAMPLE = env.int("CLINIC_WAIT_MIN_SAMPLE", default=5)
CLINIC_WAIT_LOOKBACK_DAYS = env.int("CLINIC_WAIT_LOOKBACK_DAYS", default=14)
CLINIC_WAIT_DEFAULT_MINUTES = _parse_wait_default(
    env.str("CLINIC_WAIT_DEFAULT_MINUTES", default="")
)
if not 1 <= CLINIC_WAIT_MIN_SAMPLE <= CLINIC_WAIT_SAMPLE or CLINIC_WAIT_LOOKBACK_DAYS < 1:
    raise ImproperlyConfigured(
        "CLINIC_WAIT_MIN_SAMPLE must be between 1 and CLINIC_WAIT_SAMPLE, and "
        "CLINIC_WAIT_LOOKBACK_DAYS at least 1."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own records (a refused request is a warning of django.request) obey LOG_LEVEL
    # too, through the root's handler only.
    "loggers": {
        "django": {"handlers": [], "level": env.str("LOG_LEVEL", default="INFO")},
    },
}

# --- JSON API (/api/) -----------------------------------------------------------------------
# Django REST framework with JWT (and the session for same-origin pages), one error body for
# every failure (api.exceptions), limit/offset lists (api.pagination), an OpenAPI 3 schema at
# /api/schema/ and Swagger UI at /api/docs/ served from the sidecar package (no CDN).
INSTALLED_APPS += [
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

REST_FRAMEWORK = {
    # JWT first: its WWW-Authenticate header makes a missing login a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.LimitOffsetPagination",
    "DEFAULT_METADATA_CLASS": "api.metadata.ClinicMetadata",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "clinic.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "api.schema.ClinicAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Sign-in, token refresh and self-registration, per client address.
        "auth": env.str("API_AUTH_THROTTLE_RATE", default="30/minute"),
    },
    # Any throttle left to REST framework reads the client's address as clinic.client_address
    # does (without it, REST framework believes X-Forwarded-For from anyone).
    "NUM_PROXIES": CLINIC_NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": dt.timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    # The longest any refresh token may live; each one is cut to its role's idle time and to
    # the end of its sign-in (clinic.sessions).
    "REFRESH_TOKEN_LIFETIME": dt.timedelta(seconds=SESSION_COOKIE_AGE),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # The login endpoint records the sign-in (audit event and last_login) itself.
    "UPDATE_LAST_LOGIN": False,
    # Tokens die with a password change.
    "CHECK_REVOKE_TOKEN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic Flow API",
    "DESCRIPTION": (
        "The operations of the clinic's pages, as JSON. Failures share one body: "
        '{"error": {"code", "message", "details"}}. Lists: {"count", "limit", "offset", '
        '"results"}. Staff are named by their staff code (doctor_id, emp_id).'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "appointments.models.AppointmentStatus",
        "VisitStatusEnum": "visits.models.VisitStatus",
        "RoomStatusEnum": "clinic.models.RoomStatus",
        "EmployeeStatusEnum": "clinic.models.EmployeeStatus",
        "TimeSlotEnum": "scheduling.models.TimeSlot",
        "HalfDaySlotEnum": ["morning", "afternoon"],
        "AppointmentMoveEnum": ["confirmed", "cancelled", "no_show"],
        "VisitMoveEnum": ["in_consultation", "awaiting_payment", "cancelled", "left"],
        "ChargeKindEnum": "visits.models.ChargeKind",
        "FrequencyEnum": "visits.models.Frequency",
        "NotifyChannelEnum": "clinic.models.NotifyChannel",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
        "api.schema.local_times",
    ],
}
