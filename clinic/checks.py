"""System checks of the clinic's own settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs: Any, **kwargs: Any) -> list[Error]:
    if getattr(settings, "SECRET_KEY_MISSING", False):
        return [
            Error(
                "SECRET_KEY is not set: serving would refuse to start.",
                hint="Set SECRET_KEY in the environment or .env.",
                id="clinic.E001",
            )
        ]
    return []
