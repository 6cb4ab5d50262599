"""A request body larger than ``NOTICES_MAX_REQUEST_BYTES`` is refused with 413.

The declared ``Content-Length`` is checked before anything reads the body; the body stream
is also wrapped, so a body without (or with a lying) length stops at the same limit.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from notices_api.core.problems import problem_response


class RequestBodyTooLargeError(Exception):
    """The body stream passed the limit while a parser was reading it."""


class BoundedStream:
    """A file-like body that raises ``RequestBodyTooLargeError`` past ``limit`` bytes."""

    def __init__(self, stream: Any, *, limit: int) -> None:
        self._stream = stream
        self._left = limit

    def _counted(self, chunk: bytes) -> bytes:
        self._left -= len(chunk)
        if self._left < 0:
            raise RequestBodyTooLargeError
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        # One byte more than is allowed tells a body at the limit from one past it.
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        return self._counted(self._stream.read(wanted))

    def close(self) -> None:
        self._stream.close()

    def readline(self, size: int | None = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        return self._counted(self._stream.readline(wanted))


def _too_large(request: HttpRequest) -> JsonResponse:
    limit = settings.NOTICES_MAX_REQUEST_BYTES
    return problem_response(
        request, status=413, detail=f"The request body is larger than {limit} bytes."
    )


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.NOTICES_MAX_REQUEST_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _too_large(request)
        request._stream = BoundedStream(request._stream, limit=limit)  # type: ignore[assignment]
        try:
            return self.get_response(request)
        except RequestBodyTooLargeError:
            return _too_large(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that read too much (DRF or plain Django) answers 413, not a 500 traceback."""
        return _too_large(request) if isinstance(exception, RequestBodyTooLargeError) else None
