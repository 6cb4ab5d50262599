from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from notices_api.accounts.models import User


def request_user(request: Request) -> User:
    """The signed-in user of a view behind IsAuthenticated, typed as our User."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
