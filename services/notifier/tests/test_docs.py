"""``/docs``: Swagger UI whose page and assets come from the notifier itself."""

import re
from typing import Any

import httpx


async def test_swagger_ui_loads_nothing_from_another_host(api: Any) -> None:
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
