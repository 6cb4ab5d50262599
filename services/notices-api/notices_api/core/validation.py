from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request

from notices_api.core.problems import QueryParameterError


def validated_query(serializer_class: type[serializers.Serializer[Any]], request: Request) -> Any:
    """The query parameters, validated by ``serializer_class`` (errors name the parameter)."""
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise QueryParameterError(serializer.errors)
    return serializer.validated_data


class StrictInput(serializers.Serializer[Any]):
    """A request body: a field the serializer does not declare is an error, not ignored.

    A client that misspells ``recipient_user_ids`` would otherwise get 201 and a notice
    with no recipients.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [ErrorDetail("Unknown field.", code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)
