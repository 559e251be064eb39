"""WSGI entry point (gunicorn clinic.wsgi)."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

application = get_wsgi_application()

# Never serve without a real secret key: it signs sessions, CSRF tokens and API tokens.
if settings.SECRET_KEY_MISSING:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment or .env (DEBUG=1 allows a "
        "development key)."
    )

# Import the URLconf, and with it every view, serializer and template tag module, now rather
# than inside the first request of each worker. With gunicorn's preload_app (gunicorn.conf.py)
# the workers are forked from a warm process and share these pages of memory.
get_resolver().url_patterns  # noqa: B018
