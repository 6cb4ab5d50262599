"""A recipient's notification preferences, kept by the notifier: read and written
server-side through its HTTP API (``/v1/recipients/{id}/preferences``, bearer token), as
the console reads delivery state. Views get a ``PreferencesStore`` from
``preferences_store()``; tests put a fake in its place."""

from dataclasses import dataclass, field
from datetime import time
from typing import Any, Protocol
from uuid import UUID

import httpx
import structlog

from notices_api.core.notifier_api import NotifierApiClient

logger = structlog.get_logger(__name__)


class PreferencesUnavailableError(Exception):
    """The notifier could not be asked, or refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QuietHours:
    start: time
    end: time


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """Categories opted out of, per channel ("email", "webhook"), and quiet hours."""

    opt_outs: dict[str, list[str]] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None


class PreferencesStore(Protocol):
    def get(self, user_id: UUID) -> Preferences: ...

    def put(self, user_id: UUID, preferences: Preferences) -> None: ...


class NotifierPreferences(NotifierApiClient):
    def get(self, user_id: UUID) -> Preferences:
        body = self._call("GET", user_id)
        try:
            quiet = body.get("quiet_hours")
            return Preferences(
                opt_outs={channel: list(cats) for channel, cats in body["opt_outs"].items()},
                quiet_hours=QuietHours(
                    start=time.fromisoformat(quiet["start"]), end=time.fromisoformat(quiet["end"])
                )
                if quiet
                else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PreferencesUnavailableError(f"unreadable preferences: {error!r}") from error

    def put(self, user_id: UUID, preferences: Preferences) -> None:
        quiet = preferences.quiet_hours
        self._call(
            "PUT",
            user_id,
            {
                "opt_outs": preferences.opt_outs,
                "quiet_hours": {"start": quiet.start.isoformat(), "end": quiet.end.isoformat()}
                if quiet
                else None,
            },
        )

    def _call(self, method: str, user_id: UUID, body: Any = None) -> dict[str, Any]:
        try:
            with self._client() as client:
                response = client.request(
                    method, f"/v1/recipients/{user_id}/preferences", json=body
                )
            response.raise_for_status()
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            logger.warning("notifier_preferences_unavailable", error=repr(error))
            raise PreferencesUnavailableError(str(error)) from error
        return answer


def preferences_store() -> PreferencesStore:
    return NotifierPreferences.from_settings()
