"""RFC 9457 problem details: the one shape of every error the API answers, and its schema.

The shape is the notices-api's: ``type`` (``urn:notifier:problem:<slug>`` for
the notifier's own problems, ``about:blank`` for plain HTTP ones), ``title``,
``status``, ``detail``, ``instance``, and for invalid input (400) ``errors``,
each naming a body field by JSON pointer or a query/path parameter by name.
The OpenAPI document declares the same: FastAPI's 422 becomes this 400.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:notifier:problem:"
OpenApiResponses = dict[int | str, dict[str, Any]]
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]


class FieldError(BaseModel):
    pointer: str | None = Field(None, description="JSON pointer into the request body.")
    parameter: str | None = Field(None, description="Name of a query or path parameter.")
    detail: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = Field(None, description="Each invalid field (400).")
    checks: dict[str, str] | None = Field(None, description="Each dependency (readyz, 503).")


@dataclass(frozen=True)
class ProblemKind:
    status: int
    title: str
    slug: str | None = None  # None: a plain HTTP problem, of type about:blank

    @classmethod
    def plain(cls, status: int) -> "ProblemKind":
        try:
            return cls(status, HTTPStatus(status).phrase)
        except ValueError:
            return cls(status, "Error")

    @property
    def type(self) -> str:
        return f"{PROBLEM_TYPE_BASE}{self.slug}" if self.slug else "about:blank"

    def response(self, description: str) -> OpenApiResponses:
        return problem_response_spec(self.status, description)


INVALID_INPUT = ProblemKind(400, "Your request is not valid", "validation-error")
NOT_FOUND = ProblemKind(404, "Not found", "not-found")
STATE_CONFLICT = ProblemKind(409, "The change conflicts with the current state", "state-conflict")


def problem_response_spec(status: int, description: str) -> OpenApiResponses:
    """An OpenAPI response of ``status`` whose body is a Problem."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}}


UNAUTHORIZED = problem_response_spec(401, "No or invalid bearer token.")


def problem(
    request: Request,
    kind: ProblemKind,
    *,
    detail: str,
    errors: list[FieldError] | None = None,
    checks: dict[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    document = Problem(
        type=kind.type,
        title=kind.title,
        status=kind.status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        checks=checks,
    )
    return JSONResponse(
        document.model_dump(mode="json", exclude_none=True),
        status_code=kind.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def add_problem_handlers(app: FastAPI, kinds: Mapping[type[Exception], ProblemKind]) -> None:
    """Plain HTTP errors, invalid input, and each domain exception as the kind given for it."""
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(RequestValidationError, _validation_problem)
    for exception_type, kind in kinds.items():
        app.add_exception_handler(exception_type, _domain_problem(kind))


async def _http_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        # Starlette names the methods of the first route of the path only.
        headers["Allow"] = ", ".join(_methods_of_path(request))
    kind = ProblemKind.plain(error.status_code)
    return problem(request, kind, detail=str(error.detail), headers=headers)


def _methods_of_path(request: Request) -> list[str]:
    routes: list[BaseRoute] = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def _validation_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return problem(
        request,
        INVALID_INPUT,
        detail="The request has invalid fields; see errors.",
        errors=[_field_error(item) for item in error.errors()],
    )


def _domain_problem(kind: ProblemKind) -> ExceptionHandler:
    async def handler(request: Request, error: Exception) -> Response:
        return problem(request, kind, detail=str(error))

    return handler


def _field_error(error: Mapping[str, Any]) -> FieldError:
    source, *path = error["loc"]
    detail, code = str(error["msg"]), str(error["type"])
    if source != "body":
        return FieldError(parameter=".".join(str(part) for part in path), detail=detail, code=code)
    # Malformed JSON: the location holds a character offset, not a field.
    where = [] if code == "json_invalid" else path
    return FieldError(pointer=_json_pointer(where), detail=detail, code=code)


def _json_pointer(path: Sequence[Any]) -> str:
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the Problem schema, and 400 problems instead of FastAPI's 422."""
    invalid_input = INVALID_INPUT.response("The request is not valid; see errors.")
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses: dict[str, Any] = operation["responses"]
            if responses.pop("422", None) is not None:
                responses.update({str(code): spec for code, spec in invalid_input.items()})
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas[Problem.__name__] = problem_schema
    return document
