"""Probes, metrics, and Django's error handlers (which answer with problem details)."""

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notices_api.core.problems import problem_response

logger = structlog.get_logger(__name__)

View = Callable[[HttpRequest], HttpResponse]


def _get_only(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            response = problem_response(
                request, status=405, detail=f'Method "{request.method}" not allowed.'
            )
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return wrapper


@_get_only
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Deliberately touches nothing else."""
    return JsonResponse({"status": "ok"})


@_get_only
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database answers a query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("readiness_check_failed", error=str(error))
        return problem_response(request, status=503, detail="The database is not reachable.")
    return JsonResponse({"status": "ok"})


@_get_only
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.NOTICES_METRICS_TOKEN
    if token and not _bears_token(request, token):
        response = problem_response(request, status=401, detail="This needs the metrics token.")
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


@extend_schema(exclude=True)
class BenchBaselineView(APIView):
    """A constant behind the API's own authentication, throttling and rendering.

    The benchmark's baseline (``make bench``): what a request costs the framework alone
    on this server, so each scenario can be read as a ratio of it. Off unless
    ``NOTICES_BENCH_BASELINE_ENDPOINT`` is set; when off it answers 404 before any work.
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not settings.BENCH_BASELINE_ENDPOINT:
            raise NotFound()
        super().initial(request, *args, **kwargs)

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


def _bears_token(request: HttpRequest, token: str) -> bool:
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
    # Bytes, not str: compare_digest raises on non-ASCII text.
    return hmac.compare_digest(sent.encode(), token.encode())


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, status=400, detail="The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, status=403, detail="You may not access this resource.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(request, status=404, detail="No resource at this address.")


def server_error(request: HttpRequest, *args: Any) -> HttpResponse:
    return problem_response(request, status=500, detail="An unexpected error occurred.")
