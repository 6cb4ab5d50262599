"""Cursor pagination: stable pages under concurrent inserts, no COUNT query."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView


class CursorPage(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def paginated_response(
    *,
    queryset: QuerySet[Any],
    ordering: Sequence[str],
    serializer_class: type[BaseSerializer[Any]],
    request: Request,
    view: APIView,
    context: dict[str, Any] | None = None,
) -> Response:
    paginator = CursorPage()
    paginator.ordering = tuple(ordering)
    page = paginator.paginate_queryset(queryset, request, view=view)
    serializer = serializer_class(page, many=True, context=context or {})
    return paginator.get_paginated_response(serializer.data)
