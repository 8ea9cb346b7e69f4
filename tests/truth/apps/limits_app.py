"""FastAPI's own request body limit (max_body_size): a body over it gets 413."""


from typing import Any

from fastapi import FastAPI

from ..oracle import HttpReq

# FastAPI(max_body_size=...) exists only in newer releases.
NEEDS = "max_body_size"


def make_app() -> FastAPI:
    app = FastAPI(max_body_size=1024)

    @app.post("/echo")
    async def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    return app


REQUESTS = [
    HttpReq("under the limit", method="POST", path="/echo", json={"a": "b"}),
    HttpReq("over the limit: 413", method="POST", path="/echo", json={"a": "x" * 4000}),
    HttpReq("over the limit, chunked: 413", method="POST", path="/echo", json={"a": "y" * 4000}, chunked=True),
]
