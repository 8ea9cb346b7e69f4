"""StreamingResponse over plain and async generators, from def and async def endpoints,
and a client that goes away in the middle of a stream."""


from collections.abc import AsyncIterator, Iterator

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from ..oracle import HttpReq


def make_app() -> FastAPI:
    app = FastAPI()

    def numbers(n: int) -> Iterator[bytes]:
        for i in range(n):
            yield f"line {i}\n".encode()

    async def anumbers(n: int) -> AsyncIterator[bytes]:
        for i in range(n):
            yield f"aline {i}\n".encode()

    @app.get("/sync-endpoint-sync-gen")
    def sync_sync() -> StreamingResponse:
        return StreamingResponse(numbers(3), media_type="text/plain")

    @app.get("/async-endpoint-sync-gen")
    async def async_sync() -> StreamingResponse:
        return StreamingResponse(numbers(3), media_type="text/plain")

    @app.get("/sync-endpoint-async-gen")
    def sync_async() -> StreamingResponse:
        return StreamingResponse(anumbers(3), media_type="text/plain")

    @app.get("/async-endpoint-async-gen")
    async def async_async() -> StreamingResponse:
        return StreamingResponse(anumbers(3), media_type="text/plain")

    @app.get("/long")
    async def long() -> StreamingResponse:
        return StreamingResponse(anumbers(50), media_type="text/plain")

    @app.get("/long-sync")
    def long_sync() -> StreamingResponse:
        return StreamingResponse(numbers(50), media_type="text/plain")

    @app.get("/fails-mid-stream")
    async def fails() -> StreamingResponse:
        async def broken() -> AsyncIterator[bytes]:
            yield b"first\n"
            raise RuntimeError("the stream broke")

        return StreamingResponse(broken(), media_type="text/plain")

    return app


REQUESTS = [
    HttpReq("def endpoint, def generator", path="/sync-endpoint-sync-gen", uvicorn=True),
    HttpReq("async endpoint, def generator", path="/async-endpoint-sync-gen"),
    HttpReq("def endpoint, async generator", path="/sync-endpoint-async-gen"),
    HttpReq("async endpoint, async generator", path="/async-endpoint-async-gen"),
    HttpReq("client disconnects mid-stream", path="/long", disconnect_after=3),
    HttpReq("client disconnects mid-stream (def generator)", path="/long-sync", disconnect_after=3),
    HttpReq("the generator raises after the first chunk", path="/fails-mid-stream"),
]
