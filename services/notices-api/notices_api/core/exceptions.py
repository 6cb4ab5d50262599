"""Anticipated failures of a use case. Services raise them; the API maps them to problems."""


class ApplicationError(Exception):
    """A request the domain refuses, with a message meant for the client."""

    status_code = 400
    slug = "invalid-request"
    title = "Invalid request"

    def __init__(self, detail: str, *, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = field_errors or {}


class InvalidInputError(ApplicationError):
    """The input breaks a domain rule (e.g. visible_until before visible_from)."""

    slug = "validation-error"
    title = "Your request is not valid"


class StateConflictError(ApplicationError):
    """The aggregate is not in a state that allows the change (e.g. editing a published notice)."""

    status_code = 409
    slug = "state-conflict"
    title = "The change conflicts with the current state"


class ActionForbiddenError(ApplicationError):
    """The caller may see the aggregate but not change it (e.g. not its author)."""

    status_code = 403
    slug = "forbidden"
    title = "You may not do this"


class NotFoundError(ApplicationError):
    """The aggregate does not exist for this caller (no hint whether it exists at all)."""

    status_code = 404
    slug = "not-found"
    title = "Not found"
