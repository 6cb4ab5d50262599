"""A webhook receiver that verifies Standard Webhooks signatures and can be told to fail.

In-process (tests, benchmarks)::

    receiver = WebhookReceiver(secrets=[secret], behaviour=Behaviour(fail_first=3))
    async with receiver.serving() as base_url:
        ...
        async with asyncio.timeout(10):
            await receiver.wait_for(1)  # one call answered 2xx

As a process (`make run`, e2e)::

    python -m notifier_devtools.webhook_receiver --port 9000 --secret whsec_...

Every POST path is a webhook endpoint. A call whose signature no known secret
verifies gets 401 and is only counted (``rejected``); verified calls are recorded
with the status they were answered. The behaviour (``Behaviour``) comes from the
constructor or CLI flags, and any query parameter of the endpoint URL overrides
it for that URL, e.g. ``/hooks/a?fail_first=3`` or ``/hooks/b?status=410`` or
``/hooks/c?fail_first=1&fail_status=429&retry_after=2``, so one receiver serves
every scenario. ``fail_first`` counts per webhook-id: each delivery's first N
attempts fail.

Control routes: ``GET /_received`` (what was recorded, as JSON),
``DELETE /_received`` (forget it), ``POST /_secrets`` with ``{"secret": "whsec_..."}``
(trust one more secret, e.g. one the notifier API just issued).
"""

import argparse
import asyncio
import dataclasses
import random
import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifier_devtools.logs import configure_devtool_logging

logger = structlog.get_logger("notifier_devtools.webhook_receiver")


@dataclass(frozen=True, slots=True)
class Behaviour:
    fail_first: int = 0  # each webhook-id's first N attempts are answered fail_status
    fail_status: int = 500
    status: int | None = None  # answer every verified call with this status (e.g. 410, 400)
    retry_after: str | None = None  # Retry-After header sent with failure answers
    failure_rate: float = 0.0  # fraction of the other calls answered fail_status (seeded RNG)
    delay_seconds: float = 0.0  # wait this long before answering (to provoke timeouts)

    def overridden_by(self, query: Mapping[str, str]) -> "Behaviour":
        changes: dict[str, Any] = {}
        for spec in dataclasses.fields(self):
            if spec.name in query:
                changes[spec.name] = _FIELD_PARSERS[spec.name](query[spec.name])
        return dataclasses.replace(self, **changes)


_FIELD_PARSERS: dict[str, Callable[[str], object]] = {
    "fail_first": int,
    "fail_status": int,
    "status": int,
    "retry_after": str,
    "failure_rate": float,
    "delay_seconds": float,
}


@dataclass(frozen=True, slots=True)
class ReceivedCall:
    webhook_id: str
    timestamp: int
    path: str
    headers: Mapping[str, str] = dataclasses.field(repr=False)
    body: bytes
    status: int  # what the receiver answered

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


class WebhookReceiver:
    def __init__(
        self, *, secrets: Iterable[str] = (), behaviour: Behaviour | None = None, seed: int = 0
    ) -> None:
        self.calls: list[ReceivedCall] = []
        self.rejected = 0
        self._verifiers = [Webhook(secret) for secret in secrets]
        self._behaviour = behaviour or Behaviour()
        self._rng = random.Random(seed)
        self._attempts: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        self.app = Starlette(
            routes=[
                Route("/_received", self._list_received, methods=["GET"]),
                Route("/_received", self._forget_received, methods=["DELETE"]),
                Route("/_secrets", self._add_secret, methods=["POST"]),
                Route("/{path:path}", self._receive, methods=["POST"]),
            ]
        )

    def add_secret(self, secret: str) -> None:
        self._verifiers.append(Webhook(secret))

    @property
    def delivered(self) -> list[ReceivedCall]:
        return [call for call in self.calls if call.delivered]

    async def wait_for(self, count: int, *, delivered: bool = True) -> list[ReceivedCall]:
        """Wait until ``count`` calls were answered 2xx, or recorded at all (bound it
        with asyncio.timeout)."""

        def enough() -> bool:
            return len(self.delivered if delivered else self.calls) >= count

        async with self._changed:
            await self._changed.wait_for(enough)
        return list(self.calls)

    @asynccontextmanager
    async def serving(self, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve on the running loop; yields the base URL (pick a free port with 0)."""
        listener = socket.create_server((host, port))
        server = _InProcessServer(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                log_config=None,  # through the process's root handler, as the notifier's API
                lifespan="off",
            )
        )
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            while not server.started:
                if task.done():
                    task.result()  # surfaces why it could not start
                await asyncio.sleep(0.01)
            yield f"http://{host}:{listener.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task
            listener.close()

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        if not self._verified(body, headers):
            self.rejected += 1
            logger.warning("webhook rejected", path=request.url.path, reason="bad signature")
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        behaviour = self._behaviour.overridden_by(request.query_params)
        webhook_id = headers["webhook-id"]
        self._attempts[webhook_id] += 1
        if behaviour.delay_seconds:
            await asyncio.sleep(behaviour.delay_seconds)
        status = self._status_for(behaviour, attempt=self._attempts[webhook_id])
        call = ReceivedCall(
            webhook_id=webhook_id,
            timestamp=int(headers["webhook-timestamp"]),
            path=request.url.path,
            headers=headers,
            body=body,
            status=status,
        )
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        logger.info("webhook received", webhook_id=webhook_id, path=call.path, status=status)
        retry_after = behaviour.retry_after if not call.delivered else None
        return Response(
            status_code=status, headers={"retry-after": retry_after} if retry_after else None
        )

    def _verified(self, body: bytes, headers: dict[str, str]) -> bool:
        for verifier in self._verifiers:
            try:
                verifier.verify(body, headers, json_parse=False)
            except WebhookVerificationError:
                continue
            return True
        return False

    def _status_for(self, behaviour: Behaviour, *, attempt: int) -> int:
        if behaviour.status is not None:
            return behaviour.status
        if attempt <= behaviour.fail_first:
            return behaviour.fail_status
        if behaviour.failure_rate and self._rng.random() < behaviour.failure_rate:
            return behaviour.fail_status
        return 204

    async def _list_received(self, request: Request) -> Response:
        return JSONResponse(
            {
                "rejected": self.rejected,
                "calls": [
                    {
                        "webhook_id": call.webhook_id,
                        "timestamp": call.timestamp,
                        "path": call.path,
                        "status": call.status,
                        "headers": dict(call.headers),
                        "body": call.body.decode(errors="replace"),
                    }
                    for call in self.calls
                ],
            }
        )

    async def _forget_received(self, request: Request) -> Response:
        self.calls.clear()
        self.rejected = 0
        self._attempts.clear()
        return Response(status_code=204)

    async def _add_secret(self, request: Request) -> Response:
        payload = await request.json()
        self.add_secret(str(payload["secret"]))
        return Response(status_code=204)


class _InProcessServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # In-process the host (pytest, a benchmark) keeps its own signal handling.
        yield


def main(argv: list[str] | None = None) -> None:
    defaults = Behaviour()
    parser = argparse.ArgumentParser(description="Webhook receiver that verifies signatures.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", action="append", default=[], help="whsec_...; repeatable")
    parser.add_argument("--seed", type=int, default=0)
    for spec in dataclasses.fields(Behaviour):
        parser.add_argument(
            f"--{spec.name.replace('_', '-')}",
            type=_FIELD_PARSERS[spec.name],
            default=getattr(defaults, spec.name),
        )
    args: Any = parser.parse_args(argv)
    behaviour = Behaviour(
        **{spec.name: getattr(args, spec.name) for spec in dataclasses.fields(Behaviour)}
    )
    configure_devtool_logging()
    receiver = WebhookReceiver(secrets=args.secret, behaviour=behaviour, seed=args.seed)
    logger.info("webhook receiver listening", host=args.host, port=args.port)
    uvicorn.run(
        receiver.app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )


if __name__ == "__main__":
    main()
