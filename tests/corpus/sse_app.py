"""A notifications feed over Server-Sent Events: FastAPI's EventSourceResponse
(when this FastAPI has fastapi.sse) and a hand-rolled text/event-stream."""

from collections.abc import AsyncIterable, AsyncIterator, Iterable

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ._spec import Req

try:
    from fastapi.sse import EventSourceResponse, ServerSentEvent
except ImportError:  # pragma: no cover - older FastAPI
    EventSourceResponse = None  # type: ignore[assignment,misc]


class Notification(BaseModel):
    id: int
    text: str


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/manual-sse")
    async def manual_sse(request: Request) -> StreamingResponse:
        async def gen() -> AsyncIterator[str]:
            yield "retry: 3000\n\n"
            for i in range(3):
                yield f'id: {i}\nevent: tick\ndata: {{"n": {i}}}\n\n'
            yield ": done\n\n"

        return StreamingResponse(
            gen(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    if EventSourceResponse is not None:

        @app.get("/notifications", response_class=EventSourceResponse)
        async def notifications(user: str = "ada") -> AsyncIterable[Notification]:
            for i, text in enumerate([f"hi {user}", "new follower", "bye"]):
                yield Notification(id=i, text=text)

        @app.get("/typed-events", response_class=EventSourceResponse)
        async def typed_events() -> AsyncIterable[ServerSentEvent]:
            yield ServerSentEvent(data={"status": "queued"}, event="job", id="1")
            yield ServerSentEvent(raw_data="plain text, not JSON", event="log")
            yield ServerSentEvent(comment="keep this connection", retry=5000)
            yield ServerSentEvent(data="multi\nline", event="job", id="2")

        @app.post("/sync-events", response_class=EventSourceResponse)
        def sync_events(body: dict[str, int]) -> Iterable[dict[str, int]]:
            for i in range(body.get("count", 2)):
                yield {"i": i}

    return app


REQUESTS = [Req("manual-text-event-stream", path="/manual-sse", expect_status=200)]
if EventSourceResponse is not None:
    REQUESTS += [
        Req("sse-models", path="/notifications", params={"user": "bob"}, expect_status=200),
        Req("sse-server-sent-event-items", path="/typed-events", expect_status=200),
        Req("sse-sync-generator-post", method="POST", path="/sync-events", json={"count": 3}, expect_status=200),
        Req("sse-validation-422", method="POST", path="/sync-events", json={"count": "x"}, expect_status=422),
    ]
