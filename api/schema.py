"""OpenAPI details shared by every endpoint: the one error body, documented on every
operation for the statuses the API answers with, and a tag per role group."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

ERROR_STATUSES = {
    "400": "Invalid input (validation_error, parse_error, or a domain rule such as slot_ended).",
    "401": "Not signed in, or the token is expired, tampered with or revoked.",
    "403": "Signed in, but this role may not do this.",
    "404": "No such object, or not one this user may see.",
    "405": "This method is not allowed here.",
    "406": "The Accept header rules out JSON, the only format the API answers in.",
    "409": "Conflict: an invalid transition, no capacity, a duplicate, already settled.",
    "415": "The body is not JSON.",
    "429": "Too many attempts; details.wait says how many seconds to wait.",
    "503": (
        "Try again in a moment: the database is busy (busy) or unreachable (service_unavailable)."
    ),
}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        }
    },
}


class ClinicAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        # /api/<group>/...: auth, patient, receptionist, doctor, admin, catalogue.
        parts = [part for part in self.path.split("/") if part]
        if len(parts) >= 2 and parts[0] == "api":
            return [parts[1]]
        return super().get_tags()


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: the Error component and the error statuses on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in ERROR_STATUSES.items():
                operation["responses"].setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result


# Clinic-local wall-clock times ("09:30", or "09:30:00" as the API writes them): never with
# a UTC offset, so not JSON Schema's "time" format (RFC 3339 asks for one), and whole
# minutes, as schedules and windows are kept.
LOCAL_TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:00)?$"


def local_times(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """Postprocessing hook: every `time` in the schema is a clinic-local wall-clock time,
    described by its pattern instead of the "time" format."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("format") == "time":
                del node["format"]
                node["pattern"] = LOCAL_TIME_PATTERN
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result
