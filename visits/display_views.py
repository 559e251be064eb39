"""The waiting-room display: a page per department for a screen in the waiting room.

A screen shows its department's board only with a key an administrator made for it in
Django Admin (visits.displays): the key's address is opened once on the screen, which then
keeps the key in a cookie, so that it is not in every request's address. Without a key, or
with a revoked one, the screen says it is not set up, and shows nothing of the clinic. It
shows queue numbers and masked names only, and polls itself for fresh content.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.models import Department
from visits.displays import any_screen_set_up, live_token
from visits.selectors import waiting_room_board

# How many waiting patients each room shows after the one in consultation.
NEXT_UP_COUNT = 5
KEY_COOKIE = "clinic_display_key"
# A screen stays set up for a year, or until its key is revoked.
KEY_COOKIE_AGE = 365 * 24 * 3600


@require_GET
@never_cache
def department_display(request: HttpRequest, code: str) -> HttpResponse:
    department = Department.objects.filter(code=code, is_active=True).first()
    given = request.GET.get("key")
    token = (
        live_token(given or request.COOKIES.get(KEY_COOKIE), department=department)
        if department is not None
        else None
    )
    if token is None:
        # Nothing of the clinic shows, not even whether the department exists.
        return render(
            request,
            "display/not_set_up.html",
            {"any_screen": any_screen_set_up()},
            status=403,
        )
    if given:
        # Opened once with the key: keep it on the screen, out of the address from now on.
        response = redirect(request.path)
        response.set_cookie(
            KEY_COOKIE,
            given,
            max_age=KEY_COOKIE_AGE,
            path=request.path,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Strict",
        )
        return response
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
