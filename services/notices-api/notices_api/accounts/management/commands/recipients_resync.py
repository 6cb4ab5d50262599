"""``manage.py recipients_resync``: publish every recipient again, to rebuild the notifier."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from notices_api.accounts.services import recipients_resync, recipients_to_resync
from notices_api.core.progress import add_progress_argument, progress_bar
from notices_api.core.tracecontext import unit_of_work


def aware_datetime(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


class Command(BaseCommand):
    help = (
        "Record recipient.updated in the outbox for every user (or those changed since a "
        "time), in batches, so the notifier can rebuild its recipients."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            type=aware_datetime,
            help="only users whose recipient.updated the outbox recorded since this ISO 8601 "
            "time with its offset (as far back as the outbox keeps published rows)",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        add_progress_argument(parser)

    def handle(
        self,
        *args: Any,
        since: datetime | None,
        batch_size: int,
        progress: bool,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        users = recipients_to_resync(since=since)
        # One run is one unit of work: its events share a trace and a correlation id.
        with (
            unit_of_work(),
            progress_bar(
                description="recipients", total=users.count(), stream=self.stderr, forced=progress
            ) as advance,
        ):
            recorded = recipients_resync(users=users, batch_size=batch_size, on_batch=advance)
        self.stdout.write(f"recorded recipient.updated for {recorded} user(s)")
