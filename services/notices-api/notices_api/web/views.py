"""The recipient's pages: the inbox, a notice, and the live unread count. Thin views over
the notices selectors and services, the same rules as the API."""

import contextlib
import time
from collections.abc import Iterator
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

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
from notices_api.web import preferences
from notices_api.web.forms import PreferencesForm

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
        # Its author, who is not among its recipients, has nothing to record.
        with contextlib.suppress(NotFoundError):
            read_at, _ = notice_mark_read(notice=shown, user=user)
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
            if time.monotonic() + POLL_SECONDS > ends_at:
                return
            time.sleep(POLL_SECONDS)
            # A comment before the next query: once the tab is closed, a write fails and
            # frees the thread.
            yield ":\n\n"

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy in front must not hold the events back
    return response


@require_http_methods(["GET", "POST"])
@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """Email opt-outs and quiet hours, kept by the notifier (read and written through its API).

    Opt-outs of other channels and of categories not offered here are kept as they are."""
    user = _user(request)
    store = preferences.preferences_store()
    try:
        current = store.get(user.id)
    except preferences.PreferencesUnavailableError:
        return render(request, "web/settings.html", {"unavailable": True}, status=503)
    email_opt_outs = current.opt_outs.get("email", [])
    categories = sorted({*notice_categories(user=user), *email_opt_outs})
    quiet = current.quiet_hours
    initial = {
        "email_opt_outs": email_opt_outs,
        "quiet_start": quiet.start if quiet else None,
        "quiet_end": quiet.end if quiet else None,
    }
    form = PreferencesForm(request.POST or None, initial=initial, categories=categories)
    if request.method == "POST" and form.is_valid():
        start, end = form.cleaned_data["quiet_start"], form.cleaned_data["quiet_end"]
        chosen = preferences.Preferences(
            opt_outs={**current.opt_outs, "email": form.cleaned_data["email_opt_outs"]},
            quiet_hours=preferences.QuietHours(start=start, end=end) if start else None,
        )
        try:
            store.put(user.id, chosen)
        except preferences.PreferencesUnavailableError:
            return render(request, "web/settings.html", {"unavailable": True}, status=503)
        return render(request, "web/settings.html", {"form": form, "saved": True})
    return render(request, "web/settings.html", {"form": form})
