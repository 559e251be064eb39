"""Lists: {"count", "limit", "offset", "results"}, chosen with ?limit= and ?offset=.

A limit outside 1..200 or a negative or absurd offset is refused with a 400 (never silently
clamped): a client asking for 500 rows and receiving 200 would believe it has them all.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Far beyond any list the clinic holds, and within every database's OFFSET range.
MAX_OFFSET = 1_000_000_000


def _parse_bounded(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.strip():
        raise ValidationError({name: [_("Give a value, or leave the parameter out.")]})
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [_("Enter a whole number.")]}) from None
    if not minimum <= value <= maximum:
        raise ValidationError(
            {
                name: [
                    _("Enter a number from %(min)d to %(max)d.") % {"min": minimum, "max": maximum}
                ]
            }
        )
    return value


class LimitOffsetPagination(BasePagination):
    limit_query_param = "limit"
    offset_query_param = "offset"

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.limit = _parse_bounded(
            request, self.limit_query_param, default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
        )
        self.offset = _parse_bounded(
            request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET
        )
        if hasattr(queryset, "count") and not isinstance(queryset, list):
            self.count = queryset.count()
        else:
            self.count = len(queryset)
        if self.count == 0 or self.offset >= self.count:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {"count": self.count, "limit": self.limit, "offset": self.offset, "results": data}
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["count", "limit", "offset", "results"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "example": 123},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "example": 50},
                "offset": {"type": "integer", "minimum": 0, "example": 0},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": str(
                    gettext_lazy("Number of results to return (1 to 200, default 50).")
                ),
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LIMIT,
                    "default": DEFAULT_LIMIT,
                },
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": str(gettext_lazy("Index of the first result (default 0).")),
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
        ]
