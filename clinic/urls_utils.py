"""Small helpers for redirects and for the ids pages send."""

from __future__ import annotations

import re

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, *, default: str) -> str:
    """The `next` parameter when it points back into this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


ID_TEXT = re.compile(r"[0-9]{1,18}")


def id_param(value: object) -> int | None:
    """A row id as a page sent it (a query parameter, a button's value), or None when it is
    not one: ASCII digits only (`str.isdigit` also takes "²", which int() refuses) and short
    enough for a BIGINT."""
    if isinstance(value, str) and ID_TEXT.fullmatch(value):
        return int(value)
    return None
