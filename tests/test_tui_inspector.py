"""The inspector (i), marking (m) and comparing (d) two requests, and the facts they read.

Three new facts are recorded for them, each checked here against what really
happened: each middleware layer's ``response_change`` (checked against raw
ASGI middlewares whose every change is known), the response end's
``preview`` of the body (checked against the bytes the client received),
and an unhandled exception's ``frames`` (checked against the source lines).
The apps run under real uvicorn on 127.0.0.1; the TUI tests drive the real
lessons 2, 6 and 9 with Pilot at 100x30 and 160x48.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, File, Form, UploadFile, WebSocket, WebSocketException
from fastapi.responses import Response, StreamingResponse
from helpers import Traced
from test_tui import fire, plain, record_notifications, wait_for
from textual.widgets import Tab

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.instrument.received import BODY_PREVIEW_BYTES
from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.sinks import read_jsonl
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import LessonController, ReplayController
from lifecycle_tracer.tui.inspect_actions import CompareScreen, InspectorScreen

WAIT = 10.0
SIZES = [(100, 30), (160, 48)]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("LIFECYCLE_TRACER_HOME", str(folder))
    return folder


# -- an app whose every layer's change is known ------------------------------------


class AddHeader:
    """Adds ``x-added: yes`` to every response start it passes on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def added(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-added", b"yes")]}
            await send(message)

        await self.app(scope, receive, added if scope["type"] == "http" else send)


class Rewrite:
    """Changes the value of ``x-kept``, drops ``x-drop`` and turns a 201 into a 202."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def rewritten(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, b"rewritten" if n == b"x-kept" else v) for n, v in message["headers"] if n != b"x-drop"]
                status = 202 if message["status"] == 201 else message["status"]
                message = {**message, "status": status, "headers": headers}
            await send(message)

        await self.app(scope, receive, rewritten if scope["type"] == "http" else send)


class Answer:
    """Answers ``/answered`` itself, without calling the layers inside it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/answered":
            await send({"type": "http.response.start", "status": 203, "headers": [(b"x-answer", b"1")]})
            await send({"type": "http.response.body", "body": b"answered"})
            return
        await self.app(scope, receive, send)


def fail_deeper(count: int) -> float:
    return 10 / count


def layered_app() -> FastAPI:
    app = FastAPI()

    @app.get("/made")
    async def made() -> Response:
        return Response("made", status_code=201, headers={"x-kept": "original", "x-drop": "1"})

    @app.get("/big")
    async def big() -> Response:
        return Response("x" + "é" * 6000, media_type="text/plain")  # 12,001 bytes: more than is kept

    @app.get("/binary")
    async def binary() -> Response:
        return Response(bytes(range(256)) * 4, media_type="application/octet-stream")

    @app.get("/secret")
    async def secret() -> dict[str, str]:
        return {"user": "ada", "token": "tok-4f9a-planted-secret"}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def parts() -> Any:
            for word in ("one ", "two ", "three"):
                yield word

        return StreamingResponse(parts(), media_type="text/plain")

    @app.get("/boom")
    async def boom(count: int = 0) -> float:
        return fail_deeper(count)

    # add_middleware puts the last added outermost: AddHeader, then Rewrite, then Answer.
    app.add_middleware(Answer)
    app.add_middleware(Rewrite)
    app.add_middleware(AddHeader)
    return app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[dict[str, httpx.Response], dict[str, list[TraceEvent]]]]:
    app = layered_app()
    rec = Recorder()
    instrument(app, sink=rec)
    responses = {}
    with ServerThread(app, log_level="critical") as server, httpx.Client(base_url=server.url, timeout=WAIT) as client:
        for path in ("/made", "/answered", "/big", "/binary", "/secret", "/stream", "/boom"):
            responses[path] = client.get(path)
        assert rec.wait_for(lambda _: len(rec.completed()) >= len(responses), timeout=WAIT)
    by_path = {evs[0].detail["path"]: evs for evs in rec.by_request().values() if evs[0].detail.get("type") == "http"}
    yield responses, by_path


def changes(events: list[TraceEvent]) -> dict[str, Any]:
    return {e.name: e.detail.get("response_change") for e in events if e.stage == "middleware" and e.kind == "end"}


def test_each_layer_reports_what_it_did_to_the_response(served: Any) -> None:
    responses, by_path = served
    assert responses["/made"].status_code == 202
    assert responses["/made"].headers["x-kept"] == "rewritten" and "x-drop" not in responses["/made"].headers
    made = changes(by_path["/made"])
    assert made["AddHeader"] == {"status": 202, "inside_status": 202, "added": ["x-added"], "changed": [],
                                 "removed": []}
    assert made["Rewrite"] == {"status": 202, "inside_status": 201, "added": [], "changed": ["x-kept"],
                               "removed": ["x-drop"]}
    assert made["Answer"] == {"status": 201, "inside_status": 201, "added": [], "changed": [], "removed": []}
    # A header value is never recorded in a layer's change: only names.
    assert "rewritten" not in json.dumps(made) and "original" not in json.dumps(made)

    answered = changes(by_path["/answered"])
    assert responses["/answered"].status_code == 203
    assert answered["Answer"] == {"status": 203, "inside_status": None, "added": ["x-answer"], "changed": [],
                                  "removed": []}
    assert "ExceptionMiddleware" not in answered  # the layers inside it never ran


def test_the_response_end_keeps_the_body_the_client_got(served: Any) -> None:
    responses, by_path = served

    def end(path: str) -> dict[str, Any]:
        return next(e.detail for e in by_path[path] if e.stage == "response" and e.kind == "end")

    assert end("/made")["preview"] == responses["/made"].text == "made" and end("/made")["preview_cut"] is False
    assert end("/stream")["preview"] == responses["/stream"].text == "one two three"
    big = end("/big")
    assert big["bytes"] == len(responses["/big"].content) == 12001 and big["preview_cut"] is True
    # 4096 bytes end inside a two-byte character: the kept text stops before it.
    assert big["preview"] == responses["/big"].content[: BODY_PREVIEW_BYTES - 1].decode()
    assert end("/binary") == {**end("/binary"), "binary": True} and "preview" not in end("/binary")
    secret = end("/secret")
    assert json.loads(secret["preview"]) == {"user": "ada", "token": "[redacted]"}
    assert responses["/secret"].json()["token"] == "tok-4f9a-planted-secret"  # the client got it; the trace did not
    assert "planted-secret" not in json.dumps([e.detail for e in by_path["/secret"]])


def test_an_unhandled_exception_records_where_it_came_from(served: Any) -> None:
    responses, by_path = served
    assert responses["/boom"].status_code == 500
    point = next(e for e in by_path["/boom"] if e.stage == "exception")
    frames = point.detail["frames"]
    lines, first = inspect.getsourcelines(fail_deeper)
    raise_line = first + next(i for i, line in enumerate(lines) if "10 / count" in line)
    assert frames[-1] == [__file__, raise_line, "fail_deeper"]
    assert frames[-2][0] == __file__ and frames[-2][2] == "boom"


# -- the inspector in the TUI --------------------------------------------------------


def section(app: TracerApp, key: str) -> str:
    screen = app.screen
    assert isinstance(screen, InspectorScreen)
    return plain(screen.section_text(key))


def line_with(text: str, *parts: str) -> str:
    found = [line for line in text.splitlines() if all(p in line for p in parts)]
    assert found, f"no line with {parts} in:\n{text}"
    return found[0]


async def fire_step(pilot: Any, app: TracerApp) -> None:
    await fire(pilot, "enter")
    await wait_for(pilot, lambda: app.store.get(app.selected) is not None and app.store.get(app.selected).done,
                   "the request to finish")


async def until_started(pilot: Any, app: TracerApp) -> None:
    await wait_for(pilot, lambda: app.ready, "the app's server to start")


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES, ids=["100x30", "160x48"])
async def test_inspector_shows_what_each_middleware_added(size: tuple[int, int]) -> None:
    app = TracerApp(LessonController(load(find("lesson6"))))
    async with app.run_test(size=size) as pilot:
        await until_started(pilot, app)
        await pilot.press("n")  # step 2: the shop's page sends an Origin
        await fire_step(pilot, app)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectorScreen), "the inspector")
        request = section(app, "request")
        assert "origin" in line_with(request, "origin", "https://shop.example")
        response = section(app, "response")
        assert "CORSMiddleware" in line_with(response, "access-control-allow-origin", "https://shop.example")
        assert "add_process_time_header" in line_with(response, "x-process-time")
        assert "the router" in line_with(response, "content-type", "application/json")
        layers = section(app, "layers")
        assert "added access-control-allow-origin, vary" in line_with(layers, "CORSMiddleware")
        assert "added x-request-id" in line_with(layers, "RequestIDMiddleware")
        assert "—" in line_with(layers, "ServerErrorMiddleware")
        assert '"item_id": 2' in response  # pretty-printed JSON
        await pilot.press("3")
        assert app.screen.query_one("TabbedContent").active == "tab-layers"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, InspectorScreen), "the inspector to close")


@pytest.mark.anyio
@pytest.mark.parametrize("size", SIZES, ids=["100x30", "160x48"])
async def test_compare_a_200_and_a_422_stage_by_stage(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    app = TracerApp(LessonController(load(find("lesson2"))))
    said = record_notifications(app, monkeypatch)
    async with app.run_test(size=size) as pilot:
        await until_started(pilot, app)
        await pilot.press("d")
        assert "Press m on a request to mark it first" in said[-1]
        await fire_step(pilot, app)
        ok_id = app.selected
        await pilot.press("m")
        assert app.marked == ok_id and "marked" in said[-1]
        await pilot.press("d")
        assert "That is the marked request" in said[-1]
        await pilot.press("n")
        await fire_step(pilot, app)
        assert app.selected != ok_id
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "the comparison")
        screen = app.screen
        await wait_for(pilot, lambda: "status" in plain(screen.query_one("#compare-table").content), "the table")
        table = plain(screen.query_one("#compare-table").content)  # type: ignore[attr-defined]
        status = line_with(table, "status", "200", "422")
        assert status.startswith("≠") and status.index("200") < status.index("422")  # marked one on the left
        assert not line_with(table, "route").startswith("≠")  # the same route for both
        assert line_with(table, "validation", "FAILED").startswith("≠")
        assert "path.item_id: Input should be a" in table  # the column wraps the rest
        assert line_with(table, "content-length", "56").startswith("≠")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), "the comparison to close")
        app.selected = ok_id
        await pilot.press("m")  # m again on the marked one unmarks it
        assert app.marked is None and "no longer marked" in said[-1]


@pytest.mark.anyio
async def test_a_failed_request_shows_its_traceback() -> None:
    app = TracerApp(LessonController(load(find("lesson9"))))
    async with app.run_test(size=(100, 30)) as pilot:
        await until_started(pilot, app)
        await pilot.press("n", "n")  # step 3: GET /stats/average?count=0
        await fire_step(pilot, app)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectorScreen), "the inspector")
        error = section(app, "error")
        source = (REPO / "lessons" / "lesson09_errors.py").read_text().splitlines()
        line = next(i for i, text in enumerate(source, 1) if "total / count" in text)
        assert "ZeroDivisionError: division by zero" in error
        assert f"lessons/lesson09_errors.py:{line} in average" in error
        assert "total / count" in error  # the line of code itself
        assert "no handler took it" in error
        assert "5 Error ✗" in [str(tab.label) for tab in app.screen.query(Tab)]


async def replayed(events: list[TraceEvent], size: tuple[int, int] = (100, 30)) -> tuple[TracerApp, dict[str, str]]:
    app = TracerApp(ReplayController(events, title="inspector"))
    async with app.run_test(size=size) as pilot:
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectorScreen), "the inspector")
        texts = {key: section(app, key) for key in ("request", "response", "layers", "trace", "error")}
        texts["title"] = plain(app.screen.query_one("#inspector-title").content)  # type: ignore[attr-defined]
    return app, texts


@pytest.mark.anyio
async def test_secrets_stay_hidden_and_request_data_is_shown_as_text() -> None:
    app = FastAPI()

    @app.post("/login/{name}")
    async def login(name: str, body: dict[str, str]) -> dict[str, str]:
        return {"name": name, "session_token": "sess-" + body["password"]}

    traced = Traced(app)
    try:
        _, events = await traced.request("POST", "/login/%1B[2Jada", params={"api_key": "key-planted-1"},
                                         headers={"Authorization": "Bearer hdr-planted-2"},
                                         json={"user": "ada", "password": "pw-planted-3"})
    finally:
        await traced.aclose()
    _, texts = await replayed(events)
    everything = "\n".join(texts.values())
    for planted in ("planted-1", "planted-2", "planted-3"):
        assert planted not in everything
    assert "[redacted]" in line_with(texts["request"], "authorization")
    assert "[redacted]" in line_with(texts["request"], "api_key")
    assert '"password": "[redacted]"' in texts["request"]  # the body, as the body parameter read it
    assert '"session_token": "[redacted]"' in texts["response"]
    assert "\\x1b[2Jada" in texts["title"] and "\x1b" not in everything


@pytest.mark.anyio
async def test_a_cut_body_says_so() -> None:
    app = FastAPI()

    @app.get("/many")
    async def many() -> list[int]:
        return list(range(3000))

    traced = Traced(app)
    try:
        response, events = await traced.request("GET", "/many")
    finally:
        await traced.aclose()
    _, texts = await replayed(events)
    assert f"of {len(response.content)} bytes" in line_with(texts["response"], "CUT: only the start is shown")


@pytest.mark.anyio
async def test_an_old_recording_says_what_it_does_not_hold() -> None:
    """A recording made before the body and per-layer facts existed: the committed one, without them."""
    newer = ("preview", "preview_cut", "binary", "response_change", "frames", "frames_left_out")
    events = [TraceEvent.from_dict({**e.to_dict(), "detail": {k: v for k, v in e.detail.items() if k not in newer}})
              for e in read_jsonl(REPO / "tests" / "fixtures" / "lesson1_fixed_clock.jsonl") if e.request_id == "r1"]
    _, texts = await replayed(events, size=(160, 48))
    assert "The events hold no copy of the body." in texts["response"]
    assert "no per-layer response headers" in texts["layers"]
    assert "excited" in line_with(texts["request"], "excited", "true")  # the query, decoded into a table
    assert "No exception was raised" in texts["error"]


def test_every_secret_name_contains_a_hint_the_body_preview_looks_for() -> None:
    """A body with no hint word skips the secret search: that is safe only if every secret name has one."""
    from lifecycle_tracer.instrument.received import SECRET_HINTS
    from lifecycle_tracer.redaction.names import SECRET_PAIRS, SECRET_PARTS, SECRET_WORDS

    names = [*SECRET_WORDS, *SECRET_PARTS, *(f"{a}_{b}" for a, b in SECRET_PAIRS), "x_key", "subscription-key"]
    assert [n for n in names if not any(h in n.lower() for h in SECRET_HINTS)] == []


@pytest.mark.anyio
async def test_the_inspector_says_what_a_form_and_a_refused_websocket_really_were() -> None:
    from fastapi import FastAPI
    from helpers import Traced
    from rich.console import Console

    from lifecycle_tracer.tui.inspector_view import request_section, response_section

    app = FastAPI()

    @app.post("/upload")
    async def upload(image: UploadFile = File(...), caption: str = Form(...)) -> dict[str, str]:
        return {"caption": caption}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        raise WebSocketException(code=1008)

    def text(renderable: object) -> str:
        console = Console(width=200, record=True)
        console.print(renderable)
        return console.export_text()

    traced = Traced(app)
    try:
        response, events = await traced.request("POST", "/upload", files={"image": ("a.png", b"\x89PNG")},
                                                data={"caption": "a cat"})
        assert response.status_code == 200
        shown = text(request_section(events))
        assert "no body or form parameter read them" not in shown
        assert "field caption, as sent (read by the form parser; the body itself is not kept)" in shown
        assert "a cat" in shown
    finally:
        await traced.aclose()

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from lifecycle_tracer import Recorder, instrument
    from lifecycle_tracer.server import ServerThread

    rec = Recorder()
    app2 = FastAPI()
    app2.router.routes.extend(app.router.routes)
    instrument(app2, sink=rec)
    with ServerThread(app2, log_level="critical") as server:
        with pytest.raises(InvalidStatus):  # refused before accept: the handshake fails
            connect(server.url.replace("http", "ws") + "/ws").close()
        assert rec.wait_for(lambda _: rec.completed_count() >= 1, timeout=20)
    (events,) = [evs for evs in rec.by_request().values() if evs[0].detail.get("type") == "websocket"]
    shown = text(response_section(events))
    assert "A WebSocket gets no HTTP response from the app" in shown and "no response was sent" not in shown
