"""Bearer authentication of /v1 (``Authorization: Bearer $NOTIFIER_API_TOKEN``) and of
/metrics when ``NOTIFIER_METRICS_TOKEN`` is set.

An empty configured API token lets nobody into /v1 (it never matches); an empty
metrics token leaves /metrics open.
"""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from notifier.api.context import ApiTokenDep, HealthDep

_bearer = HTTPBearer(auto_error=False)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_bearer_token(expected: ApiTokenDep, credentials: Credentials) -> None:
    _require(expected, credentials)


def require_metrics_token(health: HealthDep, credentials: Credentials) -> None:
    if health.metrics_token:
        _require(health.metrics_token, credentials)


def _require(expected: str, credentials: HTTPAuthorizationCredentials | None) -> None:
    presented = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "A valid bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
