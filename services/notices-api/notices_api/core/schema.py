"""OpenAPI: every operation documents the problem details it can answer with.

Clients (and schemathesis) then know that errors come as application/problem+json
and what they look like.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from notices_api.core.problems import PROBLEM_CONTENT_TYPE


class ProblemFieldErrorSerializer(serializers.Serializer[Any]):
    pointer = serializers.CharField(required=False, help_text="JSON pointer into the body.")
    parameter = serializers.CharField(required=False, help_text="Name of a query parameter.")
    detail = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer[Any]):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    request_id = serializers.CharField(required=False)
    # Shadows Serializer.errors only on the class; this serializer only documents the shape.
    errors = ProblemFieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]


_ERRORS = {
    "400": "The request is not valid (see errors).",
    "401": "No or invalid credentials.",
    "403": "The caller may not do this.",
    "404": "Not found, or not visible to the caller.",
    "405": "Method not allowed.",
    "406": "No acceptable representation.",
    "409": "The change conflicts with the current state.",
    "415": "Unsupported request media type.",
    "429": "Too many requests; retry after Retry-After seconds.",
    "500": "Unexpected server error.",
}
_BODY_ONLY = {"415", "409"}


class ProblemAwareAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer[Any], direction: Any) -> str:
        """``NoticeReadApi.Output`` -> ``NoticeReadOutput``: nested names stay unique."""
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if not outer:
            return super().get_serializer_name(serializer, direction)
        return outer.rpartition(".")[2].removesuffix("Api") + inner

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        has_body = self.method in {"POST", "PUT", "PATCH", "DELETE"}
        for code, description in _ERRORS.items():
            if code in responses or (code in _BODY_ONLY and not has_body):
                continue
            responses[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                OpenApiResponse(ProblemSerializer, description=description),
                code,
                media_types=[PROBLEM_CONTENT_TYPE],
                direction=direction,
            )
        return responses


def closed_request_bodies(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: request bodies take no other properties (see ``StrictInput``)."""
    schemas = result.get("components", {}).get("schemas", {})
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    schemas[ref.rpartition("/")[2]]["additionalProperties"] = False
    return result
