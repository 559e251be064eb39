"""The waiting-room display: a page per department for a screen in the waiting room.

Open without signing in, or behind an access key (CLINIC_DISPLAY_KEY, given as ?key=). It
shows queue numbers and masked names only, and polls itself for fresh content.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.models import Department
from visits.selectors import waiting_room_board

# How many waiting patients each room shows after the one in consultation.
NEXT_UP_COUNT = 5


def _check_display_key(request: HttpRequest) -> None:
    key = settings.CLINIC_DISPLAY_KEY
    if key and not constant_time_compare(request.GET.get("key", ""), key):
        raise PermissionDenied


@require_GET
@never_cache
def department_display(request: HttpRequest, code: str) -> HttpResponse:
    # The key is checked first, so that without it not even a department's existence shows.
    _check_display_key(request)
    department = get_object_or_404(Department, code=code, is_active=True)
    now = timezone.now()
    context = {
        "department": department,
        "rooms": waiting_room_board(department=department, now=now, next_count=NEXT_UP_COUNT),
        "now": now,
    }
    template = "display/department.html"
    if request.htmx:
        template += "#board"
    return render(request, template, context)
