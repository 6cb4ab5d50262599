"""The publisher console: thin views over forms, selectors and the notices services."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from notices_api.accounts.models import User
from notices_api.console import delivery
from notices_api.console.forms import (
    AudienceForm,
    GroupForm,
    GroupMembersForm,
    NoticeForm,
    remind_after_minutes,
)
from notices_api.console.selectors import (
    console_notice_get,
    console_notices,
    notice_audience,
    receipts_overview,
)
from notices_api.core.exceptions import ActionForbiddenError, ApplicationError, NotFoundError
from notices_api.core.permissions import may_publish
from notices_api.groups.models import RecipientGroup
from notices_api.groups.selectors import group_get, group_list, group_members
from notices_api.groups.services import group_member_remove, may_manage_group
from notices_api.notices.models import Notice
from notices_api.notices.selectors import audience_users
from notices_api.notices.services import notice_archive, notice_publish

PAGE_SIZE = 25
View = Callable[..., HttpResponse]


def publisher_only(view: View) -> View:
    """Signed-out visitors go to sign in; signed-in recipients are refused (403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_publish(request.user):
            raise PermissionDenied("Only publishers may use the console.")
        return view(request, *args, **kwargs)

    return wrapper


def _publisher(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _own_notice(request: HttpRequest, notice_id: UUID) -> Notice:
    try:
        return console_notice_get(author=_publisher(request), notice_id=notice_id)
    except NotFoundError as error:
        raise Http404(error.detail) from error


@require_GET
@publisher_only
def notice_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in {None, *Notice.Status.values}:
        status = None
    page = Paginator(console_notices(author=_publisher(request), status=status), PAGE_SIZE)
    return render(
        request,
        "console/notices.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "status": status,
            "statuses": Notice.Status.choices,
            "section": "notices",
        },
    )


@publisher_only
def notice_create(request: HttpRequest) -> HttpResponse:
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        notice = form.save(actor=_publisher(request))
        if notice is not None:
            messages.success(request, "Draft saved. Check the preview, then publish.")
            return redirect("console:notice", notice_id=notice.id)
    return render(
        request,
        "console/notice_form.html",
        {"form": form, "notice": None, "section": "compose"},
    )


@publisher_only
def notice_edit(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    notice = _own_notice(request, notice_id)
    if notice.status != Notice.Status.DRAFT:
        messages.error(request, "Only a draft can be edited.")
        return redirect("console:notice", notice_id=notice.id)
    form = NoticeForm.for_notice(notice, request.POST or None)
    saved = request.method == "POST" and form.is_valid()
    if saved and form.save(actor=_publisher(request), notice=notice) is not None:
        messages.success(request, "Draft saved.")
        return redirect("console:notice", notice_id=notice.id)
    return render(
        request,
        "console/notice_form.html",
        {"form": form, "notice": notice, "section": "notices"},
    )


@require_GET
@publisher_only
def notice_detail(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    """The preview: the notice as recipients will see it, its audience, its actions."""
    notice = _own_notice(request, notice_id)
    return render(
        request,
        "console/notice.html",
        {
            "notice": notice,
            "audience": notice_audience(notice=notice),
            "remind_after_minutes": remind_after_minutes(notice),
            "section": "notices",
        },
    )


def _transition(
    request: HttpRequest, notice_id: UUID, *, move: Callable[..., Notice], done: str
) -> HttpResponse:
    try:
        # The transition reads (and locks) the notice itself, once.
        move(notice=Notice(pk=notice_id), actor=_publisher(request))
    except (NotFoundError, ActionForbiddenError) as error:
        # Only the author's own notices: anyone else's is not found, with no hint.
        raise Http404("No such notice.") from error
    except ApplicationError as error:
        reasons = [text for texts in error.field_errors.values() for text in texts]
        messages.error(request, " ".join([error.detail, *reasons]))
    else:
        messages.success(request, done)
    return redirect("console:notice", notice_id=notice_id)


@require_POST
@publisher_only
def notice_publish_view(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    return _transition(request, notice_id, move=notice_publish, done="Published.")


@require_POST
@publisher_only
def notice_archive_view(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    return _transition(request, notice_id, move=notice_archive, done="Archived.")


def _receipts_context(notice: Notice) -> dict[str, Any]:
    overview = receipts_overview(notice=notice, delivery_states=delivery.delivery_states())
    return {"notice": notice, "overview": overview, "section": "notices"}


@require_GET
@publisher_only
def notice_receipts(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    notice = _own_notice(request, notice_id)
    if notice.status == Notice.Status.DRAFT:
        messages.info(request, "A draft has no receipts yet: publish it first.")
        return redirect("console:notice", notice_id=notice.id)
    return render(request, "console/receipts.html", _receipts_context(notice))


@require_GET
@publisher_only
def notice_receipts_partial(request: HttpRequest, notice_id: UUID) -> HttpResponse:
    """The receipts table alone: the page's script swaps it in every few seconds."""
    notice = _own_notice(request, notice_id)
    return render(request, "console/_receipts.html", _receipts_context(notice))


@require_GET
@publisher_only
def audience_count(request: HttpRequest) -> HttpResponse:
    """How many people the chosen groups and users resolve to, for the compose form."""
    form = AudienceForm(request.GET)
    count = (
        audience_users(
            user_ids=[user.id for user in form.cleaned_data["users"]],
            group_ids=[group.id for group in form.cleaned_data["groups"]],
        ).count()
        if form.is_valid()
        else 0
    )
    return render(request, "console/_audience_count.html", {"audience_count": count})


@publisher_only
def groups(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = form.save(actor=_publisher(request))
        if group is not None:
            messages.success(request, f"Group “{group.name}” created. Add its members.")
            return redirect("console:group", group_id=group.id)
    return render(
        request, "console/groups.html", {"groups": group_list(), "form": form, "section": "groups"}
    )


def _ensure_may_manage(request: HttpRequest, group: RecipientGroup) -> None:
    if not may_manage_group(user=_publisher(request), group=group):
        raise PermissionDenied("Only the owner of a group can change it.")


@publisher_only
def group_detail(request: HttpRequest, group_id: UUID) -> HttpResponse:
    group = group_get(group_id=group_id)
    rename = GroupForm(
        request.POST if "rename" in request.POST else None,
        initial={"name": group.name, "description": group.description},
    )
    add = GroupMembersForm(request.POST if "add" in request.POST else None, group=group)
    if request.method == "POST":
        _ensure_may_manage(request, group)
        renamed = rename.is_bound and rename.is_valid()
        if renamed and rename.save(actor=_publisher(request), group=group) is not None:
            messages.success(request, "Group saved.")
            return redirect("console:group", group_id=group.id)
        if add.is_bound and add.is_valid():
            add.save(actor=_publisher(request))
            messages.success(request, "Members added.")
            return redirect("console:group", group_id=group.id)
    return render(
        request,
        "console/group.html",
        {
            "group": group,
            "members": group_members(group=group).order_by("username"),
            "rename": rename,
            "add": add,
            "may_manage": may_manage_group(user=_publisher(request), group=group),
            "section": "groups",
        },
    )


@require_POST
@publisher_only
def group_member_remove_view(request: HttpRequest, group_id: UUID, user_id: UUID) -> HttpResponse:
    group = group_get(group_id=group_id)
    _ensure_may_manage(request, group)
    member = get_object_or_404(group_members(group=group), pk=user_id)
    group_member_remove(group=group, actor=_publisher(request), user=member)
    messages.success(request, f"{member.username} removed.")
    return redirect("console:group", group_id=group.id)
