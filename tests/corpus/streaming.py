"""A log/metrics service that streams: StreamingResponse from sync and async
generators, NDJSON by hand, JSON Lines and raw bytes from path operations that
yield (where FastAPI has them), HEAD on a stream, and a stream that fails half
way."""

import inspect
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from fastapi.routing import get_request_handler
from pydantic import BaseModel

from ._spec import Req

# Path operations that `yield` (streamed as JSON Lines by FastAPI itself, or as
# raw bytes with response_class=StreamingResponse) are newer than 0.121.
HAS_GENERATOR_ENDPOINTS = "is_json_stream" in inspect.signature(get_request_handler).parameters


class LogLine(BaseModel):
    seq: int
    level: str
    message: str


class Metric(BaseModel):
    name: str
    value: float


def make_app() -> FastAPI:
    app = FastAPI()
    closed: list[str] = []

    async def log_source() -> AsyncIterator[list[str]]:
        lines = ["boot", "listening", "request served"]
        try:
            yield lines
        finally:
            closed.append("log source")

    @app.get("/logs/text")
    async def logs_text(lines: list[str] = Depends(log_source)) -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            for i, line in enumerate(lines):
                await anyio.sleep(0)
                yield f"{i}: {line}\n".encode()

        return StreamingResponse(gen(), media_type="text/plain; charset=utf-8")

    @app.api_route("/logs/sync", methods=["HEAD"])
    def logs_sync_head() -> StreamingResponse:
        return StreamingResponse(iter([b"never sent to a HEAD request"]), media_type="text/plain")

    @app.get("/logs/sync")
    def logs_sync() -> StreamingResponse:
        def gen() -> Iterator[str]:
            for i in range(5):
                yield f"line {i}\n"

        return StreamingResponse(gen(), media_type="text/plain", headers={"X-Lines": "5"})

    @app.get("/logs/ndjson")
    async def logs_ndjson() -> StreamingResponse:
        async def gen() -> AsyncIterator[str]:
            for i, msg in enumerate(["start", "work", "stop"]):
                yield json.dumps({"seq": i, "message": msg}) + "\n"

        return StreamingResponse(gen(), media_type="application/x-ndjson")

    if HAS_GENERATOR_ENDPOINTS:

        @app.get("/logs/jsonl")
        async def logs_jsonl(level: str = "info") -> AsyncIterable[LogLine]:
            for i, msg in enumerate(["start", "work", "stop"]):
                yield LogLine(seq=i, level=level, message=msg)

        @app.get("/metrics/jsonl")
        def metrics_jsonl() -> Iterable[Metric]:
            yield Metric(name="cpu", value=0.25)
            yield Metric(name="mem", value=512.0)

        @app.get("/events/untyped")
        async def untyped_jsonl():
            yield {"kind": "a", "n": 1}
            yield {"kind": "b", "n": 2.5, "nested": {"ok": True}}

        @app.get("/download", response_class=StreamingResponse)
        async def download() -> AsyncIterable[bytes]:
            for block in (b"\x89PNG\r\n", b"\x00" * 64, b"IEND"):
                yield block

    @app.get("/logs/broken")
    async def broken() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            yield b"first chunk\n"
            yield b"second chunk\n"
            raise RuntimeError("log store went away")

        return StreamingResponse(gen(), media_type="text/plain")

    @app.get("/closed")
    def closed_sources() -> list[str]:
        return closed

    return app


REQUESTS = [
    Req(
        "async-generator-with-yield-dep",
        path="/logs/text",
        expect_status=200,
        followups=(Req("dep-teardown-ran", path="/closed"),),
        uvicorn=False,  # the teardown may still be running when the follow-up arrives
    ),
    Req("async-generator-with-yield-dep-alone", path="/logs/text", expect_status=200),
    Req("sync-generator", path="/logs/sync", expect_status=200),
    Req("head-on-streaming", method="HEAD", path="/logs/sync", expect_status=200),
    Req("ndjson-streaming-response", path="/logs/ndjson", expect_status=200),
    Req("fails-mid-stream", path="/logs/broken", expect_status=200, expect_raises="RuntimeError"),
]
if HAS_GENERATOR_ENDPOINTS:
    REQUESTS += [
        Req("jsonl-async", path="/logs/jsonl", params={"level": "debug"}, expect_status=200),
        Req("jsonl-sync", path="/metrics/jsonl", expect_status=200),
        Req("jsonl-untyped", path="/events/untyped", expect_status=200),
        Req("raw-bytes-stream", path="/download", expect_status=200),
    ]
