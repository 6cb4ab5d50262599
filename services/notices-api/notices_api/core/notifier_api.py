"""notices-api's one way to the notifier's HTTP API (the console's delivery states, the
recipients' settings): its base URL, its bearer token, and a timeout short enough that a
slow notifier never holds a page."""

import httpx

TIMEOUT_SECONDS = 2.0


def notifier_client(
    *, base_url: str, token: str, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT_SECONDS,
        transport=transport,
    )
