"""Open to everyone, served by every notifier process whatever its roles.

``/healthz`` (the process is up), ``/readyz`` (the database, and the broker
where the process consumes, reachable; else a 503 problem with ``checks``),
``/metrics`` (Prometheus; the due backlog is computed at most every
``NOTIFIER_METRICS_CACHE_SECONDS``, and a bearer token is asked when
``NOTIFIER_METRICS_TOKEN`` is set) and
``/asyncapi.json``.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from notifier import metrics
from notifier.api.auth import require_metrics_token
from notifier.api.context import HealthDep, StoreDep
from notifier.api.problems import ProblemKind, problem
from notifier.ledger.operator import due_backlog
from notifier.store.models import Channel

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request, health: HealthDep) -> dict[str, str] | JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("broker", health.broker_probe), ("database", health.database_probe)):
        if probe is None:
            continue
        try:
            await probe()
            checks[name] = "ok"
        except Exception as error:
            checks[name] = f"unavailable: {type(error).__name__}"
    if all(value == "ok" for value in checks.values()):
        return checks
    return problem(
        request, ProblemKind.plain(503), detail="A dependency is unreachable.", checks=checks
    )


@router.get("/metrics", dependencies=[Depends(require_metrics_token)])
async def metrics_endpoint(store: StoreDep, health: HealthDep) -> Response:
    async with health.gauges.lock:  # concurrent scrapes wait for one query, not run many
        if not health.gauges.is_fresh():
            async with store.transaction() as session:
                backlog = await due_backlog(session, now=store.clock())
            for channel in Channel:
                metrics.DUE_BACKLOG.labels(channel.value).set(backlog.get(channel.value, 0))
            health.gauges.mark_computed()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.json")
async def asyncapi(health: HealthDep) -> dict[str, Any]:
    return health.asyncapi_document()
