"""HTTP request metrics of the notifier's API: by route template, never by raw path."""

import uuid
from typing import Any

import httpx
from prometheus_client import REGISTRY


def requests_counted(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("notifier_http_requests_total", labels) or 0.0


async def test_counts_requests_by_route_template_and_status(api: Any) -> None:
    route = "/v1/deliveries/{delivery_id}"
    before = requests_counted("GET", route, "401"), requests_counted("GET", "<unmatched>", "404")
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        await client.get(f"/v1/deliveries/{uuid.uuid4()}")
        await client.get("/no/such/path")

    after = requests_counted("GET", route, "401"), requests_counted("GET", "<unmatched>", "404")
    assert (after[0] - before[0], after[1] - before[1]) == (1.0, 1.0)
