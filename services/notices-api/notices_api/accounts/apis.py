from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices_api.accounts.authentication import ExpiringTokenAuthentication
from notices_api.accounts.models import User
from notices_api.accounts.requests import request_user
from notices_api.accounts.selectors import user_list
from notices_api.accounts.services import (
    ProfileChanges,
    auth_token_for,
    auth_token_revoke,
    auth_tokens_revoke_all,
    user_profile_update,
)
from notices_api.accounts.validators import validate_locale, validate_timezone
from notices_api.core.fields import SentLengthCharField, StrictCharField, StrictEmailField
from notices_api.core.pagination import CursorPage, paginated_response
from notices_api.core.permissions import IsPublisher
from notices_api.core.validation import StrictInput, validated_query


class UserSummaryOutput(serializers.Serializer[User]):
    id = serializers.UUIDField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)


class AuthTokenApi(APIView):
    """Exchange username and password for a new API token, valid until ``expires_at``."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_scope = "auth"

    def get_authenticate_header(self, request: Request) -> str:
        # A 401 must name a scheme; this is the one the token is used with afterwards.
        return "Token"

    class Input(StrictInput):
        username = StrictCharField(max_length=150)
        password = StrictCharField(max_length=128, trim_whitespace=False)

    class Output(serializers.Serializer[Any]):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(request=Input, responses=Output, operation_id="auth_token_create")
    def post(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request._request, **serializer.validated_data)
        if not isinstance(user, User):
            raise AuthenticationFailed("Unable to log in with these credentials.")
        return Response(self.Output(auth_token_for(user=user)).data)


class _SignOutApi(APIView):
    # Only a token can be revoked: a browser session signs out through the web app.
    authentication_classes = (ExpiringTokenAuthentication,)


class LogoutApi(_SignOutApi):
    """Revoke the token this request is made with."""

    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout")
    def post(self, request: Request) -> Response:
        auth_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllApi(_SignOutApi):
    """Revoke every token of the caller (every client signed in as them)."""

    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout_all")
    def post(self, request: Request) -> Response:
        auth_tokens_revoke_all(user=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """The caller's own profile: where and how notices reach them."""

    class Input(StrictInput):
        email = StrictEmailField(max_length=254, required=False)
        display_name = StrictCharField(max_length=150, required=False, allow_blank=True)
        timezone = StrictCharField(max_length=64, required=False, validators=[validate_timezone])
        locale = StrictCharField(max_length=16, required=False, validators=[validate_locale])

    class Output(serializers.Serializer[User]):
        id = serializers.UUIDField()
        username = serializers.CharField()
        email = serializers.EmailField(allow_blank=True)
        display_name = serializers.CharField()
        timezone = serializers.CharField()
        locale = serializers.CharField()
        is_publisher = serializers.BooleanField()

    @extend_schema(responses=Output, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        return Response(self.Output(request_user(request)).data)

    @extend_schema(request=Input, responses=Output, operation_id="me_update")
    def patch(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_profile_update(
            user=request_user(request),
            changes=ProfileChanges(**serializer.validated_data),
        )
        return Response(self.Output(user).data)


class UserListApi(APIView):
    """Active users, for a publisher choosing recipients."""

    permission_classes = (IsPublisher,)
    pagination_class = CursorPage

    class FilterInput(serializers.Serializer[Any]):
        search = SentLengthCharField(max_length=150, required=False, allow_blank=True)

    @extend_schema(parameters=[FilterInput], responses=UserSummaryOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = validated_query(self.FilterInput, request)
        return paginated_response(
            queryset=user_list(search=filters.get("search")),
            ordering=("username",),
            serializer_class=UserSummaryOutput,
            request=request,
            view=self,
        )
