"""Generator endpoints FastAPI streams itself: Server-Sent Events (fastapi.sse) and
JSON Lines, each as def and async def."""


from collections.abc import AsyncIterable, Iterable

from fastapi import FastAPI
from pydantic import BaseModel

from ..oracle import HttpReq

# FastAPI streams generator endpoints itself only in newer releases; older ones
# have no fastapi.sse and would try to serialize the generator object.
NEEDS = "sse"


class Tick(BaseModel):
    n: int


def make_app() -> FastAPI:
    from fastapi.sse import EventSourceResponse

    app = FastAPI()

    @app.get("/sse-async", response_class=EventSourceResponse)
    async def sse_async() -> AsyncIterable[Tick]:
        for i in range(3):
            yield Tick(n=i)

    @app.get("/sse-sync", response_class=EventSourceResponse)
    def sse_sync() -> Iterable[Tick]:
        for i in range(3):
            yield Tick(n=i)

    @app.get("/jsonl-async")
    async def jsonl_async() -> AsyncIterable[Tick]:
        for i in range(3):
            yield Tick(n=i)

    @app.get("/jsonl-sync")
    def jsonl_sync() -> Iterable[Tick]:
        for i in range(3):
            yield Tick(n=i)

    @app.get("/jsonl-long")
    def jsonl_long() -> Iterable[Tick]:
        for i in range(40):
            yield Tick(n=i)

    return app


REQUESTS = [
    HttpReq("sse from async def", path="/sse-async"),
    HttpReq("sse from def", path="/sse-sync", uvicorn=True),
    HttpReq("json lines from async def", path="/jsonl-async"),
    HttpReq("json lines from def", path="/jsonl-sync"),
    HttpReq("json lines, client disconnects", path="/jsonl-long", disconnect_after=3),
]
