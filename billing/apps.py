from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from billing.payment_methods import ensure_payment_methods

        post_migrate.connect(
            ensure_payment_methods, sender=self, dispatch_uid="billing_payment_methods"
        )
