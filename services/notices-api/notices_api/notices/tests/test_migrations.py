"""Upgrading a database of today's schema (0001) keeps every inbox as it was."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notices_api.notices.models import Notice
from notices_api.notices.selectors import NoticeFilters, notice_list, notice_unread_count

BEFORE = [("notices", "0001_initial")]
AFTER = [("notices", "0004_inbox_indexes")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_upgrade_keeps_every_inbox(make_user):
    users = [make_user(f"reader{i}") for i in range(3)]
    author = make_user("author", publisher=True)
    apps = _migrate(BEFORE)
    old_notices = apps.get_model("notices", "Notice")
    old_recipients = apps.get_model("notices", "NoticeRecipient")
    old_receipts = apps.get_model("notices", "ReadReceipt")
    now = timezone.now()
    expected: dict[str, list[tuple[str, bool]]] = {u.username: [] for u in users}
    for i, status in enumerate(["published", "published", "archived", "published", "draft"]):
        published = status != "draft"
        notice = old_notices.objects.create(
            title=f"n{i}",
            author_id=author.pk,
            status=status,
            category="works" if i % 2 else "general",
            published_at=now - timedelta(hours=i) if published else None,
            visible_from=now - timedelta(hours=i) if published else None,
            # The fourth has already expired.
            visible_until=now - timedelta(minutes=1) if i == 3 else None,
        )
        if not published:
            continue
        for j, user in enumerate(users[: 1 + i % 3]):
            old_recipients.objects.create(notice_id=notice.pk, user_id=user.pk)
            read = (i + j) % 2 == 0
            if read:
                old_receipts.objects.create(notice_id=notice.pk, user_id=user.pk, read_at=now)
            if status == "published" and i != 3:
                expected[user.username].append((notice.title, read))

    _migrate(AFTER)

    for user in users:
        inbox: Any = notice_list(user=user, filters=NoticeFilters()).order_by("-inbox_published_at")
        assert [(n.title, n.is_read) for n in inbox] == expected[user.username]
        unread = sum(not read for _, read in expected[user.username])
        assert notice_unread_count(user=user) == unread
    assert Notice.objects.count() == 5
