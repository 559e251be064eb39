"""Content negotiation for a JSON-only API.

DRF's default negotiation parses the Accept header into media types and ranks them on every
request; it is about 4% of a check-in's CPU. The usual requests (no Accept header, `*/*` or
`application/json`, no `?format=`) with one renderer to choose from are answered at once;
anything else, including an Accept header that rules JSON out (406), goes through DRF's
own negotiation. Kept apart from the views: DRF imports it while loading its own views.
"""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

_USUAL_ACCEPT = frozenset({"", "*/*", "application/json"})


class JSONNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: Any = None
    ) -> tuple[BaseRenderer, str]:
        if (
            len(renderers) == 1
            and not format_suffix
            and request.META.get("HTTP_ACCEPT", "").strip() in _USUAL_ACCEPT
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
