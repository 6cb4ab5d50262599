"""Use cases of notices, and the outbox guarantee seen through them."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notices_api.accounts.services import user_set_active
from notices_api.core.exceptions import (
    ActionForbiddenError,
    InvalidInputError,
    NotFoundError,
    StateConflictError,
)
from notices_api.groups.services import group_create, group_members_add
from notices_api.notices.models import Notice, NoticeRecipient, ReadReceipt
from notices_api.notices.services import (
    notice_archive,
    notice_draft_create,
    notice_draft_delete,
    notice_draft_update,
    notice_mark_read,
    notice_publish,
    notice_summary,
)
from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.testing import assert_valid_message, events_of
from notices_contracts import NOTICE_ARCHIVED_V1, NOTICE_PUBLISHED_V1, NOTICE_READ_V1

pytestmark = pytest.mark.django_db


def test_publish_freezes_the_audience_and_records_one_valid_event(
    make_user, publisher, recipient, settings
):
    settings.PUBLIC_BASE_URL = "https://notices.example.org"
    member = make_user("member")
    inactive_member = user_set_active(user=make_user("gone"), is_active=False)
    staff = group_create(name="Staff", owner=publisher)
    group_members_add(group=staff, actor=publisher, users=[member, recipient, inactive_member])
    draft = notice_draft_create(
        author=publisher,
        title="Fire drill",
        body="<p>Fire   drill at <b>10:00</b>.</p>\n" + "Leave calmly. " * 40,
        category="safety",
        urgent=True,
        remind_after_seconds=2 * 3600,
        visible_until=timezone.now() + timedelta(days=7),
        audience_users=[recipient],
        audience_groups=[staff],
    )

    notice = notice_publish(notice=draft, actor=publisher)

    assert notice.status == Notice.Status.PUBLISHED
    assert notice.visible_from == notice.published_at
    frozen = set(NoticeRecipient.objects.filter(notice=notice).values_list("user_id", flat=True))
    assert frozen == {recipient.id, member.id}
    [event] = events_of(NOTICE_PUBLISHED_V1)
    assert_valid_message(event, NOTICE_PUBLISHED_V1)
    data = event.envelope["data"]
    assert event.aggregate_id == str(notice.id)
    assert sorted(data["recipient_ids"]) == sorted(str(i) for i in frozen)
    assert data["group_ids"] == [str(staff.id)]
    assert data["remind_after_seconds"] == 7200
    assert data["version"] == notice.version
    assert data["url"] == f"https://notices.example.org/notices/{notice.id}/"
    assert data["summary"].startswith("Fire drill at 10:00. Leave calmly.")
    assert "<" not in data["summary"]
    assert len(data["summary"]) <= 200

    # Joining the group later does not change who received the notice.
    group_members_add(group=staff, actor=publisher, users=[make_user("late")])
    assert NoticeRecipient.objects.filter(notice=notice).count() == 2


def test_nullable_fields_travel_as_null(draft, publisher):
    notice_publish(notice=draft, actor=publisher)

    [event] = events_of(NOTICE_PUBLISHED_V1)
    assert event.envelope["data"]["visible_until"] is None
    assert event.envelope["data"]["remind_after_seconds"] is None
    assert_valid_message(event, NOTICE_PUBLISHED_V1)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_publish_leaves_no_event_and_a_draft(draft, publisher):
    def publish_then_fail() -> None:
        with transaction.atomic():
            notice_publish(notice=draft, actor=publisher)
            raise RuntimeError("failure after publish")

    with pytest.raises(RuntimeError, match="after publish"):
        publish_then_fail()

    assert not OutboxEvent.objects.filter(aggregate_type="notice").exists()
    draft.refresh_from_db()
    assert draft.status == Notice.Status.DRAFT
    assert not NoticeRecipient.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_committed_publish_leaves_exactly_one_valid_published_event(draft, publisher):
    notice_draft_update(
        notice=draft,
        actor=publisher,
        visible_until=timezone.now() + timedelta(days=1),
        remind_after_seconds=30 * 60,
    )
    notice_publish(notice=draft, actor=publisher)

    [event] = OutboxEvent.objects.filter(aggregate_type="notice")
    assert event.event_type == NOTICE_PUBLISHED_V1.type
    assert event.status == OutboxEvent.Status.PENDING
    assert_valid_message(event, NOTICE_PUBLISHED_V1)


def test_only_the_first_read_records_an_event(published, recipient):
    read_at, created = notice_mark_read(notice=published, user=recipient)
    again, created_again = notice_mark_read(notice=published, user=recipient)

    assert (created, created_again) == (True, False)
    assert again == read_at == ReadReceipt.objects.get().read_at
    [event] = events_of(NOTICE_READ_V1)
    assert_valid_message(event, NOTICE_READ_V1)
    assert event.envelope["data"]["user_id"] == str(recipient.id)


def test_a_non_recipient_cannot_mark_read(published, outsider, publisher):
    for user in (outsider, publisher):
        with pytest.raises(NotFoundError):
            notice_mark_read(notice=published, user=user)
    assert not ReadReceipt.objects.exists()
    assert not events_of(NOTICE_READ_V1)


def test_archive_records_an_event_and_hides_the_notice(published, publisher, recipient):
    notice = notice_archive(notice=published, actor=publisher)

    assert notice.status == Notice.Status.ARCHIVED
    [event] = events_of(NOTICE_ARCHIVED_V1)
    assert_valid_message(event, NOTICE_ARCHIVED_V1)
    assert not Notice.objects.inbox_of(recipient).exists()
    with pytest.raises(NotFoundError):
        notice_mark_read(notice=published, user=recipient)


def test_events_of_one_notice_are_recorded_in_order(published, publisher, recipient):
    notice_mark_read(notice=published, user=recipient)
    notice_archive(notice=published, actor=publisher)

    types = list(
        OutboxEvent.objects.filter(aggregate_id=str(published.id))
        .order_by("position")
        .values_list("event_type", flat=True)
    )
    assert types == [NOTICE_PUBLISHED_V1.type, NOTICE_READ_V1.type, NOTICE_ARCHIVED_V1.type]


def test_only_a_draft_can_be_edited_published_or_deleted(published, publisher):
    with pytest.raises(StateConflictError):
        notice_draft_update(notice=published, actor=publisher, title="New")
    with pytest.raises(StateConflictError):
        notice_publish(notice=published, actor=publisher)
    with pytest.raises(StateConflictError, match="archive a published notice instead"):
        notice_draft_delete(notice=published, actor=publisher)
    assert len(events_of(NOTICE_PUBLISHED_V1)) == 1


def test_only_a_published_notice_can_be_archived(draft, publisher):
    with pytest.raises(StateConflictError):
        notice_archive(notice=draft, actor=publisher)


def test_a_notice_needs_a_recipient_to_be_published(publisher):
    lonely = notice_draft_create(author=publisher, title="To nobody")
    with pytest.raises(StateConflictError, match="at least one active recipient"):
        notice_publish(notice=lonely, actor=publisher)
    assert not events_of(NOTICE_PUBLISHED_V1)


def test_the_window_must_end_after_it_starts(publisher, draft):
    now = timezone.now()
    with pytest.raises(InvalidInputError) as raised:
        notice_draft_create(author=publisher, title="Never", visible_from=now, visible_until=now)
    assert "visible_until" in raised.value.field_errors
    notice_draft_update(notice=draft, actor=publisher, visible_until=now - timedelta(hours=1))
    with pytest.raises(InvalidInputError):
        notice_publish(notice=draft, actor=publisher)


def test_only_the_author_changes_a_notice(draft, other_publisher):
    for change in (
        lambda: notice_draft_update(notice=draft, actor=other_publisher, title="Mine"),
        lambda: notice_publish(notice=draft, actor=other_publisher),
        lambda: notice_draft_delete(notice=draft, actor=other_publisher),
    ):
        with pytest.raises(ActionForbiddenError):
            change()
    draft.refresh_from_db()
    assert draft.title == "Heating maintenance"


def test_each_change_bumps_the_version(draft, publisher):
    assert draft.version == 1
    notice_draft_update(notice=draft, actor=publisher, title="Heating, again")
    published = notice_publish(notice=draft, actor=publisher)
    assert published.version == 3
    assert notice_archive(notice=published, actor=publisher).version == 4


def test_summary_is_a_short_plain_text_excerpt():
    assert notice_summary("<h1>Hello</h1>\n\n<p>world</p>") == "Hello world"
    long_summary = notice_summary("word " * 100)
    assert len(long_summary) <= 200
    assert long_summary.endswith("…")


def test_a_repeated_read_answers_from_the_locked_row_alone(
    published, recipient, django_assert_num_queries
):
    first_read_at, _ = notice_mark_read(notice=published, user=recipient)
    # The locking read, between the savepoint the test's transaction makes of the
    # service's atomic block and its release.
    with django_assert_num_queries(3):
        read_at, created = notice_mark_read(notice=published, user=recipient)
    assert (read_at, created) == (first_read_at, False)
    assert ReadReceipt.objects.get().read_at == read_at
