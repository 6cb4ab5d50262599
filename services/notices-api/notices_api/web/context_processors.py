from django.http import HttpRequest

from notices_api.notices.selectors import notice_unread_count


def unread_count(request: HttpRequest) -> dict[str, int | None]:
    """The nav badge's count at page load; unread.js keeps it current afterwards."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_count": None}
    return {"unread_count": notice_unread_count(user=user) or None}
