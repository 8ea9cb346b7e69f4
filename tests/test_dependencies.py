"""Dependency injection in detail: scopes, errors, overrides, classes, security."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, HTTPException, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from helpers import Traced, find, index, one

pytestmark = pytest.mark.anyio
LOG: list[str] = []


def session():
    LOG.append("open")
    yield "session"
    LOG.append("close")


def early():
    yield "early"
    LOG.append("early closed")


def require_admin(role: str = "guest") -> str:
    if role != "admin":
        raise HTTPException(status_code=403, detail="admins only")
    return role


def real_settings() -> dict[str, str]:
    return {"env": "prod"}


def fake_settings() -> dict[str, str]:
    return {"env": "test"}


class Paginator:
    def __init__(self, limit: int = 10) -> None:
        self.limit = limit


oauth2 = OAuth2PasswordBearer(tokenUrl="token")
api_key = APIKeyHeader(name="X-API-Key")


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/scoped")
    def scoped(
        s: Annotated[str, Depends(session)],
        e: Annotated[str, Depends(early, scope="function")],
    ) -> str:
        LOG.append("endpoint")
        return s + e

    @app.get("/admin")
    async def admin(role: Annotated[str, Depends(require_admin)]) -> str:
        return role

    @app.get("/settings")
    async def settings(
        a: Annotated[dict, Depends(real_settings)], b: Annotated[dict, Depends(real_settings)]
    ) -> dict:
        return a

    @app.get("/page")
    async def page(p: Annotated[Paginator, Depends()]) -> int:
        return p.limit

    @app.get("/me")
    async def me(token: Annotated[str, Depends(oauth2)], key: Annotated[str, Security(api_key)]) -> str:
        return "ok"

    return app


async def test_function_scope_closes_before_the_response_request_scope_after() -> None:
    LOG.clear()
    t = Traced(make_app())
    r, events = await t.request("GET", "/scoped")
    assert r.json() == "sessionearly"
    teardowns = [e for e in find(events, "dependency", "start") if e.detail.get("phase") == "teardown"]
    assert [e.name for e in teardowns] == ["early", "session"]
    assert teardowns[0].detail["scope"] == "function"
    early_td = events.index(teardowns[0])
    session_td = events.index(teardowns[1])
    assert index(events, "endpoint", "end") < early_td < index(events, "response", "start")
    assert index(events, "response", "end") < session_td
    assert "before any response was sent" in teardowns[0].explain
    assert LOG == ["open", "endpoint", "early closed", "close"]
    await t.aclose()


async def test_a_dependency_that_raises_stops_the_request() -> None:
    t = Traced(make_app())
    r, events = await t.request("GET", "/admin")
    assert r.status_code == 403
    end = one(events, "dependency", "end", "require_admin")
    assert end.detail["raised"].endswith("HTTPException")
    assert not find(events, "endpoint")
    exc = one(events, "exception")
    assert exc.detail["status_code"] == 403 and exc.detail["handled"] is True
    r, events = await t.request("GET", "/admin", params={"role": "admin"})
    assert r.json() == "admin"
    assert one(events, "dependency", "end", "require_admin").detail["returned"] == "str"
    await t.aclose()


async def test_overrides_are_traced_and_cached_under_the_original() -> None:
    app = make_app()
    app.dependency_overrides[real_settings] = fake_settings
    t = Traced(app)
    r, events = await t.request("GET", "/settings")
    assert r.json() == {"env": "test"}
    assert [e.name for e in find(events, "dependency", "start")] == ["fake_settings"]
    cached = one(events, "dependency", "point")
    assert cached.name == "fake_settings" and cached.detail["cached"] is True
    await t.aclose()


async def test_class_dependency_and_its_parameters() -> None:
    t = Traced(make_app())
    r, events = await t.request("GET", "/page", params={"limit": "5"})
    assert r.json() == 5
    start = one(events, "dependency", "start")
    assert start.name == "Paginator" and start.detail["param"] == "p"
    assert one(events, "dependency", "end").detail["returned"].endswith("Paginator")
    limit = one(events, "validation", name="limit")
    assert limit.detail["value"] == 5
    assert index(events, "validation", "point", "limit") < index(events, "dependency", "start")
    await t.aclose()


async def test_security_dependencies_401_and_secrets_redacted() -> None:
    t = Traced(make_app())
    r, events = await t.request("GET", "/me")
    assert r.status_code == 401
    assert one(events, "dependency", "end", "OAuth2PasswordBearer").detail["raised"].endswith("HTTPException")
    assert one(events, "exception").detail["status_code"] == 401
    r, events = await t.request("GET", "/me", headers={"Authorization": "Bearer tok123", "X-API-Key": "key456"})
    assert r.status_code == 200
    names = [e.name for e in find(events, "dependency", "start")]
    assert names == ["OAuth2PasswordBearer", "APIKeyHeader"]
    import json

    dumped = json.dumps([e.to_dict() for e in events])
    assert "tok123" not in dumped and "key456" not in dumped
    await t.aclose()
