"""A public API called from browsers: CORSMiddleware with credentials,
preflight requests (allowed and refused) and simple cross-origin requests."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ._spec import Req

ORIGIN = "https://app.example.com"


def make_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ORIGIN, "https://admin.example.com"],
        allow_credentials=True,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Trace"],
        expose_headers=["X-Total-Count"],
        max_age=600,
    )

    @app.get("/products")
    async def products() -> list[dict[str, str]]:
        return [{"sku": "A1"}, {"sku": "B2"}]

    @app.post("/orders", status_code=201)
    def create_order(order: dict[str, int]) -> dict[str, int]:
        return {"id": 7, **order}

    return app


def _preflight(method: str, origin: str = ORIGIN, req_headers: str = "content-type") -> tuple[tuple[str, str], ...]:
    return (
        ("origin", origin),
        ("access-control-request-method", method),
        ("access-control-request-headers", req_headers),
    )


REQUESTS = [
    Req("preflight-allowed", method="OPTIONS", path="/orders", headers=_preflight("POST"), expect_status=200),
    Req(
        "preflight-bad-origin",
        method="OPTIONS",
        path="/orders",
        headers=_preflight("POST", origin="https://evil.example.net"),
        expect_status=400,
    ),
    Req("preflight-bad-method", method="OPTIONS", path="/orders", headers=_preflight("PATCH"), expect_status=400),
    Req(
        "preflight-bad-header",
        method="OPTIONS",
        path="/orders",
        headers=_preflight("POST", req_headers="x-secret"),
        expect_status=400,
    ),
    Req("simple-cors-get", path="/products", headers=(("origin", ORIGIN),), expect_status=200),
    Req(
        "simple-cors-post",
        method="POST",
        path="/orders",
        json={"qty": 2},
        headers=(("origin", "https://admin.example.com"), ("cookie", "sid=1")),
        expect_status=201,
    ),
    Req("cors-foreign-origin", path="/products", headers=(("origin", "https://other.example.org"),), expect_status=200),
    Req("no-origin", path="/products", expect_status=200),
    Req("cors-404", path="/nothing", headers=(("origin", ORIGIN),), expect_status=404),
]
