"""RFC 9457 problem details: the one shape of every HTTP error of the API.

``problem_exception_handler`` is DRF's exception handler; the Django-level
handlers in ``views`` use ``problem_response`` for errors raised outside DRF
(unknown URL, server error), so a client sees one format everywhere.
"""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from notices_api.core.exceptions import ApplicationError
from notices_api.core.tracecontext import current_trace_context

PROBLEM_CONTENT_TYPE = "application/problem+json"
VALIDATION_ERROR_SLUG = "validation-error"


class QueryParameterError(exceptions.ValidationError):
    """Invalid query parameters: their errors name a ``parameter`` instead of a ``pointer``."""


def problem_document(
    *,
    status: int,
    detail: str,
    instance: str,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    trace = current_trace_context()
    document: dict[str, Any] = {
        "type": f"{settings.PROBLEM_TYPE_BASE}{slug}" if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if trace is not None:
        document["request_id"] = trace.request_id
    if errors is not None:
        document["errors"] = errors
    return document


def problem_response(request: HttpRequest, *, status: int, detail: str) -> JsonResponse:
    """A problem for errors that never reached DRF (Django's 400/403/404/500 handlers)."""
    return JsonResponse(
        problem_document(status=status, detail=detail, instance=request.path),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _flatten(detail: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str, str]]:
    """DRF's nested error structure as (path, message, code) triples."""
    if isinstance(detail, Mapping):
        return [
            item
            for key, value in detail.items()
            for item in _flatten(value, path if key == "non_field_errors" else (*path, str(key)))
        ]
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        if all(isinstance(item, str) for item in detail):
            return [(path, str(item), getattr(item, "code", "invalid")) for item in detail]
        return [
            item
            for index, value in enumerate(detail)
            for item in _flatten(value, (*path, str(index)))
        ]
    return [(path, str(detail), getattr(detail, "code", "invalid"))]


def _field_errors(exc: exceptions.ValidationError) -> list[dict[str, str]]:
    errors = []
    for path, message, code in _flatten(exc.detail):
        if isinstance(exc, QueryParameterError):
            where = {"parameter": ".".join(path)}
        else:
            where = {"pointer": "#/" + "/".join(path) if path else "#"}
        errors.append({**where, "detail": message, "code": code})
    return errors


def _as_api_exception(exc: Exception) -> exceptions.APIException | ApplicationError | None:
    if isinstance(exc, (exceptions.APIException, ApplicationError)):
        return exc
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return None


def problem_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Unanticipated exceptions go on to Django (500, logged)."""
    known = _as_api_exception(exc)
    if known is None:
        return None
    request = context["request"]
    headers: dict[str, str] = {}
    if isinstance(known, ApplicationError):
        errors = [
            {"pointer": f"#/{field}", "detail": message, "code": "invalid"}
            for field, messages in known.field_errors.items()
            for message in messages
        ]
        document = problem_document(
            status=known.status_code,
            detail=known.detail,
            instance=request.path,
            slug=known.slug,
            title=known.title,
            errors=errors or None,
        )
    elif isinstance(known, exceptions.ValidationError):
        document = problem_document(
            status=known.status_code,
            detail="The request has invalid fields; see errors.",
            instance=request.path,
            slug=VALIDATION_ERROR_SLUG,
            title="Your request is not valid",
            errors=_field_errors(known),
        )
    else:
        if auth_header := getattr(known, "auth_header", None):
            headers["WWW-Authenticate"] = auth_header
        if wait := getattr(known, "wait", None):
            headers["Retry-After"] = str(int(wait))
        document = problem_document(
            status=known.status_code, detail=str(known.detail), instance=request.path
        )
    set_rollback()
    return Response(
        document, status=document["status"], headers=headers, content_type=_content_type(request)
    )


def _content_type(request: Any) -> str | None:
    # A browser looking at the browsable API gets HTML; every API client gets problem+json.
    renderer = getattr(request, "accepted_renderer", None)
    return None if renderer is not None and renderer.format == "api" else PROBLEM_CONTENT_TYPE
