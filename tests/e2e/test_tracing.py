"""OpenTelemetry across the real processes: one notice, one trace, from the request to the mail.

A stack of its own, exporting to an OTLP/HTTP receiver of this test (tests/support/otlp.py).
"""

import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support.otlp import OtlpReceiver, ReceivedSpan, otlp_receiver
from support.stack import Stack, running_stack, wait_for

pytestmark = pytest.mark.timeout(600)

TIMEOUT = 60.0
SPAN_KIND_SERVER = 2
SPAN_KIND_PRODUCER = 4
SPAN_KIND_CONSUMER = 5


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, OtlpReceiver]]:
    with otlp_receiver() as receiver:
        otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        work_dir = tmp_path_factory.mktemp("e2e-tracing")
        with running_stack(work_dir, api_env=otel, notifier_env=otel) as stack:
            yield stack, receiver


def _one(spans: list[ReceivedSpan], what: str, **where: Any) -> ReceivedSpan:
    found = [s for s in spans if all(getattr(s, key) == value for key, value in where.items())]
    assert len(found) == 1, f"{what}: {len(found)} spans match {where} among {spans}"
    return found[0]


def _descends_from(span: ReceivedSpan, ancestor: ReceivedSpan, spans: list[ReceivedSpan]) -> bool:
    by_id = {s.span_id: s for s in spans}
    current: ReceivedSpan | None = span
    while current is not None:
        if current.parent_span_id == ancestor.span_id:
            return True
        current = by_id.get(current.parent_span_id)
    return False


def test_one_trace_from_the_publish_request_to_the_delivery_and_in_every_log_line(
    traced: tuple[Stack, OtlpReceiver],
) -> None:
    stack, receiver = traced
    tag = uuid.uuid4().hex[:6]
    publisher = stack.create_user(f"pat-{tag}", email=f"pat.{tag}@e2e.example", publisher=True)
    reader = stack.create_user(f"ana-{tag}", email=f"ana.{tag}@e2e.example")
    with stack.api_client(reader) as api:
        reader_id = api.get("/me/").raise_for_status().json()["id"]
    title = f"Traced notice {tag}"
    trace_id, caller_span_id = secrets.token_hex(16), secrets.token_hex(8)
    with stack.api_client(publisher) as api:
        created = api.post(
            "/notices/",
            json={"title": title, "body": "Details inside.", "recipient_user_ids": [reader_id]},
        )
        assert created.status_code == 201, created.text
        notice_id = created.json()["id"]
        published = api.post(
            f"/notices/{notice_id}/publish/",
            headers={"traceparent": f"00-{trace_id}-{caller_span_id}-01"},
        )
        assert published.status_code == 200, published.text
    wait_for("the mail", lambda: [m for m in stack.mails() if m["Subject"] == title], timeout=60)

    def delivered() -> list[ReceivedSpan]:
        return [
            span
            for span in receiver.spans_of_trace(trace_id)
            if span.attributes.get("notices.delivery.outcome") == "delivered"
        ]

    wait_for("the delivery's span", delivered, timeout=TIMEOUT)
    spans = receiver.spans_of_trace(trace_id)
    assert {"notices-api", "notices-relay", "notifier"} <= {span.service for span in spans}

    # notices-api: the request (continuing the caller's trace), and the outbox write in it.
    request = _one(
        spans, "the request", service="notices-api", kind=SPAN_KIND_SERVER,
        parent_span_id=caller_span_id,
    )  # fmt: skip
    write = _one(
        spans, "the outbox write", service="notices-api",
        name="outbox write notices.notice.published.v1",
    )  # fmt: skip
    assert _descends_from(write, request, spans)
    row_id = write.attributes["notices.outbox.row_id"]

    # The relay: its publish of that row, a child of the write, with the broker's answer.
    publish = _one(spans, "the relay's publish", service="notices-relay", kind=SPAN_KIND_PRODUCER)
    assert publish.parent_span_id == write.span_id
    assert publish.attributes["notices.outbox.row_id"] == row_id
    assert publish.attributes["notices.event.type"] == "notices.notice.published.v1"
    assert publish.attributes["notices.outbox.outcome"] == "confirmed"
    assert publish.attributes["notices.outbox.confirm_ms"] >= 0

    # The notifier: FastStream's consume span, a child of the publish; then the delivery.
    consume = _one(
        spans, "the notifier's consume", service="notifier", kind=SPAN_KIND_CONSUMER,
        name="notices.events.notice.published.v1 process",
    )  # fmt: skip
    assert consume.parent_span_id == publish.span_id
    assert consume.attributes["messaging.message.id"] == row_id
    # Its batch (of one): the inbox and the ledger's writes, in the same trace.
    batch = _one(spans, "the consumed batch", service="notifier", name="consume batch")
    assert batch.parent_span_id == publish.span_id
    assert any(
        span.parent_span_id == batch.span_id and span.attributes.get("db.system") for span in spans
    ), "no statement of the consumed batch in its span"
    delivery = _one(spans, "the delivery", service="notifier", name="deliver email")
    assert delivery.parent_span_id == write.span_id
    assert delivery.attributes["notices.delivery.channel"] == "email"
    assert delivery.attributes["notices.delivery.attempt"] == 1
    assert delivery.attributes["notices.delivery.outcome"] == "delivered"

    # The same trace id in the JSON lines of the three services; the API's is its span's.
    def lines(process: str, event: str) -> list[dict[str, Any]]:
        return [
            line
            for line in stack.logs(process)
            if line.get("event") == event and line.get("trace_id") == trace_id
        ]

    api_line = _only(wait_for("the API's line", lambda: lines("api", "http_request"), timeout=30))
    assert api_line["span_id"] == request.span_id
    relay_line = _only(lines("relay", "outbox_event_published"))
    assert relay_line["event_id"] == row_id
    delivery_line = _only(lines("notifier", "delivery_attempted"))
    assert delivery_line["outcome"] == "delivered"
    assert delivery_line["event_id"] == row_id


def _only(found: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(found) == 1, found
    return found[0]
