"""A shop API split over routers: APIRouter with prefixes, tags and router
dependencies, nested routers, a custom APIRoute class that wraps the handler,
path converters and multi-method routes."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.routing import APIRoute

from ._spec import Req


class VersionedRoute(APIRoute):
    """Adds X-Route and, for JSON bodies, X-Body-Bytes to every response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()
        route_path = self.path

        async def handler(request: Request) -> Response:
            if request.headers.get("x-reject") == "1":
                raise HTTPException(status_code=409, detail="rejected by route class")
            response = await original(request)
            response.headers["X-Route"] = route_path
            if request.method == "POST":
                response.headers["X-Body-Bytes"] = str(len(await request.body()))
            return response

        return handler


async def verify_shop_key(x_shop_key: Annotated[str, Header()]) -> None:
    if x_shop_key != "k-1":
        raise HTTPException(403, "bad shop key")


def make_app() -> FastAPI:
    app = FastAPI()

    products = APIRouter(prefix="/products", tags=["products"], route_class=VersionedRoute)
    reviews = APIRouter(prefix="/{product_id}/reviews")
    admin = APIRouter(prefix="/admin", dependencies=[Depends(verify_shop_key)])

    @products.get("/")
    async def list_products() -> list[str]:
        return ["kettle", "mug"]

    @products.get("/{product_id}")
    def get_product(product_id: int) -> dict[str, int]:
        return {"product_id": product_id}

    @products.post("/")
    async def add_product(product: dict[str, str]) -> dict[str, str]:
        return product

    @reviews.get("")
    async def list_reviews(product_id: int, stars: int | None = None) -> dict[str, object]:
        return {"product_id": product_id, "stars": stars, "reviews": []}

    @admin.api_route("/cache", methods=["DELETE", "POST"])
    async def cache(request: Request) -> dict[str, str]:
        return {"cache": "cleared" if request.method == "DELETE" else "warmed"}

    @admin.get("/files/{file_path:path}")
    def admin_file(file_path: str) -> dict[str, str]:
        return {"file_path": file_path}

    products.include_router(reviews)
    app.include_router(products)
    app.include_router(admin)
    app.include_router(products, prefix="/v1")  # the same router twice, under a second prefix

    @app.get("/route-name")
    async def route_name(request: Request) -> dict[str, str]:
        return {"url": str(request.url_for("get_product", product_id=3))}

    return app


REQUESTS = [
    Req("custom-route-class-header", path="/products/", expect_status=200),
    Req("custom-route-class-sync", path="/products/5", expect_status=200),
    Req(
        "custom-route-class-post-body",
        method="POST",
        path="/products/",
        json={"name": "spoon"},
        expect_status=200,
    ),
    Req("custom-route-class-raises", path="/products/", headers=(("x-reject", "1"),), expect_status=409),
    Req("custom-route-class-422", path="/products/nope", expect_status=422),
    Req("nested-router", path="/products/5/reviews", params={"stars": "4"}, expect_status=200),
    Req("second-prefix", path="/v1/products/9", expect_status=200),
    Req(
        "router-dependency-ok",
        method="DELETE",
        path="/admin/cache",
        headers=(("x-shop-key", "k-1"),),
        expect_status=200,
    ),
    Req(
        "router-dependency-403",
        method="POST",
        path="/admin/cache",
        headers=(("x-shop-key", "nope"),),
        expect_status=403,
    ),
    Req("router-dependency-missing-422", method="POST", path="/admin/cache", expect_status=422),
    Req("router-405", method="GET", path="/admin/cache", headers=(("x-shop-key", "k-1"),), expect_status=405),
    Req("path-converter", path="/admin/files/etc/app/config.toml", headers=(("x-shop-key", "k-1"),), expect_status=200),
    Req("url-for", path="/route-name", expect_status=200),
    Req("router-slash-redirect", path="/products", expect_status=307),
]
