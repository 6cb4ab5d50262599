"""``make fuzz``, the notifier's part: schemathesis against its live HTTP API.

Makes its own PostgreSQL database, creates the schema (as ``notifier migrate``),
seeds a ledger (a notice with its audience, read receipt, a failed and a
delivered delivery with attempts, a webhook endpoint), then serves the API app
alone with uvicorn on a free port: the API needs no broker (only ``/readyz``,
which is not in the OpenAPI document, asks for one). schemathesis then runs
every check and every phase, stateful included (links inferred from the
schemas), bounded by FUZZ_MAX_EXAMPLES per operation and seeded (FUZZ_SEED,
printed) so a failure can be replayed. Everything is torn down in ``finally``.

The uvicorn app is ``api_app`` below, built from the same settings as ``notifier run``.
"""

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from fastapi import FastAPI

from notifier.api import create_api
from notifier.settings import Settings
from notifier.store.db import create_engine, create_session_factory, migrate, ping
from notifier.store.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Notice,
    NoticeAudience,
    Read,
    WebhookEndpoint,
)

SERVICE_DIR = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(f"fuzz: {message}", flush=True)


async def _no_broker() -> None:
    raise ConnectionError("the fuzz run serves the API alone")


def api_app() -> FastAPI:
    """uvicorn's factory (``--factory run:api_app``): the API of ``notifier run``, no broker."""
    settings = Settings()
    engine = create_engine(settings.database_url)
    return create_api(
        session_factory=create_session_factory(engine),
        api_token=settings.api_token,
        broker_probe=_no_broker,
        database_probe=lambda: ping(engine),
        asyncapi_document=dict,
    )


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    name = f"fuzz_notifier_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def seed(database_url: str) -> dict[str, list[str]]:
    """A small ledger for the fuzzer to meet, returned as the ids it should try in paths.

    Without real ids nearly every ``{delivery_id}`` request would end in a 404.
    """
    now = datetime.now(UTC)
    notice_id, ann, bob, endpoint_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    failed, delivered = uuid.uuid4(), uuid.uuid4()

    def delivery(delivery_id: uuid.UUID, channel: Channel, target: uuid.UUID) -> Delivery:
        return Delivery(
            id=delivery_id,
            notice_id=notice_id,
            channel=channel.value,
            kind=DeliveryKind.NOTICE.value,
            target_id=target,
            status=DeliveryStatus.PENDING.value,
            due_at=now,
            attempt_count=1,
            event_id=uuid.uuid4(),
            event_time=now,
            created_at=now,
            updated_at=now,
        )

    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with create_session_factory(engine).begin() as session:
            session.add(Notice(notice_id=notice_id, title="Fuzz", published_at=now))
            session.add_all(NoticeAudience(notice_id=notice_id, user_id=u) for u in (ann, bob))
            session.add(Read(notice_id=notice_id, user_id=ann, read_at=now))
            session.add(
                WebhookEndpoint(
                    id=endpoint_id,
                    url="https://hooks.example/fuzz",
                    secrets=["whsec_" + secrets.token_urlsafe(24)],
                    event_types=["notices.notice.published.v1"],
                    created_at=now,
                    updated_at=now,
                )
            )
            sent = delivery(delivered, Channel.EMAIL, ann)
            sent.status, sent.delivered_at = DeliveryStatus.DELIVERED.value, now
            broken = delivery(failed, Channel.WEBHOOK, endpoint_id)
            broken.status, broken.last_error = DeliveryStatus.FAILED.value, "HTTP 500"
            session.add_all([sent, broken])
            await session.flush()
            for delivery_id, outcome in ((delivered, "delivered"), (failed, "failed")):
                session.add(
                    Attempt(
                        delivery_id=delivery_id,
                        number=1,
                        started_at=now - timedelta(seconds=1),
                        finished_at=now,
                        outcome=outcome,
                    )
                )
    finally:
        await engine.dispose()
    return {
        "notice_id": [str(notice_id)],
        "user_id": [str(ann), str(bob)],
        "endpoint_id": [str(endpoint_id)],
        "delivery_id": [str(failed), str(delivered)],
    }


def write_config(path: Path, ids: dict[str, list[str]]) -> None:
    """A schemathesis.toml that draws path ids from the seeded ones most of the time."""
    lines = []
    for parameter, values in ids.items():
        quoted = ", ".join(f'"{value}"' for value in values)
        lines += [f"[dictionaries.{parameter}]", f"values = [{quoted}]", ""]
    lines.append("[parameters]")
    lines += [
        f'"path.{parameter}" = {{ dictionary = "{parameter}", probability = 0.8 }}'
        for parameter in ids
    ]
    path.write_text("\n".join(lines) + "\n")


def wait_until_serving(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the API exited during start-up")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the API did not answer within 60 s")


def main() -> int:
    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    max_examples = os.environ.get("FUZZ_MAX_EXAMPLES", "15")
    fuzz_seed = os.environ.get("FUZZ_SEED", str(secrets.randbelow(2**31)))
    token = secrets.token_urlsafe(24)
    log(f"notifier: seed {fuzz_seed}, max {max_examples} examples per operation")
    with scratch_database(admin_url) as database_url:
        env = {
            **os.environ,
            "NOTIFIER_DATABASE_URL": database_url,
            "NOTIFIER_API_TOKEN": token,
            "LOG_LEVEL": os.environ.get("FUZZ_LOG_LEVEL", "WARNING"),
        }
        ids = asyncio.run(seed(database_url))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "run:api_app",
                "--app-dir",
                str(Path(__file__).parent),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        config = SERVICE_DIR / "var" / f"fuzz-{port}.toml"
        config.parent.mkdir(exist_ok=True)
        try:
            wait_until_serving(base, server)
            write_config(config, ids)
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "schemathesis.cli",
                    "--config-file",
                    str(config),
                    "run",
                    f"{base}/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "all",
                    "--max-examples",
                    max_examples,
                    "--seed",
                    fuzz_seed,
                    # One worker: hypothesis parses lambda sources with ast, which
                    # CPython 3.11 does not support from several threads at once.
                    "--workers",
                    "1",
                    "--no-color",
                ],
                # schemathesis keeps a cache in its working directory; var/ is ignored.
                cwd=config.parent,
                env=env,
            )
        finally:
            config.unlink(missing_ok=True)
            server.terminate()
            server.wait(timeout=30)
    if result.returncode != 0:
        log(f"notifier: FAILED (replay with FUZZ_SEED={fuzz_seed})")
        return 1
    log("notifier: no server error and no response that breaks the schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
