"""Routing outcomes: 404, 405 with several routes on one path, redirect_slashes
(also to a route of another method), included routers with prefixes, and a
mounted FastAPI sub-app with its own 404, 405 and 307."""


from fastapi import APIRouter, FastAPI

from ..oracle import HttpReq


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/things")
    async def list_things() -> list[str]:
        return ["a"]

    @app.post("/things")
    async def add_thing() -> dict[str, str]:
        return {"added": "b"}

    @app.put("/things")
    async def replace_things() -> dict[str, str]:
        return {"replaced": "all"}

    @app.post("/only-post/")
    async def only_post() -> dict[str, str]:
        return {"posted": "yes"}

    @app.get("/slash/")
    async def slash() -> dict[str, str]:
        return {"slash": "yes"}

    items = APIRouter(prefix="/items")

    @items.get("/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    app.include_router(items, prefix="/v1")

    sub = FastAPI()

    @sub.get("/hello")
    async def sub_hello() -> dict[str, str]:
        return {"sub": "hello"}

    @sub.get("/dir/")
    async def sub_dir() -> dict[str, str]:
        return {"sub": "dir"}

    app.mount("/sub", sub)
    return app


REQUESTS = [
    HttpReq("matched", path="/things", uvicorn=True),
    HttpReq("404", path="/nothing-here"),
    HttpReq("405 with three routes on the path", method="DELETE", path="/things", uvicorn=True),
    HttpReq("307 to the slashed path", path="/slash"),
    HttpReq("307 to a route of another method", path="/only-post", note="GET /only-post: /only-post/ matches only for POST, yet the router redirects"),
    HttpReq("included router with prefixes", path="/v1/items/5"),
    HttpReq("included router wrong type", path="/v1/items/five"),
    HttpReq("mounted sub-app route", path="/sub/hello"),
    HttpReq("mounted sub-app 404", path="/sub/nope"),
    HttpReq("mounted sub-app 405", method="POST", path="/sub/hello"),
    HttpReq("mounted sub-app 307", path="/sub/dir"),
]
