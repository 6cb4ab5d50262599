"""``manage.py outbox_prune``: delete published outbox rows past their retention."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from notices_api.core.progress import add_progress_argument, progress_bar
from notices_api.outbox.models import OutboxEvent
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
        add_progress_argument(parser)

    def handle(
        self, *args: Any, older_than: float, batch_size: int, progress: bool, **options: Any
    ) -> None:
        age = timedelta(seconds=older_than)
        with progress_bar(
            description="published events",
            total=OutboxEvent.objects.published_before(timezone.now() - age).count(),
            stream=self.stderr,
            forced=progress,
        ) as advance:
            deleted = prune_published(older_than=age, batch_size=batch_size, on_batch=advance)
        self.stdout.write(f"deleted {deleted} published event(s)")
