"""A QuerySet built and compiled once, then run many times with a fresh ``now``.

Django builds and compiles a QuerySet anew each time it runs. For the relay's claim,
a query with two subqueries run once a batch, that was about 60% of the relay's CPU
at 100 events/s, where a batch holds one event (py-spy, docs/performance.md). The
SQL and its parameters do not change between batches except for the time, so the
query is compiled with a placeholder time and each run puts the real one in its place.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# An instant no row holds, so that the compiled parameters equal to it are the time's.
_PLACEHOLDER_NOW = datetime(2000, 1, 1, 0, 0, 0, 424242, tzinfo=UTC)


class PreparedQuery:
    """``build(now)``'s rows for any ``now``, without building the QuerySet again.

    ``build`` must use ``now`` only as a parameter, and return a ``values_list``
    QuerySet: its rows come back as tuples, with the fields' converters applied as
    the QuerySet itself would.
    """

    def __init__(
        self, build: Callable[[datetime], QuerySet[Any]], *, using: str = "default"
    ) -> None:
        self._connection = connections[using]
        self._compiler = build(_PLACEHOLDER_NOW).query.get_compiler(using=using)
        sql, params = self._compiler.as_sql()
        placeholder = self._connection.ops.adapt_datetimefield_value(_PLACEHOLDER_NOW)
        self._now_at = [index for index, param in enumerate(params) if param == placeholder]
        if not self._now_at:
            raise ValueError("the query does not use the time it is given")
        self._sql, self._params = sql, list(params)

    def rows(self, *, now: datetime) -> list[tuple[Any, ...]]:
        params = list(self._params)
        adapted = self._connection.ops.adapt_datetimefield_value(now)
        for index in self._now_at:
            params[index] = adapted
        with self._connection.cursor() as cursor:
            cursor.execute(self._sql, params)
            fetched = cursor.fetchall()
        return list(self._compiler.results_iter(results=[fetched], tuple_expected=True))
