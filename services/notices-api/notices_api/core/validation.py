from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from notices_api.core.problems import QueryParameterError


def validated_query(serializer_class: type[serializers.Serializer[Any]], request: Request) -> Any:
    """The query parameters, validated by ``serializer_class`` (errors name the parameter)."""
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise QueryParameterError(serializer.errors)
    return serializer.validated_data
