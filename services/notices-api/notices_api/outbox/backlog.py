"""The outbox backlog on the API's ``/metrics``: pending rows and the oldest one's age.

The backlog is read from the database at scrape time, so every API replica reports the
same shared figure; alert on it rather than on per-process counters. The web process
registers it (``config.wsgi``); the relay exports its own figures (``outbox.metrics``).
"""

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from notices_api.outbox.models import OutboxEvent

logger = structlog.get_logger(__name__)


class OutboxBacklogCollector(Collector):
    """Pending outbox rows and the age of the oldest one, queried at most once per
    NOTICES_METRICS_CACHE_SECONDS, so the scrape rate cannot set the database load."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, Any] | None = None
        self._read_at = 0.0

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def _read_pending(self) -> dict[str, Any]:
        # Concurrent scrapes wait for the one query under way rather than each sending one.
        with self._lock:
            age = self.clock() - self._read_at
            if self._pending is None or age >= settings.NOTICES_METRICS_CACHE_SECONDS:
                self._pending = OutboxEvent.objects.pending().aggregate(
                    count=Count("id"), oldest=Min("created_at")
                )
                self._read_at = self.clock()
            return self._pending

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pending = self._read_pending()
        except DatabaseError as error:
            # /metrics stays up without its database; /readyz reports the outage.
            logger.warning("outbox_metrics_unavailable", error=str(error))
            return
        backlog, oldest_age = self._families()
        backlog.add_metric([], pending["count"])
        oldest_at = pending["oldest"]
        oldest_age.add_metric(
            [], (timezone.now() - oldest_at).total_seconds() if oldest_at is not None else 0.0
        )
        yield backlog
        yield oldest_age

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "notices_api_outbox_pending_events", "Outbox events not yet published."
            ),
            GaugeMetricFamily(
                "notices_api_outbox_oldest_pending_age_seconds",
                "Age of the oldest pending outbox event (0 when none is pending).",
            ),
        )


OUTBOX_BACKLOG = OutboxBacklogCollector()
REGISTRY.register(OUTBOX_BACKLOG)
