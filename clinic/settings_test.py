"""Settings for the test suite: the real settings, plus a fast password hasher."""

import os

os.environ.setdefault("SECRET_KEY", "test-suite-only-secret-key-not-for-deployment")
# The suite and the live server speak plain HTTP; every other production default stays on.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from clinic.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
STATIC_ROOT = None  # files come from the finders; nothing is collected for tests

# Tasks run at once, in the test's own process (a test of the worker chooses the database).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each test starts from an empty local cache whatever REDIS_URL says (a shared Redis would
# carry throttle counts from test to test); tests of the Redis cache configure it themselves.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
