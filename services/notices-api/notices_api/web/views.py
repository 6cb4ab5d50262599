"""The recipient's pages: the inbox, a notice, and the live unread count. Thin views over
the notices selectors and services, the same rules as the API."""

import time
from collections.abc import Iterator
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from notices_api.accounts.models import User
from notices_api.core.exceptions import NotFoundError
from notices_api.notices.selectors import (
    NoticeFilters,
    notice_categories,
    notice_get,
    notice_inbox,
    notice_unread_count,
)
from notices_api.notices.services import notice_mark_read

PAGE_SIZE = 20
# The stream ends after this long, so a sync worker thread is never held for good; the
# browser reconnects after RETRY_MS and gets the current count again.
STREAM_SECONDS = 25.0
POLL_SECONDS = 2.0
RETRY_MS = 2000


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filters = NoticeFilters(
        category=request.GET.get("category") or None,
        search=request.GET.get("q", "").strip() or None,
    )
    page = Paginator(notice_inbox(user=user, filters=filters), PAGE_SIZE)
    return render(
        request,
        "web/inbox.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "categories": notice_categories(user=user),
            "filters": filters,
        },
    )


@require_GET
@login_required
def notice(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    """Opening a notice records its read, through the same service as the API's read."""
    user = _user(request)
    try:
        shown = notice_get(user=user, notice_id=notice_id)
    except NotFoundError:
        return render(request, "web/404.html", status=404)
    read_at = None
    if shown.status == shown.Status.PUBLISHED:
        try:
            receipt, _ = notice_mark_read(notice=shown, user=user)
            read_at = receipt.read_at
        except NotFoundError:
            pass  # its author, who is not among its recipients: nothing to record
    return render(request, "web/notice.html", {"notice": shown, "read_at": read_at})


@require_GET
def unread_events(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Server-sent events: the unread count on connect, then each time it changes.

    No Last-Event-ID resume: every connection starts with the current count, which is all
    a badge needs. Signed out: 204, which tells EventSource to stop reconnecting.
    """
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    user = _user(request)

    def stream() -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        ends_at = time.monotonic() + STREAM_SECONDS
        last = None
        while True:
            count = notice_unread_count(user=user)
            # An open tab must not pin a database connection while the stream waits.
            connection.close()
            if count != last:
                yield f"event: unread\ndata: {count}\n\n"
                last = count
            else:
                # A comment: a closed tab makes this write fail, which frees the thread now.
                yield ":\n\n"
            if time.monotonic() + POLL_SECONDS > ends_at:
                return
            time.sleep(POLL_SECONDS)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
    return response


@require_GET
@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/settings.html")
