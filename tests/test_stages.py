"""Every lifecycle stage, on real requests through real FastAPI, in-process."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from helpers import Traced, assert_well_formed, find, index, one, websocket_session
from pydantic import BaseModel
from stage_app import LOG, make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    LOG.clear()
    t = Traced(make_app())
    yield t
    await t.aclose()


async def test_request_start_and_end(traced: Traced) -> None:
    r, events = await traced.request("GET", "/items/3", params={"q": "hi"})
    assert r.status_code == 200
    assert_well_formed(events)
    start = events[0]
    assert start.detail["method"] == "GET"
    assert start.detail["path"] == "/items/3"
    assert start.detail["query_string"] == "q=hi"
    end = events[-1]
    assert end.detail["status_code"] == 200
    assert end.detail["duration_ns"] > 0
    # The duration is the request's, first event to last: not the tracer's own work before the first
    # (on an app's first request it learns the app's secret names; lesson 1's header said 6.4 ms of a
    # 2.8 ms trace). A few microseconds apart at most: each clock is read next to its event's.
    assert abs(end.detail["duration_ns"] - (end.t_ns - start.t_ns)) < 200_000


async def test_secret_headers_are_redacted_everywhere(traced: Traced) -> None:
    headers = {"Authorization": "Bearer s3cret-token", "Cookie": "session=abc123", "X-API-Key": "k3y"}
    r, events = await traced.request("GET", "/whoami", headers=headers)
    assert r.json() == {"has_session": True, "has_auth": True}
    dumped = json.dumps([e.to_dict() for e in events])
    for secret in ("s3cret-token", "abc123", "k3y"):
        assert secret not in dumped
    sent = dict(events[0].detail["headers"])
    assert sent["authorization"] == "Bearer [redacted]"
    assert sent["cookie"] == "session=[redacted]"  # the name teaches; the value is the secret


async def test_redaction_can_be_turned_off() -> None:
    t = Traced(make_app())
    t.tracer.redact = False
    _, events = await t.request("GET", "/whoami", headers={"Authorization": "Bearer s3cret"})
    assert dict(events[0].detail["headers"])["authorization"] == "Bearer s3cret"
    await t.aclose()


async def test_middleware_layers_in_stack_order(traced: Traced) -> None:
    _, events = await traced.request("GET", "/items/3")
    starts = find(events, "middleware", "start")
    names = [e.name for e in starts]
    # Starlette's own layers wrap the user's; the middleware added last is outermost.
    assert names[0] == "ServerErrorMiddleware"
    assert names.index("CORSMiddleware") < names.index("PureASGI") < names.index("BaseHTTPMiddleware")
    assert names.index("BaseHTTPMiddleware") < names.index("ExceptionMiddleware")
    assert [e.detail["depth"] for e in starts] == list(range(len(starts)))
    ends = find(events, "middleware", "end")
    assert [e.name for e in ends] == list(reversed(names))
    assert all(e.detail["called_next"] for e in ends)
    assert one(events, "middleware", "start", "ServerErrorMiddleware").detail["builtin"] is True
    assert one(events, "middleware", "start", "PureASGI").detail["builtin"] is False


async def test_cors_preflight_answers_without_calling_next(traced: Traced) -> None:
    r, events = await traced.request(
        "OPTIONS",
        "/items/3",
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 200
    cors_end = one(events, "middleware", "end", "CORSMiddleware")
    assert cors_end.detail["called_next"] is False
    assert "without calling" in cors_end.explain
    assert not find(events, "routing")


async def test_routing_candidates_and_prefixed_template(traced: Traced) -> None:
    _, events = await traced.request("GET", "/api/users/7")
    routing = one(events, "routing")
    d = routing.detail
    assert d["matched"] is True
    assert d["route"] == "/api/users/{user_id}"
    assert d["endpoint"].endswith("read_user")
    assert d["path_params"] == {"user_id": "7"}
    last = d["candidates"][-1]
    assert (last["path"], last["match"], last["methods"]) == ("/api/users/{user_id}", "full", ["GET"])
    # What the router really tried: on FastAPI >= 0.163 an included router is one
    # entry of the app's routes, then its own routes are tried inside it.
    full = [c for c in d["candidates"] if c["match"] == "full"]
    assert full[-1]["path"] == "/api/users/{user_id}"
    assert all(c["kind"] == "_IncludedRouter" for c in full[:-1])


async def test_404_is_explained_from_the_candidates(traced: Traced) -> None:
    r, events = await traced.request("GET", "/nowhere")
    assert r.status_code == 404
    d = one(events, "routing").detail
    assert d["matched"] is False and d["status"] == 404
    assert all(c["match"] == "none" for c in d["candidates"])
    assert "404" in one(events, "routing").explain
    assert events[-1].detail["status_code"] == 404


async def test_405_is_explained_by_a_partial_match(traced: Traced) -> None:
    r, events = await traced.request("DELETE", "/items/3")
    assert r.status_code == 405
    routing = one(events, "routing")
    assert routing.detail["status"] == 405
    assert any((c["path"], c["match"], c.get("methods")) == ("/items/{item_id}", "partial", ["GET"])
               for c in routing.detail["candidates"])
    assert "405" in routing.explain and "DELETE" in routing.explain
    assert routing.name == "405: path matched, method not allowed"  # not "no route": a route's path matched


async def test_dependencies_setup_cache_and_teardown_after_response(traced: Traced) -> None:
    r, events = await traced.request("GET", "/items/3")
    assert r.status_code == 200
    setups = [e for e in find(events, "dependency") if e.detail.get("phase") == "setup"]
    assert [(e.name, e.kind) for e in setups] == [
        ("get_db", "start"),
        ("get_db", "end"),
        ("get_user", "start"),
        ("get_user", "end"),
    ]
    db_start = setups[0]
    assert db_start.detail["is_generator"] is True and db_start.detail["param"] == "db"
    assert db_start.detail["needed_by"] == "get_user"
    user_start = setups[2]
    assert user_start.detail["param"] == "user" and user_start.detail["is_generator"] is False
    assert setups[3].detail["returned"] == "str"
    cached = [e for e in find(events, "dependency", "point") if e.detail.get("cached")]
    assert [e.name for e in cached] == ["get_db"]
    teardown = [e for e in find(events, "dependency") if e.detail.get("phase") == "teardown"]
    assert [(e.name, e.kind) for e in teardown] == [("get_db", "start"), ("get_db", "end")]
    # On the FastAPI versions we support, cleanup runs after the response is sent.
    assert index(events, "response", "end") < events.index(teardown[0])
    assert "after the response was sent" in teardown[0].explain
    assert LOG[-1] == "db teardown"


async def test_use_cache_false_runs_the_dependency_twice(traced: Traced) -> None:
    r, events = await traced.request("GET", "/fresh")
    assert r.json() == 2
    assert [e.name for e in find(events, "dependency", "start")] == ["get_fresh", "get_fresh"]
    assert not [e for e in find(events, "dependency", "point") if e.detail.get("cached")]
    assert all(e.detail["threadpool"] for e in find(events, "dependency", "start"))


async def test_validation_converts_path_and_query(traced: Traced) -> None:
    _, events = await traced.request("GET", "/items/3", params={"q": "hi"}, headers={"x-user": "ann"})
    item = one(events, "validation", name="item_id")
    assert {k: item.detail[k] for k in ("location", "raw", "value", "ok")} == {
        "location": "path", "raw": "3", "value": 3, "ok": True
    }
    assert "converted" in item.explain and "'3'" in item.explain and "int" in item.explain
    q = one(events, "validation", name="q")
    assert q.detail["location"] == "query" and q.detail["raw"] == "hi"
    header = one(events, "validation", name="x_user")
    assert header.detail["location"] == "header" and header.detail["raw"] == "ann"


async def test_validation_failure_gives_422_before_the_endpoint(traced: Traced) -> None:
    r, events = await traced.request("GET", "/items/abc")
    assert r.status_code == 422
    item = one(events, "validation", name="item_id")
    assert item.detail["ok"] is False
    (err,) = item.detail["errors"]
    assert err["loc"] == ["path", "item_id"] and err["type"] == "int_parsing"
    assert not find(events, "endpoint")
    exc = one(events, "exception")
    assert exc.detail["type"].endswith("RequestValidationError")
    assert exc.detail["handler"] == "request_validation_exception_handler"
    assert exc.detail["status_code"] == 422
    assert index(events, "validation", "point", "item_id") < index(events, "exception", "point")


async def test_body_validation_missing_field(traced: Traced) -> None:
    r, events = await traced.request("POST", "/items", json={"name": "pen"})
    assert r.status_code == 422
    body = one(events, "validation", name="item")
    assert body.detail["location"] == "body" and body.detail["ok"] is False
    assert body.detail["errors"][0]["loc"] == ["body", "price"]
    assert body.detail["errors"][0]["type"] == "missing"


async def test_malformed_json_is_a_422_explained(traced: Traced) -> None:
    r, events = await traced.request(
        "POST", "/items", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    body = one(events, "validation", name="body")
    assert body.detail["errors"][0]["type"] == "json_invalid"
    assert "not valid JSON" in body.explain


async def test_endpoint_async_and_sync(traced: Traced) -> None:
    _, events = await traced.request("GET", "/items/3")
    start = one(events, "endpoint", "start")
    assert start.name.endswith("read_item")
    assert start.detail["is_async"] is True and start.detail["threadpool"] is False
    assert start.detail["file"].endswith("stage_app.py")
    import stage_app

    source = inspect.getsource(stage_app)
    def_line = next(n for n, line in enumerate(source.splitlines(), 1) if "async def read_item(" in line)
    assert start.detail["line"] in (def_line, def_line - 1)  # decorator line or def line
    assert one(events, "endpoint", "end").detail["returned"] == "dict"

    _, events = await traced.request("POST", "/items", json={"name": "pen", "price": 2})
    start = one(events, "endpoint", "start")
    assert start.detail["is_async"] is False and start.detail["threadpool"] is True


async def test_serialization_with_response_model(traced: Traced) -> None:
    r, events = await traced.request("GET", "/items/3")
    assert r.json() == {"name": "item3"}
    start = one(events, "serialization", "start")
    assert start.detail["response_model"] == "ItemOut"
    end = one(events, "serialization", "end")
    assert "secret" not in json.dumps(end.detail["output"])
    assert index(events, "endpoint", "end") < index(events, "serialization", "start") < index(events, "response", "start")


async def test_serialization_skipped_for_a_response(traced: Traced) -> None:
    _, events = await traced.request("GET", "/plain")
    skipped = one(events, "serialization")
    assert skipped.kind == "point" and skipped.detail["skipped"] is True
    assert skipped.detail["response_class"] == "PlainTextResponse"


async def test_response_start_and_end(traced: Traced) -> None:
    r, events = await traced.request("GET", "/items/3")
    start = one(events, "response", "start")
    assert start.detail["status_code"] == 200
    assert ["content-type", "application/json"] in start.detail["headers"]
    end = one(events, "response", "end")
    assert end.detail["bytes"] == len(r.content)
    assert end.detail["chunks"] == 2  # BaseHTTPMiddleware re-streams: the body, then an empty last chunk


async def test_streaming_counts_every_chunk(traced: Traced) -> None:
    r, events = await traced.request("GET", "/stream")
    assert r.text == "chunk0\nchunk1\nchunk2\n"
    end = one(events, "response", "end")
    assert end.detail["bytes"] == len(r.content)
    assert end.detail["chunks"] == 4  # three chunks and the empty closing one
    assert len(find(events, "response", "point")) == 3


async def test_background_task_runs_after_response(traced: Traced) -> None:
    _, events = await traced.request("GET", "/items/3")
    start = one(events, "background", "start", "audit")
    assert start.detail["threadpool"] is True
    assert index(events, "response", "end") < index(events, "background", "start")
    assert index(events, "background", "end") < len(events) - 1
    assert "audit item 3" in LOG


async def test_http_exception_418_is_handled(traced: Traced) -> None:
    r, events = await traced.request("POST", "/items", json={"name": "pen", "price": -1})
    assert r.status_code == 418
    assert one(events, "endpoint", "end").detail["raised"].endswith("HTTPException")
    exc = one(events, "exception")
    assert exc.detail["status_code"] == 418 and exc.detail["handler"] == "http_exception_handler"
    assert exc.detail["message"]


async def test_custom_exception_handler(traced: Traced) -> None:
    r, events = await traced.request("GET", "/teapot")
    assert r.status_code == 418
    exc = one(events, "exception")
    assert exc.name == "Teapot" and exc.detail["handler"].endswith("teapot_handler")
    assert exc.detail["status_code"] == 418 and exc.detail["handled"] is True


async def test_unhandled_error_becomes_500_in_server_error_middleware(traced: Traced) -> None:
    traced.client._transport = type(traced.client._transport)(app=traced.app, raise_app_exceptions=False)
    r, events = await traced.request("GET", "/boom")
    assert r.status_code == 500
    exc = one(events, "exception")
    assert exc.name == "RuntimeError" and exc.detail["handler"] is None
    # Reported as it reaches ServerErrorMiddleware, before any answer: no status is claimed yet.
    assert exc.detail["status_code"] is None and exc.detail["handled"] is False
    assert "ServerErrorMiddleware" in exc.explain and "500" not in exc.explain
    assert one(events, "response", "start").detail["status_code"] == 500
    assert index(events, "exception", "point") < index(events, "response", "start")
    assert events[-1].detail["status_code"] == 500


async def test_unhandled_error_propagates_unchanged(traced: Traced) -> None:
    with pytest.raises(RuntimeError, match="kaboom"):
        await traced.client.get("/boom")
    (events,) = traced.rec.by_request().values()
    assert events[-1].stage == "request" and events[-1].detail["raised"] == "RuntimeError"


async def test_http_exception_in_middleware_is_not_handled(traced: Traced) -> None:
    traced.client._transport = type(traced.client._transport)(app=traced.app, raise_app_exceptions=False)
    r, events = await traced.request("GET", "/middleware-raises")
    assert r.status_code == 500
    exc = one(events, "exception")
    assert exc.name == "HTTPException" and exc.detail["handler"] is None and exc.detail["handled"] is False
    assert "No exception handler took HTTPException" in exc.explain
    assert one(events, "response", "start").detail["status_code"] == 500


async def test_websocket_events(traced: Traced) -> None:
    sent = await websocket_session(traced.app, "/ws", ["hi"])
    assert [m.get("text") for m in sent if m["type"] == "websocket.send"] == ["echo hi"]
    (events,) = traced.rec.by_request().values()
    assert_well_formed(events)
    names = [e.name for e in find(events, "websocket")]
    assert names == ["connect", "accept", "receive", "send", "close"]
    assert one(events, "websocket", name="receive").detail["text"] == "hi"
    assert events[-1].detail["close_code"] == 1000
    assert one(events, "routing").detail["route"] == "/ws"


async def test_a_raising_sink_never_breaks_the_request(caplog: pytest.LogCaptureFixture) -> None:
    class Boom:
        calls = 0

        def emit(self, event: object) -> None:
            Boom.calls += 1
            raise RuntimeError("sink down")

    t = Traced(make_app())
    t.tracer.add_sink(Boom())
    with caplog.at_level(logging.WARNING, logger="lifecycle_tracer"):
        for _ in range(3):
            r, events = await t.request("GET", "/items/3")
            assert r.status_code == 200 and r.json() == {"name": "item3"}
    assert Boom.calls == 3 * len(events)
    assert len([r for r in caplog.records if "sink Boom" in r.getMessage()]) == 1
    await t.aclose()


async def test_a_fault_inside_the_tracer_is_logged_and_swallowed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from lifecycle_tracer.instrument import routing as _routes

    def broken(*args: object) -> None:
        raise ValueError("tracer bug")

    monkeypatch.setattr(_routes.RoutingObservation, "_detail", broken)
    t = Traced(make_app())
    with caplog.at_level(logging.WARNING, logger="lifecycle_tracer"):
        r, events = await t.request("GET", "/items/3")
    assert r.status_code == 200
    assert not find(events, "routing")
    assert any("routing" in rec.getMessage() for rec in caplog.records)
    await t.aclose()


class Login(BaseModel):
    username: str
    password: str


async def test_secret_looking_body_fields_are_redacted() -> None:
    app = FastAPI()

    @app.post("/login")
    async def login(body: Login) -> dict[str, str]:
        return {"access_token": "tok-" + body.password, "token_type": "bearer"}

    t = Traced(app)
    r, events = await t.request("POST", "/login", json={"username": "ann", "password": "hunter2"})
    assert r.json()["access_token"] == "tok-hunter2"
    dumped = json.dumps([e.to_dict() for e in events])
    assert "hunter2" not in dumped
    assert one(events, "validation").detail["raw"] == {"username": "ann", "password": "[redacted]"}
    await t.aclose()
