"""The counter-example, served for the benchmark only: publish in ``transaction.on_commit``.

This is what most Django projects do instead of an outbox: the request's
transaction commits, then a callback publishes the event with kombu. It writes
one row less per event, and it loses the event whenever the process dies (or
the broker is away) between the commit and the publish. The benchmark serves
notices-api with every outbox write replaced by that, to price the outbox.

``BENCH_ON_COMMIT_CONFIRMS=true`` makes each publish wait for the broker's
confirm (kombu's ``confirm_publish``); otherwise it is fire-and-forget, as in
most projects.
"""

import os
import threading
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

# After setup: these modules import the models.
from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from kombu import Connection, Exchange, Producer  # noqa: E402
from uuid6 import uuid7  # noqa: E402

from bench.baselines import broker_user, kombu_publish_options  # noqa: E402
from notices_api.accounts import services as account_services  # noqa: E402
from notices_api.core.tracecontext import current_trace_context  # noqa: E402
from notices_api.notices import services as notice_services  # noqa: E402
from notices_contracts import amqp_properties, build_event  # noqa: E402
from notices_contracts.base import ContractModel  # noqa: E402

CONFIRMS = os.environ.get("BENCH_ON_COMMIT_CONFIRMS", "false").lower() == "true"
_local = threading.local()  # a kombu connection is not thread-safe; gunicorn runs threads


def _producer() -> Producer:
    if not hasattr(_local, "producer"):
        options = {"confirm_publish": True} if CONFIRMS else {}
        connection = Connection(settings.AMQP_URL, transport_options=options)
        exchange = Exchange(settings.OUTBOX_EXCHANGE, "topic", durable=True)
        _local.producer = connection.Producer(exchange=exchange)
    return _local.producer


def publish_on_commit(
    *, data: ContractModel, aggregate_id: UUID, occurred_at: datetime | None = None
) -> Any:
    trace = current_trace_context()
    event = build_event(
        event_id=uuid7(),
        subject=str(aggregate_id),
        time=occurred_at or timezone.now(),
        data=data,
        traceparent=trace.traceparent if trace else None,
        correlationid=trace.request_id if trace else None,
    )
    body, props = event.to_json_bytes(), amqp_properties(event)

    def publish() -> None:
        _producer().publish(
            body, **kombu_publish_options(props, user_id=broker_user(settings.AMQP_URL))
        )

    transaction.on_commit(publish)
    return event


notice_services.outbox_event_record = publish_on_commit  # type: ignore[assignment]
account_services.outbox_event_record = publish_on_commit  # type: ignore[assignment]
