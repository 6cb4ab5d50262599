"""Pages for recipients: thin views over the notices selectors and services."""

import contextlib
import time
from collections.abc import Iterator
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from notices_api.core.exceptions import NotFoundError
from notices_api.notices import selectors, services

PAGE_SIZE = 20
# A stream lives this long, then the browser reconnects (``retry:``): a sync worker is held
# for at most this long, and the badge is never staler than POLL_SECONDS.
STREAM_SECONDS = 25
POLL_SECONDS = 2
RETRY_MILLISECONDS = 1000


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    category = request.GET.get("category", "").strip()
    search = request.GET.get("q", "").strip()
    notices = selectors.notice_inbox(
        user=request.user,  # type: ignore[arg-type]
        filters=selectors.NoticeFilters(category=category or None, search=search or None),
    )
    page = Paginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/inbox.html",
        {
            "page": page,
            "category": category,
            "q": search,
            "categories": selectors.notice_categories(user=request.user),  # type: ignore[arg-type]
        },
    )


@require_GET
@login_required
def notice(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    user = request.user
    try:
        found = selectors.notice_get(user=user, notice_id=notice_id)  # type: ignore[arg-type]
    except NotFoundError:
        return render(request, "web/not_found.html", status=404)
    # The author looking at their own notice is no recipient: no receipt, no error.
    with contextlib.suppress(NotFoundError):
        services.notice_mark_read(notice=found, user=user)  # type: ignore[arg-type]
    return render(request, "web/notice.html", {"notice": found})


@require_GET
@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/settings.html")


@require_GET
@login_required
def unread_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Server-sent events: the unread count now and whenever it changes, for STREAM_SECONDS."""
    user = request.user
    last = request.headers.get("Last-Event-ID")

    def events() -> Iterator[str]:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        previous = last
        deadline = time.monotonic() + STREAM_SECONDS
        while True:
            try:
                count = str(selectors.notice_unread_count(user=user))  # type: ignore[arg-type]
            except DatabaseError:
                return  # the browser reconnects after ``retry:`` and the stream starts afresh
            # No database connection is held while the stream waits.
            connection.close()
            if count != previous:
                yield f"id: {count}\nevent: unread\ndata: {count}\n\n"
                previous = count
            else:
                yield ": waiting\n\n"  # a write, so a closed tab ends the stream early
            if time.monotonic() >= deadline:
                return
            time.sleep(POLL_SECONDS)

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
