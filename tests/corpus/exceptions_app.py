"""A payments API with every kind of error: HTTPException (with headers),
custom handlers for RequestValidationError, for domain exception classes (async
and sync handlers) and for HTTPException, response validation errors, unhandled
errors from an endpoint, a dependency and a task group (ExceptionGroup), and
exceptions whose str() itself fails, handled and unhandled."""

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._spec import Req


class PaymentDeclined(Exception):
    def __init__(self, reason: str, retry: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class FraudSuspected(Exception):
    pass


class CardError(Exception):
    """Renders its message from a code table; an unknown code makes str() fail."""

    MESSAGES = {"expired": "card expired", "stolen": "card reported stolen"}

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def __str__(self) -> str:
        return self.MESSAGES[self.code]


class LedgerError(Exception):
    """No handler is registered for it; like CardError, an unknown code breaks str()."""

    MESSAGES = {"locked": "ledger locked"}

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def __str__(self) -> str:
        return self.MESSAGES[self.code]


class Receipt(BaseModel):
    id: int
    amount: float


def make_app() -> FastAPI:
    app = FastAPI()

    @app.exception_handler(RequestValidationError)
    async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": "invalid request", "fields": [".".join(map(str, e["loc"])) for e in exc.errors()]},
            status_code=400,
        )

    @app.exception_handler(PaymentDeclined)
    async def declined_handler(request: Request, exc: PaymentDeclined) -> JSONResponse:
        return JSONResponse(
            {"declined": exc.reason},
            status_code=402,
            headers={"Retry-After": "30"} if exc.retry else None,
        )

    @app.exception_handler(FraudSuspected)
    def fraud_handler(request: Request, exc: FraudSuspected) -> PlainTextResponse:  # a sync handler
        return PlainTextResponse(f"blocked: {exc}", status_code=451)

    @app.exception_handler(CardError)
    async def card_handler(request: Request, exc: CardError) -> JSONResponse:
        return JSONResponse({"card_error": exc.code}, status_code=402)

    @app.exception_handler(StarletteHTTPException)
    async def http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return JSONResponse({"error": "not here", "path": request.url.path}, status_code=404)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.get("/pay/{amount}")
    async def pay(amount: float, card: str = "visa") -> dict[str, object]:
        if amount > 1000:
            raise PaymentDeclined("limit exceeded", retry=True)
        if card == "stolen":
            raise FraudSuspected("card on block list")
        if amount == 0:
            raise HTTPException(status_code=400, detail="nothing to pay", headers={"X-Error": "zero"})
        return {"paid": amount, "card": card}

    @app.get("/sync-pay")
    def sync_pay(amount: float) -> dict[str, float]:
        if amount < 0:
            raise PaymentDeclined("negative")
        return {"paid": amount}

    @app.get("/card/{code}")
    async def card(code: str) -> None:
        raise CardError(code)

    @app.get("/card-sync/{code}")
    def card_sync(code: str) -> None:
        raise CardError(code)

    def open_ledger(ledger: str = "main") -> str:
        if ledger != "main":
            raise LedgerError(ledger)
        return ledger

    @app.get("/ledger")
    async def ledger(name: str = Depends(open_ledger)) -> dict[str, str]:
        return {"ledger": name}

    @app.get("/ledger-endpoint/{code}")
    async def ledger_endpoint(code: str) -> None:
        raise LedgerError(code)

    @app.get("/quote")
    async def quote(fail: str = "") -> dict[str, float]:
        """Fans out to three rate providers at once with a task group."""
        rates: dict[str, float] = {}

        async def fetch(provider: str, rate: float) -> None:
            await anyio.sleep(0)
            if provider in fail.split(","):
                raise ConnectionError(f"{provider} timed out")
            rates[provider] = rate

        async with anyio.create_task_group() as tg:
            for provider, rate in (("ecb", 1.08), ("fed", 1.09), ("boe", 1.07)):
                tg.start_soon(fetch, provider, rate)
        return dict(sorted(rates.items()))

    @app.get("/receipt", response_model=Receipt)
    async def receipt(broken: bool = False) -> dict[str, object]:
        if broken:
            return {"id": "not-an-int", "amount": 1.0}
        return {"id": 1, "amount": 9.99}

    @app.get("/divide")
    def divide(a: int, b: int) -> dict[str, float]:
        return {"q": a / b}

    @app.get("/unauthorized")
    async def unauthorized() -> None:
        raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})

    return app


REQUESTS = [
    Req("ok", path="/pay/10", expect_status=200),
    Req("http-exception-with-headers-handled", path="/pay/0", expect_status=400),
    Req("custom-exception-async-handler", path="/pay/5000", expect_status=402),
    Req("custom-exception-sync-handler", path="/pay/10", params={"card": "stolen"}, expect_status=451),
    Req("custom-exception-from-threadpool", path="/sync-pay", params={"amount": "-1"}, expect_status=402),
    Req("validation-custom-handler-400", path="/pay/lots", expect_status=400),
    Req("missing-query-custom-handler", path="/sync-pay", expect_status=400),
    Req("custom-404-handler", path="/no/such/page", expect_status=404),
    Req("405-through-http-handler", method="POST", path="/pay/1", expect_status=405),
    Req("401-www-authenticate", path="/unauthorized", expect_status=401),
    Req("card-error-known-code", path="/card/expired", expect_status=402),
    Req("card-error-str-fails-async", path="/card/lost", expect_status=402),
    Req("card-error-str-fails-sync", path="/card-sync/lost", expect_status=402),
    Req(
        "unhandled-from-dependency-str-ok",
        path="/ledger",
        params={"ledger": "locked"},
        expect_status=500,
        expect_raises="corpus.exceptions_app.LedgerError",
    ),
    Req(
        "unhandled-from-dependency-str-fails",
        path="/ledger",
        params={"ledger": "archive"},
        expect_status=500,
        expect_raises="corpus.exceptions_app.LedgerError",
    ),
    Req(
        "unhandled-from-endpoint-str-fails",
        path="/ledger-endpoint/archive",
        expect_status=500,
        expect_raises="corpus.exceptions_app.LedgerError",
    ),
    Req("task-group-ok", path="/quote", expect_status=200),
    Req(
        "task-group-one-fails", path="/quote", params={"fail": "fed"}, expect_status=500, expect_raises="ExceptionGroup"
    ),
    Req(
        "unhandled-zero-division-500",
        path="/divide",
        params={"a": "1", "b": "0"},
        expect_status=500,
        expect_raises="ZeroDivisionError",
    ),
    Req(
        "response-validation-500",
        path="/receipt",
        params={"broken": "true"},
        expect_status=500,
        expect_raises="fastapi.exceptions.ResponseValidationError",
    ),
    Req("response-model-ok", path="/receipt", expect_status=200),
]
