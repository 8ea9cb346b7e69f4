"""A notes API that leans on dependency injection: yield dependencies (sync,
async, scope="function"), caching and use_cache=False, dependency_overrides,
class-based dependencies, OAuth2 bearer with scopes, API keys and HTTP Basic."""

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Annotated
from unittest.mock import MagicMock

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import (
    APIKeyHeader,
    HTTPBasic,
    HTTPBasicCredentials,
    OAuth2PasswordBearer,
    SecurityScopes,
)

from ._spec import Req

oauth2 = OAuth2PasswordBearer(tokenUrl="/token", scopes={"notes:read": "read", "notes:write": "write"})
api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
basic = HTTPBasic()

# Depends(scope="function"): teardown right after the endpoint, before the response.
HAS_DEPENDENCY_SCOPES = "scope" in inspect.signature(Depends).parameters

TOKENS = {"tok-reader": ("ada", ["notes:read"]), "tok-writer": ("bob", ["notes:read", "notes:write"])}


class Mailer:
    def send(self, to: str, subject: str) -> None:  # pragma: no cover - replaced below
        raise RuntimeError("no SMTP in this environment")


def get_mailer() -> Mailer:
    return Mailer()


class Paginator:
    """A class used as a dependency: FastAPI builds one per request from the query."""

    def __init__(self, page: int = 1, size: int = 10) -> None:
        self.page = page
        self.size = size


class RateLimiter:
    """A callable instance used as a dependency; it keeps state across requests."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.hits = 0

    def __call__(self, request: Request) -> int:
        self.hits += 1
        if self.hits > self.limit:
            raise HTTPException(429, "slow down", headers={"Retry-After": "1"})
        return self.limit - self.hits


def make_app() -> FastAPI:
    app = FastAPI()
    calls: list[str] = []
    limiter = RateLimiter(limit=2)

    async def db_session() -> AsyncIterator[dict[str, str]]:
        calls.append("db open")
        try:
            yield {"db": "session"}
        except HTTPException:
            calls.append("db rollback")
            raise
        finally:
            calls.append("db close")

    def file_handle() -> Iterator[str]:
        calls.append("file open")
        yield "handle"
        calls.append("file close")

    def function_scoped() -> Iterator[str]:
        calls.append("fn-scope open")
        yield "fn"
        calls.append("fn-scope close")

    def counter(request: Request) -> int:
        request.state.counted = getattr(request.state, "counted", 0) + 1
        return request.state.counted

    def real_clock() -> str:
        return "real time"

    def fake_clock() -> str:
        return "2000-01-01T00:00:00"

    async def current_user(scopes: SecurityScopes, token: Annotated[str, Depends(oauth2)]) -> str:
        user = TOKENS.get(token)
        if user is None:
            raise HTTPException(401, "bad token", headers={"WWW-Authenticate": "Bearer"})
        name, granted = user
        missing = [s for s in scopes.scopes if s not in granted]
        if missing:
            raise HTTPException(
                403,
                f"missing scopes: {' '.join(missing)}",
                headers={"WWW-Authenticate": f'Bearer scope="{scopes.scope_str}"'},
            )
        return name

    app.dependency_overrides[real_clock] = fake_clock
    # The usual test double: a MagicMock stands in for the mailer, and the
    # app reports what was done with it.
    mailer_double = MagicMock()
    app.dependency_overrides[get_mailer] = lambda: mailer_double

    @app.get("/notes")
    async def list_notes(
        user: Annotated[str, Security(current_user, scopes=["notes:read"])],
        pages: Annotated[Paginator, Depends()],
        db: Annotated[dict[str, str], Depends(db_session)],
    ) -> dict[str, object]:
        return {"user": user, "page": pages.page, "size": pages.size, "db": db["db"]}

    @app.post("/notes", status_code=201)
    async def add_note(
        note: dict[str, str],
        user: Annotated[str, Security(current_user, scopes=["notes:write"])],
    ) -> dict[str, str]:
        return {"by": user, **note}

    @app.get("/cache")
    def cache_demo(
        a: Annotated[int, Depends(counter)],
        b: Annotated[int, Depends(counter)],
        c: Annotated[int, Depends(counter, use_cache=False)],
    ) -> dict[str, object]:
        return {"a": a, "b": b, "c": c}

    scoped = {"scope": "function"} if HAS_DEPENDENCY_SCOPES else {}

    @app.get("/lifecycle")
    def lifecycle(
        db: Annotated[dict[str, str], Depends(db_session)],
        fh: Annotated[str, Depends(file_handle)],
        fn: Annotated[str, Depends(function_scoped, **scoped)],
    ) -> list[str]:
        return list(calls)

    @app.get("/lifecycle-fails")
    async def lifecycle_fails(db: Annotated[dict[str, str], Depends(db_session)]) -> None:
        raise HTTPException(409, "conflict")

    @app.get("/calls")
    async def get_calls() -> list[str]:
        return calls

    @app.get("/clock")
    async def clock(now: Annotated[str, Depends(real_clock)]) -> dict[str, str]:
        return {"now": now}

    @app.post("/invite")
    async def invite(email: str, mailer: Annotated[Mailer, Depends(get_mailer)]) -> dict[str, str]:
        mailer.send(email, subject="You are invited")
        return {"invited": email}

    @app.get("/mailer-calls")
    async def mailer_calls() -> list[str]:
        return [str(c) for c in mailer_double.mock_calls]

    @app.get("/limited", dependencies=[Depends(limiter)])
    async def limited() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/keyed")
    async def keyed(key: Annotated[str | None, Security(api_key)]) -> dict[str, object]:
        if key is None:
            raise HTTPException(401, "X-API-Key header missing")
        return {"key_len": len(key)}

    @app.get("/basic")
    def basic_auth(creds: Annotated[HTTPBasicCredentials, Depends(basic)]) -> dict[str, str]:
        return {"user": creds.username}

    return app


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


REQUESTS = [
    Req("oauth2-scopes-ok", path="/notes", params={"page": "2"}, headers=_bearer("tok-reader"), expect_status=200),
    Req("oauth2-no-token-401", path="/notes", expect_status=401),
    Req("oauth2-bad-token-401", path="/notes", headers=_bearer("forged"), expect_status=401),
    Req(
        "oauth2-missing-scope-403",
        method="POST",
        path="/notes",
        json={"t": "x"},
        headers=_bearer("tok-reader"),
        expect_status=403,
    ),
    Req(
        "oauth2-write-201",
        method="POST",
        path="/notes",
        json={"t": "x"},
        headers=_bearer("tok-writer"),
        expect_status=201,
    ),
    Req(
        "class-dependency-422", path="/notes", params={"size": "big"}, headers=_bearer("tok-reader"), expect_status=422
    ),
    Req("cache-and-use-cache-false", path="/cache", expect_status=200),
    Req(
        "yield-deps-and-function-scope",
        path="/lifecycle",
        expect_status=200,
        followups=(Req("teardown-order", path="/calls"),),
        uvicorn=False,  # teardown runs after the response has gone out
    ),
    Req(
        "yield-dep-sees-exception",
        path="/lifecycle-fails",
        expect_status=409,
        followups=(Req("rollback-logged", path="/calls"),),
        uvicorn=False,
    ),
    Req("dependency-override", path="/clock", expect_status=200),
    Req(
        "dependency-override-with-mock",
        method="POST",
        path="/invite",
        params={"email": "eve@example.com"},
        expect_status=200,
        followups=(Req("mock-calls", path="/mailer-calls"),),
    ),
    Req(
        "callable-instance-rate-limit",
        path="/limited",
        expect_status=200,
        followups=(Req("second", path="/limited"), Req("third-429", path="/limited")),
    ),
    Req("api-key-present", path="/keyed", headers=(("x-api-key", "secret-123"),), expect_status=200),
    Req("api-key-missing", path="/keyed", expect_status=401),
    Req("http-basic", path="/basic", headers=(("authorization", "Basic YWRhOnB3"),), expect_status=200),
    Req("http-basic-missing-401", path="/basic", expect_status=401),
]
