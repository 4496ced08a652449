"""The OpenAPI schema's generator: drf-spectacular's, plus the error answers every view can give.

drf-spectacular documents only the success answers. A client (and a schema-driven fuzzer) must
also know the errors DRF sends on its own, each with its JSON body:

- 400 when the operation takes a request body or query parameters (validation, filters);
- 401 and 403 when the view needs an authenticated user with permissions;
- 404 when the path names an object, or the list is cursor-paginated (an unknown cursor);
- 429 when the view is throttled.

Answers a view documents itself (`@extend_schema(responses=...)`) are kept as they are.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny


class ErrorDetailSerializer(serializers.Serializer):
    """An error that is not about one field: `detail` says what is wrong."""

    detail = serializers.CharField()


VALIDATION_ERRORS = {
    "description": "What is wrong with the input: messages by field name (nested for nested input), "
    "or a list of messages.",
    "anyOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {}},
    ],
}
DESCRIPTIONS = {
    "400": "The input is invalid; the body names what is wrong.",
    "401": "No valid credentials (send `Authorization: Token <key>`).",
    "403": "The user lacks a permission this operation needs.",
    "404": "No such object (or an unknown page cursor).",
    "429": "Too many requests; retry after the `Retry-After` header's seconds.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for code in self._error_codes(operation):
            if code not in operation["responses"]:
                operation["responses"][code] = self._error_response(code)
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        codes = []
        if "requestBody" in operation or operation.get("parameters"):  # config.middleware checks the URL too
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        has_path = any(p.get("in") == "path" for p in operation.get("parameters", []))
        if has_path or (self._is_list_view() and isinstance(self._get_paginator(), CursorPagination)):
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _error_response(self, code: str) -> dict:
        """The error's JSON body, or text in whatever other format the view renders (DRF renders
        an error in the format the request negotiated, e.g. ?format=csv)."""
        if code == "400":
            component = ResolvedComponent(
                name="ValidationErrors",
                type=ResolvedComponent.SCHEMA,
                schema=VALIDATION_ERRORS,
                object="ValidationErrors",
            )
            self.registry.register_on_missing(component)
        else:
            component = self.resolve_serializer(ErrorDetailSerializer, "response")
        content = {
            media_type: {"schema": component.ref if "json" in media_type else {"type": "string"}}
            for media_type in self.map_renderers("media_type")
        }
        return {"description": DESCRIPTIONS[code], "content": content}
