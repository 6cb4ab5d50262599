"""Fixtures of the outbox tests: a RabbitMQ vhost of this run, events, queues, relays."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import amqp
import pytest
from django.conf import settings
from django.db import connection, transaction

from notices_api.outbox.services import outbox_event_record
from notices_contracts import EXCHANGE_TYPE, NoticeArchivedV1, NoticeReadV1

API_DIR = Path(__file__).resolve().parents[3]


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=120
    ).stdout


@pytest.fixture(scope="session")
def amqp_vhost_url() -> Iterator[str]:
    """A vhost of this run only, deleted at the end: runs never see each other's messages."""
    vhost = f"notices-test-{settings.RUN_ID}-outbox"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        base = urlsplit(os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
        yield urlunsplit(base._replace(path="/" + quote(vhost, safe="")))
    finally:
        rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def amqp_url(amqp_vhost_url: str, settings: Any) -> str:
    settings.AMQP_URL = amqp_vhost_url
    return amqp_vhost_url


def close_vhost_connections(vhost_url: str) -> int:
    """What a broker outage looks like to this run's clients, and to no one else's."""
    vhost = urlsplit(vhost_url).path.lstrip("/").replace("%2F", "/")
    closed = 0
    for line in rabbitmqctl("list_connections", "vhost", "pid").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[0] == vhost:
            subprocess.run(
                ["rabbitmqctl", "-q", "close_connection", parts[1], "chaos test"],
                check=False,
                capture_output=True,
                timeout=120,
            )
            closed += 1
    return closed


@dataclass(frozen=True)
class BoundQueue:
    url: str
    name: str

    def connect(self) -> amqp.Connection:
        parts = urlsplit(self.url)
        conn = amqp.Connection(
            host=f"{parts.hostname}:{parts.port or 5672}",
            userid=parts.username or "guest",
            password=parts.password or "guest",
            virtual_host=parts.path.lstrip("/").replace("%2F", "/") or "/",
        )
        conn.connect()
        return conn

    def drain(self, *, expect: int, timeout: float = 120) -> list[amqp.Message]:
        """Consume until ``expect`` messages came and then a quiet second passed."""
        received: list[amqp.Message] = []
        conn = self.connect()
        try:
            channel = conn.channel()
            channel.basic_qos(0, 1000, False)
            channel.basic_consume(self.name, callback=received.append, no_ack=True)
            deadline = time.monotonic() + timeout
            quiet_until = None
            while time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    if len(received) >= expect:
                        quiet_until = quiet_until or time.monotonic() + 1
                        if time.monotonic() >= quiet_until:
                            break
            return received
        finally:
            conn.collect()

    def delete(self) -> None:
        conn = self.connect()
        try:
            conn.channel().queue_delete(self.name)
        finally:
            conn.collect()


@pytest.fixture
def make_queue(amqp_url: str) -> Iterator[Callable[..., BoundQueue]]:
    """Queues bound to the test exchange, deleted after the test so they route nothing later."""
    made: list[BoundQueue] = []

    def make(*, binding_keys: tuple[str, ...] = ("#",)) -> BoundQueue:
        made.append(declare_queue(amqp_url, binding_keys=binding_keys))
        return made[-1]

    yield make
    for queue in made:
        queue.delete()


def declare_queue(url: str, *, binding_keys: tuple[str, ...] = ("#",)) -> BoundQueue:
    queue = BoundQueue(url=url, name=f"relay-test-{uuid.uuid4().hex[:8]}")
    conn = queue.connect()
    try:
        channel = conn.channel()
        channel.exchange_declare(
            settings.OUTBOX_EXCHANGE, EXCHANGE_TYPE, durable=True, auto_delete=False
        )
        channel.queue_declare(queue.name, durable=True, auto_delete=False)
        for key in binding_keys:
            channel.queue_bind(queue.name, settings.OUTBOX_EXCHANGE, key)
    finally:
        conn.collect()
    return queue


def record_reads(aggregates: list[uuid.UUID], *, per_aggregate: int, chunk: int = 500) -> int:
    """Interleaved notice.read events: round r writes one event for every aggregate."""
    written = 0
    pairs = [(notice_id, r) for r in range(per_aggregate) for notice_id in aggregates]
    for start in range(0, len(pairs), chunk):
        with transaction.atomic():
            for notice_id, _ in pairs[start : start + chunk]:
                outbox_event_record(
                    data=NoticeReadV1(
                        notice_id=notice_id, user_id=uuid.uuid4(), read_at=datetime.now(UTC)
                    ),
                    aggregate_id=notice_id,
                )
                written += 1
    return written


def record_archived(notice_id: uuid.UUID) -> None:
    with transaction.atomic():
        outbox_event_record(
            data=NoticeArchivedV1(notice_id=notice_id, archived_at=datetime.now(UTC)),
            aggregate_id=notice_id,
        )


def database_url_of_tests() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def start_relay(
    amqp_url: str,
    *,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    database_options: str = "",
    once: bool = False,
) -> subprocess.Popen[bytes]:
    """``manage.py outbox_relay`` in a process of its own, on this test's database and vhost."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url_of_tests()
        + (f"?{database_options}" if database_options else ""),
        "AMQP_URL": amqp_url,
        "OUTBOX_EXCHANGE": settings.OUTBOX_EXCHANGE,
        "OUTBOX_RELAY_METRICS_PORT": "0",
        "OUTBOX_RELAY_REBALANCE_INTERVAL_SECONDS": "0.5",
        "OUTBOX_RELAY_RECONNECT_BASE_SECONDS": "0.2",
        "OUTBOX_RELAY_RECONNECT_CAP_SECONDS": "2",
        "LOG_FORMAT": "json",
        **(extra_env or {}),
    }
    args = [sys.executable, "manage.py", "outbox_relay", *(["--once"] if once else [])]
    with log_path.open("ab") as log_file:
        return subprocess.Popen(args, cwd=API_DIR, env=env, stderr=log_file)
