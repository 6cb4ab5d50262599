"""One trace context and one access log line per request."""

import time
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

from notices_api.core import tracecontext

REQUEST_ID_HEADER = "X-Request-ID"
logger = structlog.get_logger("notices_api.http")


class RequestContextMiddleware:
    """Takes ``X-Request-ID`` (or makes one) and ``traceparent``, echoes the request id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        context = tracecontext.new_trace_context(
            request_id=request.headers.get(REQUEST_ID_HEADER),
            traceparent=request.headers.get("traceparent"),
        )
        tracecontext.activate(context)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = context.request_id
            logger.info(
                "http_request",
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return response
        finally:
            tracecontext.deactivate()
