"""A small catalogue API: sync and async endpoints, params, response_model,
204, HEAD, 404/405, slash redirects, validation errors and a deprecation warning."""

import warnings
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field

from ._spec import Req


class ItemIn(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []


class ItemOut(BaseModel):
    id: int
    name: str
    price: float


class ItemPrivate(ItemOut):
    supplier_cost: float
    internal_notes: str


def make_app() -> FastAPI:
    app = FastAPI(title="catalogue")
    items: dict[int, ItemPrivate] = {
        1: ItemPrivate(id=1, name="kettle", price=25.0, supplier_cost=11.5, internal_notes="fragile"),
        2: ItemPrivate(id=2, name="mug", price=4.5, supplier_cost=0.9, internal_notes="bulk"),
    }

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"service": "catalogue", "version": "1"}

    @app.get("/items", response_model=list[ItemOut])
    def list_items(
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
        q: str | None = None,
    ) -> list[ItemPrivate]:
        found = [i for i in items.values() if q is None or q in i.name]
        return found[:limit]

    @app.get("/items/{item_id}", response_model=ItemOut)
    async def get_item(item_id: Annotated[int, Path(ge=1)]) -> ItemPrivate:
        if item_id not in items:
            raise HTTPException(status_code=404, detail=f"item {item_id} not found")
        return items[item_id]

    @app.post("/items", response_model=ItemOut, status_code=status.HTTP_201_CREATED)
    def create_item(item: ItemIn) -> ItemPrivate:
        new = ItemPrivate(id=max(items) + 1, name=item.name, price=item.price, supplier_cost=0.0, internal_notes="")
        items[new.id] = new
        return new

    @app.delete("/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_item(item_id: int) -> None:
        items.pop(item_id, None)

    @app.get("/users/", response_model_exclude_none=True)
    async def users_with_slash() -> list[dict[str, str | None]]:
        return [{"name": "ada", "email": None}]

    @app.head("/health")
    @app.get("/health")
    def health(response: Response) -> dict[str, bool]:
        response.headers["X-Health"] = "green"
        return {"ok": True}

    @app.get("/legacy-search")
    async def legacy_search(q: str = "") -> dict[str, str]:
        warnings.warn("/legacy-search is deprecated, use /items?q=", DeprecationWarning, stacklevel=1)
        return {"q": q}

    @app.get("/legacy-report")
    def legacy_report() -> dict[str, int]:
        warnings.warn("report format v1 will be removed", FutureWarning, stacklevel=1)
        warnings.warn("report served from cache", UserWarning, stacklevel=1)
        return {"rows": 3}

    @app.get("/items/{item_id}/cached")
    async def cached_item(item_id: int) -> ItemOut:
        # A cache hit rebuilt with model_construct() (no validation, for speed);
        # the cache stored the price as text, so Pydantic warns when serializing.
        row = {"id": item_id, "name": "kettle", "price": "25.00"}
        return ItemOut.model_construct(**row)

    @app.get("/plain", response_model=None)
    def plain() -> Response:
        return Response(content=b"raw bytes \x00\xff", media_type="application/octet-stream")

    return app


REQUESTS = [
    Req("root", path="/", expect_status=200),
    Req("list-sync-filtered", path="/items", params={"limit": "1"}, expect_status=200),
    Req("list-query", path="/items", params={"q": "mu"}, expect_status=200),
    Req("list-bad-limit-422", path="/items", params={"limit": "0"}, expect_status=422),
    Req("get-response-model", path="/items/1", expect_status=200),
    Req("get-missing-404", path="/items/99", expect_status=404),
    Req("get-bad-path-422", path="/items/abc", expect_status=422),
    Req(
        "post-201",
        method="POST",
        path="/items",
        json={"name": "teapot", "price": 30, "tags": ["kitchen"]},
        expect_status=201,
        followups=(Req("list-after-post", path="/items"),),
    ),
    Req("post-invalid-422", method="POST", path="/items", json={"name": "", "price": -1}, expect_status=422),
    Req(
        "post-malformed-json-422",
        method="POST",
        path="/items",
        content=b'{"name": "x", "price": ',
        headers=(("content-type", "application/json"),),
        expect_status=422,
    ),
    Req("delete-204", method="DELETE", path="/items/2", expect_status=204),
    Req("slash-redirect-307", path="/users", expect_status=307),
    Req("exclude-none", path="/users/", expect_status=200),
    Req("unknown-404", path="/nope", expect_status=404),
    Req("method-not-allowed-405", method="PUT", path="/items/1", expect_status=405),
    Req("head-explicit", method="HEAD", path="/health", expect_status=200),
    Req("head-on-get-only", method="HEAD", path="/items/1", expect_status=405),
    Req("options-405", method="OPTIONS", path="/items", expect_status=405),
    Req("response-param-header", path="/health", expect_status=200),
    Req("deprecation-warning-async", path="/legacy-search", params={"q": "k"}, expect_status=200),
    Req("warnings-in-threadpool", path="/legacy-report", expect_status=200),
    Req("raw-response", path="/plain", expect_status=200),
    Req("serializer-warning-model-construct", path="/items/1/cached", expect_status=200),
]
