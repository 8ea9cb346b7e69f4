"""The composer: prefilled from the selected request, the app's routes to pick from, JSON checked as typed,
F5 sending from the body box, and WebSocket messages."""

from __future__ import annotations

import pytest
from test_tui import fire, lesson_app, running, shown, wait_for
from textual.widgets import Input, Select, TextArea

from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.composer import Composer, route_choices
from lifecycle_tracer.tui.controllers import LessonController

pytestmark = pytest.mark.anyio


async def test_the_composer_opens_on_the_selected_request_and_sends_an_edit_with_f5() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        await fire(pilot)  # GET /hello/Ada?excited=true
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, Composer), "the composer")
        screen = app.screen
        assert screen.query_one("#method", Select).value == "GET"
        assert screen.query_one("#path", Input).value == "/hello/Ada"
        assert screen.query_one("#query", Input).value == "excited=true"
        assert "host:" not in screen.query_one("#headers", TextArea).text.lower()
        screen.query_one("#query", Input).value = "excited=maybe"
        screen.query_one("#body", TextArea).focus()
        before = len(app.store.order)
        await pilot.press("f5")  # sends even with the body box focused
        await wait_for(pilot, lambda: not isinstance(app.screen, Composer), "the composer to send")
        await wait_for(pilot, lambda: len(app.store.order) > before and app.store.get(app.store.order[-1]).done,
                       "the edited request")
        view = app.store.get(app.store.order[-1])
        assert view.status == 422 and "excited=maybe" in view.events[0].detail["query_string"]
        await pilot.press("q")


async def test_routes_fill_method_and_path_and_json_is_checked_as_typed() -> None:
    app = TracerApp(LessonController(load(find("lesson4"))))
    async with running(app) as pilot:
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, Composer), "the composer")
        screen = app.screen
        routes = screen.routes
        post = next(mp for mp in routes if mp[0] == "POST")
        assert routes[-1][1] in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")  # docs last
        screen.query_one("#route", Select).value = post
        await wait_for(pilot, lambda: screen.query_one("#path", Input).value == post[1], "the route to fill the path")
        assert screen.query_one("#method", Select).value == "POST"
        body = screen.query_one("#body", TextArea)
        body.text = '{"name": "pen",'
        await wait_for(pilot, lambda: "not valid JSON" in shown(app, "#json-state"), "the JSON warning")
        assert "line 1" in shown(app, "#json-state") and "sent as is" in shown(app, "#json-state")
        body.text = '{"name": "pen"}'
        await wait_for(pilot, lambda: "✓ valid JSON" in shown(app, "#json-state"), "the JSON to be valid")
        await pilot.press("escape")
        await pilot.press("q")


async def test_a_websocket_is_composed_with_one_message_per_line() -> None:
    loaded = load(find("lesson12"))
    ws_path = next(path for method, path in route_choices(loaded.app) if method == "WEBSOCKET")
    app = TracerApp(LessonController(loaded))
    async with running(app) as pilot:
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, Composer), "the composer")
        screen = app.screen
        screen.query_one("#method", Select).value = "WEBSOCKET"
        screen.query_one("#path", Input).value = ws_path
        screen.query_one("#body", TextArea).text = "one\ntwo\n"
        request = screen.build()
        assert request.method == "WEBSOCKET" and list(request.send) == ["one", "two"] and request.path == ws_path
        await pilot.press("escape")
        await pilot.press("q")


def test_route_choices_flatten_included_routers_and_mounts() -> None:
    from fastapi import APIRouter, FastAPI

    app, router, sub = FastAPI(), APIRouter(prefix="/admin"), FastAPI()

    @router.get("/stats")
    def stats() -> None: ...

    @sub.get("/ping")
    def ping() -> None: ...

    @app.websocket("/ws")
    async def ws(websocket) -> None: ...  # type: ignore[no-untyped-def]

    app.include_router(router, prefix="/v1")
    app.mount("/sub", sub)
    found = route_choices(app)
    assert ("GET", "/v1/admin/stats") in found and ("WEBSOCKET", "/ws") in found
    assert ("GET", "/sub/ping") in found and not any(m == "HEAD" for m, _ in found)
