"""Reads as QuerySet methods and selectors, and the invariants the database itself enforces."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from notices_api.core.exceptions import NotFoundError
from notices_api.notices.models import Notice, NoticeRecipient, ReadReceipt
from notices_api.notices.selectors import notice_get
from notices_api.notices.services import (
    notice_archive,
    notice_draft_create,
    notice_mark_read,
    notice_publish,
)

pytestmark = pytest.mark.django_db


def test_inbox_of_means_published_addressed_and_inside_the_window(
    published, draft, recipient, outsider, publisher
):
    assert list(Notice.objects.inbox_of(recipient)) == [published]
    assert not Notice.objects.inbox_of(outsider).exists()
    # The author is not in the audience: their notice is theirs, but not for them to read.
    assert not Notice.objects.inbox_of(publisher).exists()
    assert notice_get(user=publisher, notice_id=published.id) == published
    assert notice_get(user=recipient, notice_id=published.id) == published
    with pytest.raises(NotFoundError):
        notice_get(user=outsider, notice_id=published.id)

    # The inbox reads the recipient rows' copy of the window.
    later = timezone.now() + timedelta(days=1)
    NoticeRecipient.objects.filter(notice=published).update(visible_until=later)
    assert not Notice.objects.inbox_of(recipient, at=later).exists()
    assert not NoticeRecipient.objects.inbox_of(recipient, at=later).exists()
    NoticeRecipient.objects.filter(notice=published).update(visible_from=later, visible_until=None)
    assert not Notice.objects.inbox_of(recipient).exists()
    with pytest.raises(NotFoundError):
        notice_get(user=recipient, notice_id=published.id)
    # Its author still sees it, outside the window as in every status.
    assert notice_get(user=publisher, notice_id=published.id) == published


def test_recipient_rows_copy_the_notice_and_follow_it(published, recipient, publisher):
    row = NoticeRecipient.objects.get(notice=published)
    assert (row.user, row.status, row.published_at, row.visible_from, row.category) == (
        recipient,
        Notice.Status.PUBLISHED,
        published.published_at,
        published.visible_from,
        published.category,
    )
    assert row.read_at is None
    read_at, _ = notice_mark_read(notice=published, user=recipient)
    row.refresh_from_db()
    assert row.read_at == read_at
    notice_archive(notice=published, actor=publisher)
    row.refresh_from_db()
    assert row.status == Notice.Status.ARCHIVED
    assert not Notice.objects.inbox_of(recipient).exists()


def test_read_state_and_unread_in_inbox(published, recipient, publisher):
    notice: Any = Notice.objects.with_read_state(recipient).get()
    assert notice.is_read is False
    shown: Any = notice_get(user=recipient, notice_id=published.id)
    assert shown.is_read is False
    assert list(Notice.objects.inbox_of(recipient, unread=True)) == [published]
    notice_mark_read(notice=published, user=recipient)
    notice = Notice.objects.with_read_state(recipient).get()
    assert notice.is_read is True
    shown = notice_get(user=recipient, notice_id=published.id)
    assert shown.is_read is True
    # The author is no recipient: their notice, unread by them.
    shown = notice_get(user=publisher, notice_id=published.id)
    assert shown.is_read is False
    notice = Notice.objects.inbox_of(recipient).get()
    assert notice.is_read is True
    assert not Notice.objects.inbox_of(recipient, unread=True).exists()


def test_one_read_receipt_per_notice_and_user_is_a_database_constraint(published, recipient):
    ReadReceipt.objects.create(notice=published, user=recipient, read_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        ReadReceipt.objects.create(notice=published, user=recipient, read_at=timezone.now())


def test_the_window_must_end_after_it_starts_in_the_database(draft):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.filter(pk=draft.pk).update(visible_from=now, visible_until=now)


def test_a_published_notice_has_its_publication_time_in_the_database(draft):
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.filter(pk=draft.pk).update(status=Notice.Status.PUBLISHED)


def test_inbox_filters_read_the_callers_own_row(make_user, publisher, recipient):
    other = make_user()
    draft = notice_draft_create(author=publisher, title="t", audience_users=[recipient, other])
    notice = notice_publish(notice=draft, actor=publisher)
    notice_mark_read(notice=notice, user=recipient)
    # The other reader's unread row must not put the notice back in the caller's unread list.
    assert not Notice.objects.inbox_of(recipient, unread=True).exists()
    assert list(Notice.objects.inbox_of(other, unread=True)) == [notice]
    row: Any = Notice.objects.inbox_of(recipient, category="general").get()
    assert row.is_read is True
