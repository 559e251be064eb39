"""WSGI entry point (gunicorn clinic.wsgi)."""

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

application = get_wsgi_application()

# Never serve without a real secret key: it signs sessions, CSRF tokens and API tokens.
if settings.SECRET_KEY_MISSING:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment or .env (DEBUG=1 allows a "
        "development key)."
    )
