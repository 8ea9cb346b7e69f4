"""A reporting API behind TrustedHostMiddleware and GZipMiddleware: large
JSON and streamed bodies are compressed, small ones not, foreign hosts refused."""

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import PlainTextResponse, StreamingResponse

from ._spec import Req


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=["testserver", "127.0.0.1", "localhost", "*.example.com"],
    )

    @app.get("/report")
    async def report(rows: int = 200) -> list[dict[str, object]]:
        return [{"row": i, "label": f"line item number {i}", "ok": i % 3 != 0} for i in range(rows)]

    @app.get("/small")
    def small() -> dict[str, str]:
        return {"tiny": "yes"}

    @app.get("/export")
    def export() -> StreamingResponse:
        def lines():
            yield b"id,value\n"
            for i in range(400):
                yield f"{i},{i * i}\n".encode()

        return StreamingResponse(lines(), media_type="text/csv")

    @app.get("/already-encoded")
    async def already_encoded() -> PlainTextResponse:
        return PlainTextResponse("x" * 2000, headers={"Content-Encoding": "identity"})

    return app


REQUESTS = [
    Req("gzip-large-json", path="/report", headers=(("accept-encoding", "gzip"),), expect_status=200),
    Req("no-gzip-when-not-accepted", path="/report", headers=(("accept-encoding", "identity"),), expect_status=200),
    Req("small-not-compressed", path="/small", headers=(("accept-encoding", "gzip"),), expect_status=200),
    Req("gzip-streaming", path="/export", headers=(("accept-encoding", "gzip"),), expect_status=200),
    Req("already-encoded", path="/already-encoded", headers=(("accept-encoding", "gzip"),), expect_status=200),
    Req("trusted-subdomain", path="/small", headers=(("host", "api.example.com"),), expect_status=200),
    Req("untrusted-host-400", path="/report", headers=(("host", "evil.test"),), expect_status=400),
    Req("gzip-422", path="/report", params={"rows": "many"}, headers=(("accept-encoding", "gzip"),), expect_status=422),
]
