import contextlib

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from clinic import checks, signals  # noqa: F401  (registers checks and receivers)
        from clinic.groups import sync_groups

        post_migrate.connect(sync_groups, dispatch_uid="clinic_sync_groups")

        _hide_token_admin()


def _hide_token_admin() -> None:
    """Refresh tokens are credentials: they are never shown in Django Admin.

    simplejwt's token_blacklist app registers its models there; the admin's autodiscovery
    has run by now (django.contrib.admin is ready before this app).
    """
    from django.contrib import admin
    from django.contrib.admin.exceptions import NotRegistered

    try:
        from rest_framework_simplejwt.token_blacklist.models import (
            BlacklistedToken,
            OutstandingToken,
        )
    except ImportError:  # pragma: no cover - the API is always installed
        return
    for model in (OutstandingToken, BlacklistedToken):
        with contextlib.suppress(NotRegistered):
            admin.site.unregister(model)
