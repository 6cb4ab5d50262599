from collections.abc import Callable
from typing import Any, ClassVar, cast
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices_api.accounts.apis import UserSummaryOutput
from notices_api.accounts.requests import request_user
from notices_api.accounts.selectors import active_users_by_ids
from notices_api.core.exceptions import ActionForbiddenError, ApplicationError
from notices_api.core.fields import (
    QueryBooleanField,
    SentLengthCharField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    id_list_field,
)
from notices_api.core.pagination import CursorPage, paginated_response
from notices_api.core.permissions import IsPublisher
from notices_api.core.validation import StrictInput, validated_query
from notices_api.groups.selectors import groups_by_ids
from notices_api.notices.models import (
    DEFAULT_CATEGORY,
    MAX_REMIND_AFTER_SECONDS,
    MIN_REMIND_AFTER_SECONDS,
    Notice,
)
from notices_api.notices.selectors import (
    NoticeFilters,
    notice_get,
    notice_list,
    notice_list_ordering,
    notice_receipts,
    notice_unread_count,
)
from notices_api.notices.services import (
    DraftChanges,
    notice_archive,
    notice_draft_create,
    notice_draft_delete,
    notice_draft_update,
    notice_mark_read,
    notice_publish,
)


class AuthorOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class NoticeOutput(serializers.Serializer[Notice]):
    id = serializers.UUIDField()
    title = serializers.CharField()
    body = serializers.CharField()
    category = serializers.CharField()
    urgent = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Notice.Status.choices)
    visible_from = serializers.DateTimeField(allow_null=True)
    visible_until = serializers.DateTimeField(allow_null=True)
    remind_after_seconds = serializers.IntegerField(allow_null=True)
    author = AuthorOutput()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    archived_at = serializers.DateTimeField(allow_null=True)
    is_read = serializers.BooleanField(help_text="Whether the caller has read it.")


class AudienceOutput(serializers.Serializer[Notice]):
    user_ids = serializers.SerializerMethodField()
    group_ids = serializers.SerializerMethodField()

    def get_user_ids(self, notice: Notice) -> list[UUID]:
        return sorted(notice.audience_users.values_list("id", flat=True), key=str)

    def get_group_ids(self, notice: Notice) -> list[UUID]:
        return sorted(notice.audience_groups.values_list("id", flat=True), key=str)


class NoticeDetailOutput(NoticeOutput):
    audience = serializers.SerializerMethodField(
        help_text="The users and groups chosen on the draft; null unless the caller is the author."
    )

    @extend_schema_field(AudienceOutput(allow_null=True))
    def get_audience(self, notice: Notice) -> dict[str, Any] | None:
        if notice.author_id != self.context["user"].id:
            return None
        return dict(AudienceOutput(notice).data)


def _detail(notice: Notice, request: Request) -> dict[str, Any]:
    return dict(NoticeDetailOutput(notice, context={"user": request_user(request)}).data)


def _draft_content(validated: dict[str, Any]) -> DraftChanges:
    """Input fields to service arguments: ids become users and groups (one query each)."""
    content: dict[str, Any] = dict(validated)
    if "recipient_user_ids" in content:
        content["audience_users"] = active_users_by_ids(
            user_ids=content.pop("recipient_user_ids"), field="recipient_user_ids"
        )
    if "recipient_group_ids" in content:
        content["audience_groups"] = groups_by_ids(
            group_ids=content.pop("recipient_group_ids"), field="recipient_group_ids"
        )
    return cast(DraftChanges, content)


class NoticeApi(APIView):
    """Anyone signed in may read; only publishers may write."""

    # The notices (list) and each notice (detail) share it: whole on create, partial on update.
    class Input(StrictInput):
        title = StrictCharField(max_length=200)
        body = StrictCharField(max_length=20_000, allow_blank=True, required=False)
        category = StrictCharField(max_length=50, required=False, default=DEFAULT_CATEGORY)
        urgent = StrictBooleanField(required=False, default=False)
        visible_from = serializers.DateTimeField(
            allow_null=True, required=False, help_text="Default: when it is published."
        )
        visible_until = serializers.DateTimeField(allow_null=True, required=False)
        remind_after_seconds = StrictIntegerField(
            min_value=MIN_REMIND_AFTER_SECONDS,
            max_value=MAX_REMIND_AFTER_SECONDS,
            allow_null=True,
            required=False,
            help_text="Remind recipients who have not read it after this long.",
        )
        recipient_user_ids = id_list_field(required=False)
        recipient_group_ids = id_list_field(required=False)

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in {"GET", "HEAD", "OPTIONS"}:
            return [IsAuthenticated()]
        return [IsAuthenticated(), IsPublisher()]


class NoticeListApi(NoticeApi):
    pagination_class = CursorPage

    class FilterInput(serializers.Serializer[Any]):
        authored = QueryBooleanField(
            required=False, default=False, help_text="List my own notices, in every status."
        )
        unread = QueryBooleanField(required=False, default=False)
        category = SentLengthCharField(max_length=50, required=False, allow_blank=True)
        search = SentLengthCharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(parameters=[FilterInput], responses=NoticeOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = NoticeFilters(**validated_query(self.FilterInput, request))
        return paginated_response(
            queryset=notice_list(user=request_user(request), filters=filters),
            ordering=notice_list_ordering(filters=filters),
            serializer_class=NoticeOutput,
            request=request,
            view=self,
        )

    @extend_schema(request=NoticeApi.Input, responses={201: NoticeDetailOutput})
    def post(self, request: Request) -> Response:
        user = request_user(request)
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        notice = notice_draft_create(author=user, **_draft_content(serializer.validated_data))
        notice = notice_get(user=user, notice_id=notice.id)
        return Response(_detail(notice, request), status=status.HTTP_201_CREATED)


class NoticeDetailApi(NoticeApi):
    @extend_schema(responses=NoticeDetailOutput)
    def get(self, request: Request, notice_id: UUID) -> Response:
        notice = notice_get(user=request_user(request), notice_id=notice_id)
        return Response(_detail(notice, request))

    @extend_schema(request=NoticeApi.Input(partial=True), responses=NoticeDetailOutput)
    def patch(self, request: Request, notice_id: UUID) -> Response:
        user = request_user(request)
        try:
            serializer = self.Input(data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            # The update reads (and locks) the notice itself, once, as it is rendered.
            changed = notice_draft_update(
                notice=Notice(pk=notice_id),
                actor=user,
                **_draft_content(serializer.validated_data),
            )
        except (APIException, ApplicationError):
            # Whatever refused the edit, a notice the caller cannot see is not found first.
            notice_get(user=user, notice_id=notice_id)
            raise
        return Response(_detail(changed, request))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, notice_id: UUID) -> Response:
        user = request_user(request)
        notice_draft_delete(notice=notice_get(user=user, notice_id=notice_id), actor=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _NoticeTransitionApi(APIView):
    """POST moves the caller's notice on through ``transition`` and returns it."""

    permission_classes = (IsPublisher,)
    transition: ClassVar[Callable[..., Notice]]

    @extend_schema(request=None, responses=NoticeDetailOutput)
    def post(self, request: Request, notice_id: UUID) -> Response:
        user = request_user(request)
        try:
            # The transition reads (and locks) the notice itself, once.
            changed = type(self).transition(notice=Notice(pk=notice_id), actor=user)
        except ActionForbiddenError:
            # Not the author: a notice the caller cannot see is not found, as on every read.
            notice_get(user=user, notice_id=notice_id)
            raise
        return Response(_detail(changed, request))


class NoticePublishApi(_NoticeTransitionApi):
    """Freeze the audience and publish the draft (records notice.published)."""

    transition = staticmethod(notice_publish)


class NoticeArchiveApi(_NoticeTransitionApi):
    """Withdraw a published notice (records notice.archived)."""

    transition = staticmethod(notice_archive)


class NoticeReadApi(APIView):
    """Mark a notice read: 201 the first time, 200 afterwards (same receipt)."""

    class Output(serializers.Serializer[Any]):
        notice_id = serializers.UUIDField()
        read_at = serializers.DateTimeField()

    @extend_schema(request=None, responses={200: Output, 201: Output})
    def post(self, request: Request, notice_id: UUID) -> Response:
        user = request_user(request)
        # The service finds (and 404s) the notice in the caller's inbox itself.
        read_at, created = notice_mark_read(notice=Notice(pk=notice_id), user=user)
        return Response(
            self.Output({"notice_id": notice_id, "read_at": read_at}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class NoticeUnreadCountApi(APIView):
    class Output(serializers.Serializer[Any]):
        unread = serializers.IntegerField()

    @extend_schema(responses=Output)
    def get(self, request: Request) -> Response:
        count = notice_unread_count(user=request_user(request))
        return Response(self.Output({"unread": count}).data)


class ReadReceiptOutput(serializers.Serializer[Any]):
    user = UserSummaryOutput()
    read_at = serializers.DateTimeField()


class NoticeReceiptsApi(APIView):
    """Who of the frozen audience has read the notice, and who has not (author only)."""

    permission_classes = (IsPublisher,)

    class Output(serializers.Serializer[Any]):
        notice_id = serializers.UUIDField()
        recipient_count = serializers.IntegerField()
        read_count = serializers.IntegerField()
        read = ReadReceiptOutput(many=True)
        unread = UserSummaryOutput(many=True)

    @extend_schema(responses=Output)
    def get(self, request: Request, notice_id: UUID) -> Response:
        user = request_user(request)
        notice = notice_get(user=user, notice_id=notice_id)
        if notice.author_id != user.id:
            raise ActionForbiddenError("Only the author of a notice can see its receipts.")
        receipts = notice_receipts(notice=notice)
        read = [r for r in receipts if r.read_at is not None]
        data = {
            "notice_id": notice.id,
            "recipient_count": len(receipts),
            "read_count": len(read),
            "read": [{"user": r.user, "read_at": r.read_at} for r in read],
            "unread": [r.user for r in receipts if r.read_at is None],
        }
        return Response(self.Output(data).data)
