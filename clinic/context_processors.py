from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _


def clinic(request: HttpRequest) -> dict[str, Any]:
    return {"clinic_name": settings.CLINIC_NAME or _("Community Clinic")}
