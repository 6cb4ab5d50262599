from django.http import HttpRequest

from notices_api.notices import selectors


def unread_count(request: HttpRequest) -> dict[str, int]:
    """The badge's first value, so it is right without JavaScript."""
    if not request.user.is_authenticated:
        return {}
    return {"unread_count": selectors.notice_unread_count(user=request.user)}
