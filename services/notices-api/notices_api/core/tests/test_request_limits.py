"""Bodies over NOTICES_MAX_REQUEST_BYTES are refused early with 413 problem+json."""

import io

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from notices_api.core.request_limits import RequestBodyLimitMiddleware

pytestmark = pytest.mark.django_db

FIFTY_MB = 50 * 1024 * 1024


class _NeverRead(io.RawIOBase):
    """A wsgi.input that fails the test if anything reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")


def test_a_50_mb_token_request_is_refused_before_the_body_is_read(client):
    response = client.generic(
        "POST",
        "/api/v1/auth/token/",
        content_type="application/json",
        CONTENT_LENGTH=str(FIFTY_MB),
        **{"wsgi.input": _NeverRead()},
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 413


def test_a_body_without_a_length_stops_at_the_limit(settings):
    settings.NOTICES_MAX_REQUEST_BYTES = 1000
    request = RequestFactory().post("/api/v1/auth/token/", b"", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)
    request._stream = io.BytesIO(b"x" * 5000)  # e.g. a chunked body under another server

    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse(request.read()))
    response = middleware(request)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"


def test_a_body_at_the_limit_is_read_whole(settings):
    settings.NOTICES_MAX_REQUEST_BYTES = 1000
    request = RequestFactory().post("/x", b"y" * 1000, content_type="application/json")
    middleware = RequestBodyLimitMiddleware(lambda request: HttpResponse(request.read()))
    assert middleware(request).content == b"y" * 1000
