"""Wiring by role: what a process serves over HTTP follows NOTIFIER_ROLES."""

from pathlib import Path

import httpx
import pytest

from notifier.app import build_notifier
from notifier.settings import Settings
from notifier.store.db import migrate

TOKEN = "app-test-token-0123456789abcdefghij"


@pytest.mark.parametrize(
    ("roles", "serves_v1", "checks"),
    [
        ("consumer,dispatcher,api", True, {"broker", "database"}),
        ("api", True, {"database"}),
        ("dispatcher", False, {"database"}),
        ("consumer", False, {"broker", "database"}),
    ],
)
async def test_only_the_api_role_serves_v1_and_readiness_checks_what_the_roles_use(
    tmp_path: Path, roles: str, serves_v1: bool, checks: set[str]
) -> None:
    settings = Settings(
        NOTIFIER_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}",
        NOTIFIER_ROLES=roles,
        NOTIFIER_API_TOKEN=TOKEN,
        AMQP_URL="amqp://guest:guest@127.0.0.1:1/",  # nothing listens: the broker is down
    )
    notifier = build_notifier(settings)
    await migrate(notifier.engine)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=notifier.api), base_url="http://notifier"
        ) as client:
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            v1 = await client.get("/v1/webhook-endpoints", headers=bearer)
            ready = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/metrics")).status_code == 200
    finally:
        await notifier.engine.dispose()

    assert (v1.status_code == 200) is serves_v1
    body = ready.json()
    assert set(body.get("checks", body)) == checks
