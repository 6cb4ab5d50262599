"""The notices-api side of the benchmark, in writer processes of their own (spawn pool).

Events go in through ``outbox_event_record``, the one function every service of
notices-api writes events with, so they are the rows a real publish leaves. What
is due at each tick is committed in one transaction ("bulk"): one event per
transaction at low rates, batches when the offered rate is higher than one
transaction at a time can follow. What the domain writes around it cost is
measured by the HTTP part, through the real API.
"""

import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

API_DIR = Path(__file__).resolve().parents[2] / "services" / "notices-api"
TICK_SECONDS = 0.01
MAX_BATCH = 200
BACKLOG_BATCH = 1000


def set_up(database_url: str, otel: dict[str, str]) -> None:
    """Pool initializer: Django against the run's notices-api database.

    With ``otel`` (``--tracing``), tracing is set up as the API's server sets it up, so
    each event's outbox write span is the root of its trace and the run's sampler decides
    whether the trace is recorded, as it would for the request that published it.
    """
    sys.path.insert(0, str(API_DIR))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        **otel,
    )
    import django

    django.setup()
    from notices_api.core.telemetry import configure_tracing

    configure_tracing(default_service_name="notices-api")


def ready() -> bool:
    return True


def relay_confirm_window() -> int:
    """The relay's window of outstanding confirms, given to the aio-pika baseline too."""
    from django.conf import settings

    return int(settings.OUTBOX_RELAY.confirm_window)


def recipients(*, count: int) -> list[str]:
    """Users made by the service (each emits ``recipient.updated``); their ids."""
    from notices_api.accounts.services import user_create

    tag = uuid.uuid4().hex[:6]
    return [
        str(user_create(username=f"bench-{tag}-{n}", email=f"bench-{tag}-{n}@example.org").id)
        for n in range(count)
    ]


def published_on_schedule(
    *,
    share: int,
    shares: int,
    rate: float | None,
    start_at: float,
    seconds: float,
    recipient_ids: list[str],
    category: str,
) -> dict[str, float]:
    """This writer's share of ``notice.published`` events; event id -> time of its commit.

    Event n (counted over all writers) is due at ``start_at + n / rate``; with no
    rate, batches of MAX_BATCH follow each other as fast as they commit.
    """
    committed: dict[str, float] = {}
    n = share
    end_at = start_at + seconds
    time.sleep(max(0.0, start_at - time.time()))
    while (now := time.time()) < end_at:
        due = int((now - start_at) * rate) if rate else n + shares * MAX_BATCH
        batch = []
        while n < due and len(batch) < MAX_BATCH:
            batch.append(recipient_ids[n % len(recipient_ids)])
            n += shares
        if not batch:
            assert rate is not None
            time.sleep(max(0.0, min(start_at + n / rate, end_at) - time.time(), TICK_SECONDS / 10))
            continue
        event_ids = _commit_published(batch, category=category)
        done_at = time.time()
        committed.update(dict.fromkeys(event_ids, done_at))
    return committed


def _commit_published(recipient_ids: list[str], *, category: str) -> list[str]:
    from django.db import transaction

    from bench.events import benchmark_notice
    from notices_api.outbox.services import outbox_event_record

    with transaction.atomic():
        event_ids = []
        for recipient_id in recipient_ids:
            data = benchmark_notice(recipient_ids=[uuid.UUID(recipient_id)], category=category)
            event = outbox_event_record(
                data=data, aggregate_id=data.notice_id, occurred_at=data.published_at
            )
            event_ids.append(str(event.id))
    return event_ids


def read_backlog(*, share: int, shares: int, events: int, notices: int) -> int:
    """This writer's share of ``notice.read`` events, BACKLOG_BATCH per transaction."""
    from django.db import transaction

    from notices_api.outbox.services import outbox_event_record
    from notices_contracts import NoticeReadV1

    notice_ids = [uuid.uuid4() for _ in range(notices)]
    mine = range(share, events, shares)
    for start in range(0, len(mine), BACKLOG_BATCH):
        with transaction.atomic():
            for n in mine[start : start + BACKLOG_BATCH]:
                notice_id = notice_ids[n % notices]
                outbox_event_record(
                    data=NoticeReadV1(
                        notice_id=notice_id, user_id=uuid.uuid4(), read_at=datetime.now(UTC)
                    ),
                    aggregate_id=notice_id,
                )
    return len(mine)


def seed_http_world(
    *,
    users: int,
    readers: int,
    inbox: int,
    notices: int,
    audience: int,
    read_share: float,
    seed: int,
) -> dict[str, Any]:
    """Users with tokens and published notices, written in bulk (seed data, not events;
    the notices and their rows with COPY; the tokens one by one, as knox issues them).

    ``readers`` of the users are the ones measured: each receives the same ``inbox``
    notices, spread through the first ``notices``; every other notice goes to
    ``audience`` of the other users only, so ``grow_http_world`` can make the table
    bigger without changing what a measured reader's inbox holds. Returns what the load
    generator needs (the readers' tokens with their notices, a publisher token, other
    users to address new notices to) and what ``grow_http_world`` needs.
    """
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Permission
    from django.db import transaction
    from knox.models import AuthToken

    from notices_api.accounts.models import PUBLISH_PERMISSION_CODENAME, User

    password = make_password(None)
    tag = uuid.uuid4().hex[:6]
    publisher = User.objects.create(username=f"bench-publisher-{tag}", password=password)
    publisher.user_permissions.add(Permission.objects.get(codename=PUBLISH_PERMISSION_CODENAME))
    people = User.objects.bulk_create(
        User(username=f"bench-{tag}-{n}", email=f"bench{n}@example.org", password=password)
        for n in range(users)
    )
    with transaction.atomic():
        token_of = {
            user.id: AuthToken.objects.create(user=user)[1] for user in [publisher, *people]
        }
    measured, others = people[:readers], people[readers:]
    every = max(1, notices // inbox)
    addressed = [
        measured if n % every == 0 and n // every < inbox else None for n in range(notices)
    ]
    world: dict[str, Any] = {
        "publisher_id": str(publisher.id),
        "other_ids": [str(user.id) for user in others],
        "audience": audience,
        "read_share": read_share,
        "seed": seed,
        "notices": 0,
        "receipts": 0,
        "publisher_token": token_of[publisher.id],
        "audience_ids": [str(user.id) for user in others[:5]],
    }
    inbox_ids = _seed_notices(world, addressed)
    world["recipients"] = [
        {"token": token_of[user.id], "notice_ids": [str(i) for i in inbox_ids]} for user in measured
    ]
    return world


def grow_http_world(*, world: dict[str, Any], notices: int) -> dict[str, Any]:
    """``world`` with newer notices to other users only, up to ``notices`` in all."""
    _seed_notices(world, [None] * (notices - world["notices"]))
    return world


def _seed_notices(world: dict[str, Any], addressed: list[Any]) -> list[uuid.UUID]:
    """One published notice per entry, newer than the world's, to the users given or to
    ``audience`` random other users (None); recipient rows and receipts with them.
    Returns the ids of the notices addressed to given users."""
    from notices_api.accounts.models import User
    from notices_api.notices.models import Notice, NoticeRecipient, ReadReceipt

    rng = random.Random(world["seed"] + world["notices"])
    others = list(User.objects.filter(id__in=world["other_ids"]))
    now = datetime.now(UTC)
    first = world["notices"]
    published = [
        Notice(
            title=f"Seeded notice {first + n}",
            body="Seeded for the HTTP benchmark.",
            category=rng.choice(["general", "safety", "food", "it"]),
            status=Notice.Status.PUBLISHED,
            visible_from=now - timedelta(days=30),
            author_id=world["publisher_id"],
            # Newer than every notice already seeded: what grows the table comes first
            # in time order, as years of other people's notices would.
            published_at=now - timedelta(days=30, seconds=-(first + n)),
        )
        for n in range(len(addressed))
    ]
    rows, receipts, given = [], [], []
    for notice, users in zip(published, addressed, strict=True):
        if users is not None:
            given.append(notice.id)
        inbox = notice.inbox_fields()
        for user in users if users is not None else rng.sample(others, world["audience"]):
            read_at = now if rng.random() < world["read_share"] else None
            rows.append(NoticeRecipient(notice=notice, user=user, read_at=read_at, **inbox))
            if read_at is not None:
                receipts.append(ReadReceipt(notice=notice, user=user, read_at=read_at))
    _copy(Notice, published)
    _copy(NoticeRecipient, rows)
    _copy(ReadReceipt, receipts)
    world["notices"] += len(published)
    world["receipts"] += len(receipts)
    return given


def _copy(model: Any, objects: list[Any]) -> None:
    """``objects`` written with PostgreSQL's COPY (several times faster than bulk_create
    at the full profile's millions of rows); a database-assigned id is left to it."""
    from django.db import connection, models, transaction

    fields = [
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, models.AutoField | models.BigAutoField)
    ]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for instance in objects:
            copy.write_row(
                [
                    field.get_db_prep_save(field.pre_save(instance, True), connection)
                    for field in fields
                ]
            )
