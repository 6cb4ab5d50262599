from typing import Any
from uuid import UUID

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices_api.accounts.apis import UserSummaryOutput
from notices_api.accounts.requests import request_user
from notices_api.accounts.selectors import active_users_by_ids
from notices_api.core.fields import SentLengthCharField, StrictCharField, id_list_field
from notices_api.core.pagination import CursorPage, paginated_response
from notices_api.core.permissions import IsPublisher
from notices_api.core.validation import StrictInput, validated_query
from notices_api.groups.models import RecipientGroup
from notices_api.groups.selectors import group_get, group_list, group_members
from notices_api.groups.services import (
    group_create,
    group_delete,
    group_member_remove,
    group_members_add,
    group_update,
)


class GroupOutput(serializers.Serializer[RecipientGroup]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    member_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GroupListApi(APIView):
    permission_classes = (IsPublisher,)
    pagination_class = CursorPage

    class FilterInput(serializers.Serializer[Any]):
        search = SentLengthCharField(max_length=120, required=False, allow_blank=True)

    class Input(StrictInput):
        name = StrictCharField(max_length=120)
        description = StrictCharField(max_length=500, required=False, allow_blank=True)

    @extend_schema(parameters=[FilterInput], responses=GroupOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = validated_query(self.FilterInput, request)
        return paginated_response(
            queryset=group_list(search=filters.get("search")),
            ordering=("name",),
            serializer_class=GroupOutput,
            request=request,
            view=self,
        )

    @extend_schema(request=Input, responses={201: GroupOutput})
    def post(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = group_create(**serializer.validated_data, owner=request_user(request))
        return Response(
            GroupOutput(group_get(group_id=group.id)).data, status=status.HTTP_201_CREATED
        )


class GroupDetailApi(APIView):
    permission_classes = (IsPublisher,)

    class Input(StrictInput):
        name = StrictCharField(max_length=120, required=False)
        description = StrictCharField(max_length=500, required=False, allow_blank=True)

    @extend_schema(responses=GroupOutput)
    def get(self, request: Request, group_id: UUID) -> Response:
        return Response(GroupOutput(group_get(group_id=group_id)).data)

    @extend_schema(request=Input, responses=GroupOutput)
    def patch(self, request: Request, group_id: UUID) -> Response:
        group = group_get(group_id=group_id)
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        group_update(group=group, actor=request_user(request), **serializer.validated_data)
        return Response(GroupOutput(group_get(group_id=group_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, group_id: UUID) -> Response:
        group_delete(group=group_get(group_id=group_id), actor=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMemberListApi(APIView):
    permission_classes = (IsPublisher,)
    pagination_class = CursorPage

    class Input(StrictInput):
        user_ids = id_list_field(min_length=1)

    @extend_schema(responses=UserSummaryOutput(many=True))
    def get(self, request: Request, group_id: UUID) -> Response:
        return paginated_response(
            queryset=group_members(group=group_get(group_id=group_id)),
            ordering=("username",),
            serializer_class=UserSummaryOutput,
            request=request,
            view=self,
        )

    @extend_schema(request=Input, responses=GroupOutput, operation_id="groups_members_add")
    def post(self, request: Request, group_id: UUID) -> Response:
        group = group_get(group_id=group_id)
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        users = active_users_by_ids(
            user_ids=serializer.validated_data["user_ids"], field="user_ids"
        )
        group_members_add(group=group, actor=request_user(request), users=users)
        return Response(GroupOutput(group_get(group_id=group_id)).data)


class GroupMemberDetailApi(APIView):
    permission_classes = (IsPublisher,)

    @extend_schema(responses={204: None}, operation_id="groups_members_remove")
    def delete(self, request: Request, group_id: UUID, user_id: UUID) -> Response:
        group = group_get(group_id=group_id)
        member = get_object_or_404(group_members(group=group), pk=user_id)
        group_member_remove(group=group, actor=request_user(request), user=member)
        return Response(status=status.HTTP_204_NO_CONTENT)
