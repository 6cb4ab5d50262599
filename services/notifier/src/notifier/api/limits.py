"""A bound on request bodies, enforced before any route, dependency or token check runs.

``BodySizeLimit`` is pure ASGI: a declared ``Content-Length`` above the limit is
answered 413 without reading a byte, and a streamed (chunked) body is counted as
it arrives and cut off at the limit, so one request never holds more than the
limit in memory whoever sends it.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notifier.api.problems import PROBLEM_JSON, Problem, ProblemKind

TOO_LARGE = ProblemKind(413, "Request body too large", "request-too-large")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        exceeded = False  # the body passed the limit: whatever the app answers, it is a 413
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Read no further; the app sees a client gone (frameworks catch any
                    # exception raised from here and would answer 400).
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if answered or not exceeded:  # an answer begun before the limit is finished
                answered = answered or message["type"] == "http.response.start"
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not answered:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = (
            Problem(
                type=TOO_LARGE.type,
                title=TOO_LARGE.title,
                status=TOO_LARGE.status,
                detail=f"A request body may hold at most {self.max_bytes} bytes.",
                instance=scope.get("path", ""),
            )
            .model_dump_json(exclude_none=True)
            .encode()
        )
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
