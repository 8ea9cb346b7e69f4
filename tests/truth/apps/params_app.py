"""Parameters the docs do not show together: aliases, header underscores, parameter
models for query, header and cookie, and bodies (sent, missing, malformed)."""


from typing import Annotated

from fastapi import Body, Cookie, FastAPI, Header, Path, Query
from pydantic import BaseModel, Field

from ..oracle import HttpReq


class Filters(BaseModel):
    limit: int = Field(10, ge=1, le=100)
    order_by: str = "created"
    tags: list[str] = []


class Agent(BaseModel):
    user_agent: str | None = None
    x_trace: str | None = None


class Session(BaseModel):
    session_id: str
    theme: str = "light"


class Item(BaseModel):
    name: str
    price: float = Field(gt=0)


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/search")
    def search(
        q: Annotated[str | None, Query(alias="item-query")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> dict[str, object]:
        return {"q": q, "page": page}

    @app.get("/headers")
    def headers(
        strange_header: Annotated[str | None, Header(convert_underscores=False)] = None,
        x_token: Annotated[str | None, Header()] = None,
        user_agent: Annotated[str | None, Header()] = None,
    ) -> dict[str, object]:
        return {"strange": strange_header, "token": x_token, "agent": user_agent}

    @app.get("/filters")
    async def filters(f: Annotated[Filters, Query()]) -> Filters:
        return f

    @app.get("/agent")
    async def agent(h: Annotated[Agent, Header()]) -> Agent:
        return h

    @app.get("/session")
    async def session(c: Annotated[Session, Cookie()]) -> Session:
        return c

    @app.post("/items/{item_id}")
    async def create(item_id: Annotated[int, Path(ge=1)], item: Item) -> dict[str, object]:
        return {"id": item_id, "item": item}

    @app.post("/embedded")
    async def embedded(item: Annotated[Item, Body(embed=True)], note: Annotated[str, Body()] = "none") -> dict[str, object]:
        return {"item": item, "note": note}

    return app


REQUESTS = [
    HttpReq("query alias sent", path="/search", params={"item-query": "pen", "page": "2"}),
    HttpReq("query python name is not the alias", path="/search", params={"q": "pen"}, note="q is not looked up: the alias is"),
    HttpReq("query below minimum", path="/search", params={"page": "0"}),
    HttpReq("header underscores kept", path="/headers", headers=(("strange_header", "odd"), ("x-token", "t0k"), ("user-agent", "truth/1"))),
    HttpReq("header dashes not matched without conversion", path="/headers", headers=(("strange-header", "odd"),)),
    HttpReq("query model fields sent", path="/filters", params=[("limit", "5"), ("order_by", "name"), ("tags", "a"), ("tags", "b")]),
    HttpReq("query model wrong type", path="/filters", params={"limit": "many"}),
    HttpReq("query model nothing sent", path="/filters"),
    HttpReq("header model sent", path="/agent", headers=(("user-agent", "truth/2"), ("x-trace", "abc"))),
    HttpReq("cookie model sent", path="/session", headers=(("cookie", "session_id=s1; theme=dark"),)),
    HttpReq("cookie model missing required", path="/session", headers=(("cookie", "theme=dark"),)),
    HttpReq("body valid", method="POST", path="/items/3", json={"name": "pen", "price": 1.5}, uvicorn=True),
    HttpReq("required body not sent", method="POST", path="/items/3"),
    HttpReq("body wrong type", method="POST", path="/items/3", json={"name": "pen", "price": "cheap"}),
    HttpReq("body malformed json", method="POST", path="/items/3", content=b'{"name": "pen",', headers=(("content-type", "application/json"),)),
    HttpReq("body not json content type", method="POST", path="/items/3", content=b'{"name": "pen", "price": 2}', headers=(("content-type", "text/plain"),)),
    HttpReq("embedded body", method="POST", path="/embedded", json={"item": {"name": "cup", "price": 2}, "note": "gift"}),
    HttpReq("embedded body missing item", method="POST", path="/embedded", json={"note": "gift"}),
    HttpReq("path below minimum", method="POST", path="/items/0", json={"name": "pen", "price": 1.5}),
    HttpReq("chunked body", method="POST", path="/items/4", json={"name": "x" * 1500, "price": 2.0}, chunked=True),
]
