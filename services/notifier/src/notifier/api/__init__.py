"""The notifier's HTTP API: thin routers by resource over ``notifier.ledger`` and the store.

``create_api`` serves everything: the health router (``/healthz``, ``/readyz``,
``/metrics``, ``/asyncapi.json``), ``/v1`` behind ``Authorization: Bearer
$NOTIFIER_API_TOKEN``, and ``/unsubscribe``, open to recipients but only for
links signed with ``NOTIFIER_LINK_SIGNING_KEYS``. Both refuse a body larger than
``NOTIFIER_MAX_REQUEST_BYTES`` before anything else runs (see
``notifier.api.limits``). ``create_health_api`` serves the health router alone, for a
process that only consumes or only dispatches. Every error is an RFC 9457
problem (see ``notifier.api.problems``); every answer leaves after its
transaction committed (see ``notifier.api.context``).
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from notifier.api import (
    deliveries,
    health,
    notices,
    preferences,
    unsubscribe,
    webhook_endpoints,
)
from notifier.api.context import Clock, GaugeCache, Health, Probe, Store
from notifier.api.docs import add_offline_docs
from notifier.api.http_metrics import RequestMetricsMiddleware
from notifier.api.limits import BodySizeLimit
from notifier.api.problems import add_problem_handlers, document_problems
from notifier.store.db import SessionFactory

__all__ = ["create_api", "create_health_api"]


def _now() -> datetime:
    return datetime.now(UTC)


class _ProblemDocumentingApi(FastAPI):
    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = document_problems(super().openapi())
        return self.openapi_schema


DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024


def _app(*, store: Store, health_state: Health, max_request_bytes: int, **options: Any) -> FastAPI:
    app = _ProblemDocumentingApi(title="notifier", version="1", redoc_url=None, **options)
    app.add_middleware(RequestMetricsMiddleware)
    # Outermost (added last): a body too large is refused before routing, authentication or parsing.
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    app.state.store = store
    app.state.health = health_state
    app.include_router(health.router)
    return app


def create_health_api(
    *,
    broker_probe: Probe | None,
    database_probe: Probe,
    session_factory: SessionFactory,
    clock: Clock = _now,
    asyncapi_document: Callable[[], dict[str, Any]],
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    metrics_token: str = "",
    metrics_cache_seconds: float = 15.0,
) -> FastAPI:
    app = _app(
        max_request_bytes=max_request_bytes,
        store=Store(session_factory=session_factory, clock=clock),
        health_state=Health(
            broker_probe=broker_probe,
            database_probe=database_probe,
            asyncapi_document=asyncapi_document,
            metrics_token=metrics_token,
            gauges=GaugeCache(max_age_seconds=metrics_cache_seconds),
        ),
        docs_url=None,
        openapi_url=None,
    )
    add_problem_handlers(app, {})
    return app


def create_api(
    *,
    session_factory: SessionFactory,
    api_token: str,
    link_signing_keys: Sequence[str] | None = None,
    broker_probe: Probe | None,
    database_probe: Probe,
    asyncapi_document: Callable[[], dict[str, Any]],
    on_ledger_changed: Callable[[], None] = lambda: None,
    clock: Clock = _now,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    metrics_token: str = "",
    metrics_cache_seconds: float = 15.0,
) -> FastAPI:
    app = _app(
        max_request_bytes=max_request_bytes,
        store=Store(
            session_factory=session_factory, clock=clock, on_ledger_changed=on_ledger_changed
        ),
        health_state=Health(
            broker_probe=broker_probe,
            database_probe=database_probe,
            asyncapi_document=asyncapi_document,
            metrics_token=metrics_token,
            gauges=GaugeCache(max_age_seconds=metrics_cache_seconds),
        ),
        docs_url=None,  # add_offline_docs: Swagger UI without a CDN
    )
    add_offline_docs(app)
    app.state.api_token = api_token
    # Unset: links are signed with the API token, as before the keys had a setting of their own.
    app.state.link_signing_keys = list(link_signing_keys or [api_token])
    for module in (webhook_endpoints, deliveries, notices, preferences, unsubscribe):
        app.include_router(module.router)
    add_problem_handlers(
        app, {**webhook_endpoints.PROBLEMS, **deliveries.PROBLEMS, **notices.PROBLEMS}
    )
    return app
