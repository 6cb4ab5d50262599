"""``manage.py outbox_relay``: publish the outbox to RabbitMQ until SIGTERM."""

import signal
from types import FrameType
from typing import Any

import structlog
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from notices_api.core.telemetry import configure_tracing
from notices_api.outbox import metrics
from notices_api.outbox.relay import relay_from_settings
from notices_contracts.heap import freeze_startup_heap

log = structlog.get_logger(__name__)


class Command(BaseCommand):
    help = "Publish committed outbox events to the broker (publisher confirms, in order)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="publish what is pending, then exit"
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.OUTBOX_RELAY.metrics_port,
            help="Prometheus endpoint port (0: none); default OUTBOX_RELAY_METRICS_PORT",
        )

    def handle(self, *args: Any, once: bool, metrics_port: int, **options: Any) -> None:
        configure_tracing(default_service_name="notices-relay")
        relay = relay_from_settings()
        freeze_startup_heap()

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("outbox_relay_stopping", signal=signal.Signals(signum).name)
            relay.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        metrics.serve_metrics(metrics_port)
        log.info("outbox_relay_started", once=once, metrics_port=metrics_port)
        relay.run(once=once)
        log.info("outbox_relay_stopped")
