"""``manage.py outbox_skip``: give up on a parked event, releasing its aggregate's later ones."""

from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notices_api.outbox.models import OutboxEvent
from notices_api.outbox.services import outbox_events_skip


class Command(BaseCommand):
    help = (
        "Skip a parked outbox event: it is kept (status skipped) but never published,"
        " and the later events of its aggregate held behind it flow again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--event-id", type=UUID, required=True, help="the parked event")

    def handle(self, *args: Any, event_id: UUID, **options: Any) -> None:
        events = OutboxEvent.objects.filter(id=event_id)
        if not events.failed().exists():
            raise CommandError(f"no parked (failed) outbox event with id {event_id}")
        skipped = outbox_events_skip(events=events)
        self.stdout.write(f"skipped {skipped} event(s)")
