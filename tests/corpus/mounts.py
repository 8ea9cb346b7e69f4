"""A gateway app that mounts a versioned FastAPI sub-app (with its own
middleware and handlers), a plain Starlette app, bare ASGI callables and a
host-routed admin app."""

from fastapi import FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from ._spec import WS, Req


class Gone(Exception):
    pass


async def raw_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """The smallest possible ASGI app, mounted at /raw."""
    assert scope["type"] == "http"
    body = f"raw {scope['method']} {scope['path']} root={scope.get('root_path', '')}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
                (b"x-raw", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _encode_headers(pairs: dict[str, str]):
    return ((k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs.items())


async def raw_asgi_lazy_headers(scope: Scope, receive: Receive, send: Send) -> None:
    """Hand-written ASGI that passes its headers as a generator: ASGI only asks
    for an iterable of pairs, and servers and httpx iterate it once."""
    body = b'{"service": "pricing", "healthy": true}'
    headers = {"content-type": "application/json", "content-length": str(len(body)), "cache-control": "max-age=5"}
    await send({"type": "http.response.start", "status": 200, "headers": _encode_headers(headers)})
    await send({"type": "http.response.body", "body": body})


def _make_v2() -> FastAPI:
    v2 = FastAPI(title="v2")

    @v2.middleware("http")
    async def tag(request: Request, call_next):
        response = await call_next(request)
        response.headers["X-Sub-App"] = "v2"
        return response

    @v2.exception_handler(Gone)
    async def gone(request: Request, exc: Gone) -> JSONResponse:
        return JSONResponse({"detail": "this v2 resource is gone"}, status_code=410)

    @v2.get("/users/{uid}")
    async def user(uid: int, request: Request) -> dict[str, object]:
        return {"uid": uid, "url": str(request.url_for("user", uid=uid)), "root_path": request.scope.get("root_path")}

    @v2.get("/gone")
    def gone_route() -> None:
        raise Gone()

    @v2.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "v2 teapot")

    @v2.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"v2 live at {websocket.scope.get('root_path')}")
        await websocket.close(code=1001)

    return v2


def _make_legacy() -> Starlette:
    async def legacy_home(request: StarletteRequest) -> Response:
        return PlainTextResponse(f"legacy home at {request.url.path}")

    async def legacy_item(request: StarletteRequest) -> Response:
        return JSONResponse({"legacy_item": request.path_params["item_id"]})

    def legacy_sync(request: StarletteRequest) -> Response:
        return PlainTextResponse("sync legacy", headers={"x-legacy": "sync"})

    return Starlette(
        routes=[
            Route("/", legacy_home),
            Route("/items/{item_id:int}", legacy_item, methods=["GET", "POST"]),
            Route("/sync", legacy_sync),
            Mount("/nested", routes=[Route("/deep", legacy_home)]),
        ]
    )


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def gateway() -> dict[str, list[str]]:
        return {"mounts": ["/v2", "/legacy", "/raw", "/pricing"]}

    admin = FastAPI()

    @admin.get("/dashboard")
    async def admin_home(request: Request) -> dict[str, str]:
        return {"admin_for": request.headers["host"]}

    app.mount("/v2", _make_v2())
    app.mount("/legacy", _make_legacy())
    app.mount("/raw", raw_asgi)
    app.mount("/pricing", raw_asgi_lazy_headers)
    app.host("admin.example.com", admin)  # host-based routing: matched by the Host header
    return app


REQUESTS = [
    Req("gateway-root", path="/", expect_status=200),
    Req("fastapi-subapp-url-for", path="/v2/users/7", expect_status=200),
    Req("fastapi-subapp-422", path="/v2/users/seven", expect_status=422),
    Req("fastapi-subapp-own-handler-410", path="/v2/gone", expect_status=410),
    Req("fastapi-subapp-http-exception", path="/v2/teapot", expect_status=418),
    Req("fastapi-subapp-404", path="/v2/nothing", expect_status=404),
    Req("fastapi-subapp-docs", path="/v2/openapi.json", expect_status=200),
    Req("starlette-home", path="/legacy/", expect_status=200),
    Req("starlette-mount-redirect", path="/legacy", expect_status=307),
    Req("starlette-path-param", method="POST", path="/legacy/items/3", expect_status=200),
    Req("starlette-sync-endpoint", path="/legacy/sync", expect_status=200),
    Req("starlette-405", method="DELETE", path="/legacy/items/3", expect_status=405),
    Req("starlette-nested-mount", path="/legacy/nested/deep", expect_status=200),
    Req("starlette-404", path="/legacy/items/x", expect_status=404),
    Req("raw-asgi", method="PATCH", path="/raw/any/thing", expect_status=202),
    Req("raw-asgi-iterable-headers", path="/pricing/health", expect_status=200),
    Req("openapi", path="/openapi.json", expect_status=200),
    Req("host-route", path="/dashboard", headers=(("host", "admin.example.com"),), expect_status=200),
    Req("host-route-wrong-host-404", path="/dashboard", expect_status=404),
    Req("host-route-no-match-404", path="/nothing", headers=(("host", "admin.example.com"),), expect_status=404),
    Req("swagger-docs", path="/docs", expect_status=200),
]

WEBSOCKETS = [
    WS("websocket-in-mounted-fastapi", "/v2/live", (("receive",), ("receive",))),
    WS("websocket-to-starlette-mount-without-ws", "/legacy/", expect="close"),
]
