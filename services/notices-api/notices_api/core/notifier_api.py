"""notices-api's one way to the notifier's HTTP API (the console's delivery states, the
recipients' settings): its base URL, its bearer token, and a timeout short enough that a
slow notifier never holds a page."""

from typing import Self

import httpx
from django.conf import settings

TIMEOUT_SECONDS = 2.0


class NotifierApiClient:
    """The base of each client of one notifier endpoint."""

    def __init__(
        self, *, base_url: str, token: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._base_url = base_url
        self._token = token
        self._transport = transport

    @classmethod
    def from_settings(cls) -> Self:
        return cls(base_url=settings.NOTIFIER_API_URL, token=settings.NOTIFIER_API_TOKEN)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=TIMEOUT_SECONDS,
            transport=self._transport,
        )
