from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


def may_publish(user: Any) -> bool:
    """The one rule for publisher pages and endpoints: signed in and holding publish_notices."""
    return bool(user and user.is_authenticated and user.is_publisher)


class IsPublisher(BasePermission):
    """Holds the publish_notices permission (see accounts.models.User.is_publisher)."""

    message = "Only publishers may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return may_publish(request.user)
