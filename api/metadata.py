"""What OPTIONS answers on every API route: the view's name and description, what it renders
and parses, and (in the Allow header) its methods.

REST framework's default also describes each writable method's serializer, which it finds
through `get_serializer()`; the clinic's views validate with a serializer per method and
declare none on the class, so that introspection has nothing to describe (it raised a 500).
The OpenAPI schema at /api/schema/ is where requests and answers are described.
"""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request


class ClinicMetadata(SimpleMetadata):
    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        return {}
