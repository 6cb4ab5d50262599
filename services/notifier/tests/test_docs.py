"""``/docs``: Swagger UI whose page and assets come from the notifier itself."""

import re

import httpx

from notifier.api import create_api
from notifier.store.db import SessionFactory


async def _up() -> None:
    return None


async def test_swagger_ui_loads_nothing_from_another_host(session_factory: SessionFactory) -> None:
    api = create_api(
        session_factory=session_factory,
        api_token="t",
        broker_probe=None,
        database_probe=_up,
        asyncapi_document=dict,
    )
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        page = (await client.get("/docs")).text
        assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page)
        urls = re.findall(r"url: '([^']+)'", page)
        assert "swagger-ui-bundle.js" in page
        assert [a for a in assets + urls if re.match(r"(https?:)?//", a)] == []
        for asset in assets:
            assert (await client.get(asset)).status_code == 200, asset
        assert (await client.get("/openapi.json")).status_code == 200
