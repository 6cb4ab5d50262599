"""``/docs``: Swagger UI served from the package's own assets, never from a CDN.

The assets are drf-spectacular-sidecar's Swagger UI distribution (the one notices-api
serves too), so both services' docs work on a network without Internet access.
"""

from pathlib import Path

import drf_spectacular_sidecar
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI_ASSETS = (
    Path(drf_spectacular_sidecar.__file__).parent
    / "static"
    / "drf_spectacular_sidecar"
    / "swagger-ui-dist"
)
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def add_offline_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` for ``app.openapi_url`` (the app's ``docs_url`` is None)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI_ASSETS), name="swagger-ui-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )

    app.add_api_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
