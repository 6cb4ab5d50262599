"""Prometheus metrics of HTTP requests, by route template (the API's ``/metrics``)."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Histogram

UNMATCHED_ROUTE = "<unmatched>"
# A client may send any token as the method; each new one would be a new series for ever.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

HTTP_REQUESTS = Counter(
    "notices_api_http_requests",
    "HTTP requests handled, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "notices_api_http_request_duration_seconds",
    "Time to handle an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_template(request: HttpRequest) -> str:
    """``/api/v1/notices/<uuid:notice_id>/`` rather than the path: bounded label values."""
    match = request.resolver_match
    return f"/{match.route}" if match is not None and match.route else UNMATCHED_ROUTE


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = route_template(request)
        method = request.method if request.method in KNOWN_METHODS else OTHER_METHOD
        HTTP_REQUEST_DURATION.labels(method, route).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        return response
