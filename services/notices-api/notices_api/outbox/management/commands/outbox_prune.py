"""``manage.py outbox_prune``: delete published outbox rows past their retention."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notices_api.outbox.relay import prune_published


class Command(BaseCommand):
    help = "Delete published outbox rows older than the retention, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=settings.OUTBOX_RELAY.retention_seconds,
            help="age in seconds; default OUTBOX_RELAY_RETENTION_SECONDS",
        )
        parser.add_argument(
            "--batch-size", type=int, default=settings.OUTBOX_RELAY.prune_batch_size
        )

    def handle(self, *args: Any, older_than: float, batch_size: int, **options: Any) -> None:
        deleted = prune_published(older_than=timedelta(seconds=older_than), batch_size=batch_size)
        self.stdout.write(f"deleted {deleted} published event(s)")
