from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clinic"
    verbose_name = _("Clinic")

    def ready(self) -> None:
        from clinic import signals  # noqa: F401  (connects the login audit receivers)
