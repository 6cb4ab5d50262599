"""The one reader of notices-api's env vars (django-environ), strict about values.

A value that does not parse stops the start with ImproperlyConfigured naming the variable
and its value: ``DJANGO_DEBUG='maybe'`` is an error, not False. Booleans are
``true/yes/on/1`` or ``false/no/off/0`` (any case; empty is false).

A renamed variable's old name is still read for one release (``RENAMED``), with a
DeprecationWarning naming both names; when both are set the new name wins.
"""

import os
import warnings
from collections.abc import Mapping
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

# Old name -> new name. Durations say their unit (seconds) in their name; the old names
# are read for one release more, then dropped (README, "Renamed variables").
RENAMED: Mapping[str, str] = {
    "OUTBOX_RELAY_CONFIRM_TIMEOUT": "OUTBOX_RELAY_CONFIRM_TIMEOUT_SECONDS",
    "OUTBOX_RELAY_BACKOFF_BASE": "OUTBOX_RELAY_BACKOFF_BASE_SECONDS",
    "OUTBOX_RELAY_BACKOFF_CAP": "OUTBOX_RELAY_BACKOFF_CAP_SECONDS",
    "OUTBOX_RELAY_POLL_INTERVAL": "OUTBOX_RELAY_POLL_INTERVAL_SECONDS",
    "OUTBOX_RELAY_REBALANCE_INTERVAL": "OUTBOX_RELAY_REBALANCE_INTERVAL_SECONDS",
    "OUTBOX_RELAY_RECONNECT_BASE": "OUTBOX_RELAY_RECONNECT_BASE_SECONDS",
    "OUTBOX_RELAY_RECONNECT_CAP": "OUTBOX_RELAY_RECONNECT_CAP_SECONDS",
    "OUTBOX_RELAY_GAUGE_INTERVAL": "OUTBOX_RELAY_GAUGE_INTERVAL_SECONDS",
    "OUTBOX_RELAY_PRUNE_INTERVAL": "OUTBOX_RELAY_PRUNE_INTERVAL_SECONDS",
}
_OLD_NAME = {new: old for old, new in RENAMED.items()}

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


class Env(environ.Env):  # type: ignore[misc]  # django-environ ships no types
    """``environ.Env`` that names the variable of a bad value, reads the old names and
    takes every value literally."""

    def __init__(self, variables: Mapping[str, str] = os.environ) -> None:
        super().__init__()
        self.ENVIRON = variables
        # (old, new) of each old name read, for the settings to log once logging is set up.
        self.renamed_in_use: list[tuple[str, str]] = []

    def get_value(
        self,
        var: str,
        cast: Any = None,
        default: Any = environ.Env.NOTSET,
        parse_default: bool = False,
    ) -> Any:
        # Not django-environ's own: it reads a value starting with "$" as the name of another
        # variable, and a generated secret key may start with one.
        var = self._name_set(var)
        if var not in self.ENVIRON:
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"set the {var} environment variable")
            return self.parse_value(default, cast) if parse_default else default
        raw = self.ENVIRON[var]
        try:
            return self.parse_value(raw, cast)
        except ValueError as error:
            raise ImproperlyConfigured(f"{var}={raw!r}: {error}") from error

    def cache_url(
        self, var: str, default: Any = environ.Env.NOTSET, backend: Any = None
    ) -> dict[str, Any]:
        # django-environ's error for an unknown scheme does not name the variable.
        url = self.url(var, default=default)
        try:
            return dict(self.cache_url_config(url, backend=backend))
        except ImproperlyConfigured as error:
            raise ImproperlyConfigured(f"{var}={url.geturl()!r}: {error}") from error

    @classmethod
    def parse_value(cls, value: Any, cast: Any) -> Any:
        # django-environ reads any unknown word as False and drops letters from a float.
        if cast is bool:
            word = str(value).strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError("not a boolean (true/yes/on/1 or false/no/off/0)")
            return word in _TRUE
        if cast is float:
            return float(value)
        return super().parse_value(value, cast)

    def _name_set(self, var: str) -> str:
        """``var``, or its old name when only that one is set."""
        old = _OLD_NAME.get(var)
        if old is None or old not in self.ENVIRON:
            return var
        if var in self.ENVIRON:
            message = f"{old} is deprecated and ignored: {var} is set too; unset {old}"
        else:
            message = (
                f"{old} is deprecated: rename it {var} (the old name goes in the next release)"
            )
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        self.renamed_in_use.append((old, var))
        return var if var in self.ENVIRON else old
