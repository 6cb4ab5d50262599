"""Bearer authentication of /v1: ``Authorization: Bearer $NOTIFIER_API_TOKEN``.

An empty configured token lets nobody in (it never matches).
"""

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from notifier.api.context import ApiTokenDep

_bearer = HTTPBearer(auto_error=False)


def require_bearer_token(
    expected: ApiTokenDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    presented = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "A valid bearer token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
