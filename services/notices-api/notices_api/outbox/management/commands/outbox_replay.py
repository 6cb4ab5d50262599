"""``manage.py outbox_replay``: put parked (failed) outbox events back in the queue."""

from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notices_api.core.progress import add_progress_argument, progress_bar
from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.services import outbox_events_replay


class Command(BaseCommand):
    help = "Replay parked outbox events: one by id, or every failed one."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--event-id", type=UUID, help="the parked event to replay")
        target.add_argument("--failed", action="store_true", help="every parked event")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.OUTBOX_RELAY.batch_size,
            help="events per transaction; default OUTBOX_RELAY_BATCH_SIZE",
        )
        add_progress_argument(parser)

    def handle(
        self,
        *args: Any,
        event_id: UUID | None,
        failed: bool,
        batch_size: int,
        progress: bool,
        **options: Any,
    ) -> None:
        events = OutboxEvent.objects.all()
        if event_id is not None:
            events = events.filter(id=event_id)
            if not events.failed().exists():
                raise CommandError(f"no parked (failed) outbox event with id {event_id}")
        with progress_bar(
            description="parked events",
            total=events.failed().count(),
            stream=self.stderr,
            forced=progress,
        ) as advance:
            replayed = outbox_events_replay(events=events, batch_size=batch_size, on_batch=advance)
        self.stdout.write(f"replayed {replayed} event(s)")
