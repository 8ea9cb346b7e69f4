"""An API deployed behind a reverse proxy that strips /api/v1: the server is
told the root path (``ROOT_PATH``, passed to httpx's ASGITransport and to
uvicorn, since FastAPI's own root_path parameter is deprecated), absolute URLs
come from url_for, and the OpenAPI servers list and /docs follow it."""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from ._spec import Req

ROOT_PATH = "/api/v1"


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int, request: Request) -> dict[str, object]:
        return {
            "item_id": item_id,
            "self": str(request.url_for("item", item_id=item_id)),
            "root_path": request.scope.get("root_path"),
            "path": request.url.path,
        }

    @app.get("/latest")
    def latest(request: Request) -> RedirectResponse:
        return RedirectResponse(request.url_for("item", item_id=99), status_code=302)

    return app


REQUESTS = [
    Req("path-without-prefix", path="/items/3", expect_status=200),
    Req("path-with-prefix", path="/api/v1/items/3", expect_status=200),
    Req("redirect-url-for", path="/latest", expect_status=302),
    Req("openapi-servers", path="/openapi.json", expect_status=200),
    Req("docs-uses-root-path", path="/docs", expect_status=200),
    Req("404-under-prefix", path="/api/v1/nothing", expect_status=404),
]
