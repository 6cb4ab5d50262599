"""``manage.py outbox_replay``: put parked (failed) outbox events back in the queue."""

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.services import outbox_events_replay


class Command(BaseCommand):
    help = "Replay parked outbox events: one by id, or every failed one."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--event-id", type=UUID, help="the parked event to replay")
        target.add_argument("--failed", action="store_true", help="every parked event")

    def handle(self, *args: Any, event_id: UUID | None, failed: bool, **options: Any) -> None:
        events = OutboxEvent.objects.all()
        if event_id is not None:
            events = events.filter(id=event_id)
            if not events.failed().exists():
                raise CommandError(f"no parked (failed) outbox event with id {event_id}")
        replayed = outbox_events_replay(events=events)
        self.stdout.write(f"replayed {replayed} event(s)")
