"""Third-party apps in the clinic's languages.

django-axes ships no Chinese translation. Its app config here gives its Django Admin section
a title the clinic translates (settings.INSTALLED_APPS names it), and its strings are
repeated below so that `makemessages` puts them into the clinic's catalogue (locale/), which
Django reads before any app's own: Django Admin then shows axes' columns and filters in
Chinese. (Not in clinic/apps.py: a second AppConfig there would hide ClinicConfig from
Django's automatic choice.)
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    verbose_name = _("Sign-in protection")

    def ready(self) -> None:
        super().ready()
        _drop_axes_date_hierarchy()


def _drop_axes_date_hierarchy() -> None:
    """axes' Django Admin lists group by date in SQL (date_hierarchy), which converts time
    zones in the database: on a MariaDB without its time-zone tables the lists fail. Their
    date filters stay. (Django Admin has registered axes' lists by now: it is ready first.)"""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib import admin

    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        if admin.site.is_registered(model):
            admin.site.get_model_admin(model).date_hierarchy = None


# The same text as django-axes' own msgids.
AXES_STRINGS = (
    # Models (Django Admin's section rows and page titles).
    _("access attempt"),
    _("access attempts"),
    _("access failure"),
    _("access failures"),
    _("access log"),
    _("access logs"),
    _("access attempt expiration"),
    _("access attempt expirations"),
    # Columns, fields and filters.
    _("User Agent"),
    _("IP Address"),
    _("Username"),
    _("HTTP Accept"),
    _("Path"),
    _("Attempt Time"),
    _("Access lock out"),
    _("GET Data"),
    _("POST Data"),
    _("Failed Logins"),
    _("Access Attempt"),
    _("Expires At"),
    _("The time when access attempt expires and is no longer valid."),
    _("Logout Time"),
    _("Session key hash (sha256)"),
    _("Locked Out"),
    _("Form Data"),
    _("Meta Data"),
    _("Clean up expired attempts"),
    _("Not set"),
    _("Attempt Remaining"),
)
