"""Integration fixtures: a RabbitMQ vhost per run, a PostgreSQL database per test, the real
SMTP sink and webhook receiver from notifier_devtools, and the notifier itself.

Every test gets its own exchange and queue names too, so nothing it leaves in the
vhost can reach another test; the vhost and the databases are dropped at the end.
"""

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import pytest
from integration_harness import API_TOKEN
from notifier_testing import postgres_database, with_path

from notifier_devtools.smtp_sink import SmtpSink
from notifier_devtools.webhook_receiver import WebhookReceiver

RUN_ID = uuid.uuid4().hex[:10]
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    vhost = f"notices-test-{RUN_ID}-notifier"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield with_path(AMQP_URL, "/" + quote(vhost, safe=""))
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database(f"notifier_test_{RUN_ID}_{uuid.uuid4().hex[:8]}") as url:
        yield url


@pytest.fixture
def settings_env(amqp_url: str, database_url: str) -> dict[str, str]:
    """The environment of one notifier for this test; tests add SMTP and tuning values."""
    suffix = uuid.uuid4().hex[:8]
    return {
        "AMQP_URL": amqp_url,
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_EXCHANGE": f"notices.events.{suffix}",
        "NOTIFIER_QUEUE": f"notifier.events.{suffix}",
        "NOTIFIER_API_TOKEN": API_TOKEN,
        "NOTIFIER_ALLOW_PRIVATE_WEBHOOKS": "true",
        "NOTIFIER_DELIVERY_BACKOFF_BASE": "0.05",
        "NOTIFIER_DELIVERY_BACKOFF_CAP": "0.5",
        "NOTIFIER_DISPATCH_POLL_SECONDS": "0.1",
        "NOTIFIER_CONSUME_RETRY_DELAYS": "[0.2, 0.4]",
        "SMTP_FROM": "Notices <notices@notices.test>",
        "LOG_FORMAT": "json",
    }


@pytest.fixture
async def smtp_sink() -> AsyncIterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    async with sink.serving() as port:
        yield sink, port


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver()
    async with receiver.serving() as base_url:
        yield receiver, base_url
