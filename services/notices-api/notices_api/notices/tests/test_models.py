"""Reads as QuerySet methods, and the invariants the database itself enforces."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from notices_api.notices.models import Notice, ReadReceipt
from notices_api.notices.services import notice_mark_read

pytestmark = pytest.mark.django_db


def test_visible_to_means_published_addressed_and_inside_the_window(
    published, draft, recipient, outsider, publisher
):
    assert list(Notice.objects.visible_to(recipient)) == [published]
    assert not Notice.objects.visible_to(outsider).exists()
    # The author is not in the audience: their notice is theirs, but not for them to read.
    assert not Notice.objects.visible_to(publisher).exists()
    assert list(Notice.objects.visible_or_authored_by(publisher)) == [published]

    later = timezone.now() + timedelta(days=1)
    Notice.objects.filter(pk=published.pk).update(visible_until=later)
    assert not Notice.objects.visible_to(recipient, at=later).exists()
    Notice.objects.filter(pk=published.pk).update(visible_from=later, visible_until=None)
    assert not Notice.objects.visible_to(recipient).exists()


def test_with_read_state_and_unread_by(published, recipient):
    notice: Any = Notice.objects.with_read_state(recipient).get()
    assert notice.is_read is False
    assert list(Notice.objects.unread_by(recipient)) == [published]
    notice_mark_read(notice=published, user=recipient)
    notice = Notice.objects.with_read_state(recipient).get()
    assert notice.is_read is True
    assert not Notice.objects.unread_by(recipient).exists()


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
