"""The pipeline picture and the waterfall: every label true to the events, and the picture fits the screen.

The label tests serve one small FastAPI app, traced, in-process, and read
the pipeline for each context as a table: HTTP and WebSocket, a dependency
raising HTTPException 401, malformed JSON on a route that declares a
dependency, a middleware that answers by itself, a 500. The Pilot tests run
the real lessons at 100x30 and 160x48.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Cookie, Depends, FastAPI, Header, HTTPException, Request, WebSocket, WebSocketException
from fastapi.responses import PlainTextResponse
from helpers import Traced, websocket_session
from pydantic import BaseModel
from rich.text import Text
from test_tui import fire, plain, shown, status_bar, wait_for
from textual.pilot import Pilot

from lifecycle_tracer.course.loader import find, load
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import LessonController
from lifecycle_tracer.tui.legend import LEGEND_MARKS
from lifecycle_tracer.tui.model import (
    ACTIVE,
    DONE,
    FAILED,
    PENDING,
    SKIPPED,
    STOPPED,
    event_position,
    layer_label,
    outcome,
    pipeline,
)
from lifecycle_tracer.tui.panes import DetailPane, Pipeline, Waterfall
from lifecycle_tracer.tui.picture import BAR_STYLE, FAILED_BAR, legend_lines, pipeline_picture, waterfall_table
from lifecycle_tracer.tui.screens import HelpScreen

pytestmark = pytest.mark.anyio


# -- one app with every context ----------------------------------------------------------------


class Item(BaseModel):
    name: str


# Dependencies at module level: the annotations (strings, with the __future__ import) are read from here.
def get_db() -> Any:
    yield "db"


def require_token(db: Annotated[str, Depends(get_db)], x_token: Annotated[str | None, Header()] = None) -> str:
    if x_token != "secret":
        raise HTTPException(401, "a token is needed")
    return "ada"


def audit() -> str:
    return "audited"


async def ws_user(websocket: WebSocket, session: Annotated[str | None, Cookie()] = None) -> str:
    if not session:
        raise WebSocketException(code=1008, reason="log in first")
    return session


async def refuse_teapots(request: Request, call_next: Any) -> Any:
    if request.url.path == "/teapot":
        return PlainTextResponse("I'm a teapot", status_code=418)
    return await call_next(request)


def make_app() -> FastAPI:
    app = FastAPI()
    app.middleware("http")(refuse_teapots)

    @app.get("/hello/{name}")
    async def hello(name: str) -> dict[str, str]:
        return {"hello": name}

    @app.get("/me")
    async def me(user: Annotated[str, Depends(require_token)]) -> dict[str, str]:
        return {"user": user}

    @app.post("/items")
    async def create(item: Item, who: Annotated[str, Depends(audit)]) -> dict[str, str]:
        return {"name": item.name, "who": who}

    @app.get("/search")
    async def search(q: str, limit: int = 10) -> dict[str, str]:
        return {"q": q}

    @app.get("/boom")
    async def boom() -> float:
        return 1 / 0

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, user: Annotated[str, Depends(ws_user)]) -> None:
        await websocket.accept()

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    return app


JSON = {"content-type": "application/json"}
# name: (how to send it, {stage key or layer label: (state, words the note holds)}, words no label may hold)
CASES: dict[str, tuple[Any, dict[str, tuple[str, str]], tuple[str, ...]]] = {
    "http": (("GET", "/hello/Ada", {}), {
        "routing": (DONE, "matched /hello/{name}"), "dependencies": (SKIPPED, "none declared"),
        "validation": (DONE, "1 value valid"), "endpoint": (DONE, "hello returned dict"),
        "serialization": (DONE, ""), "response": (DONE, "200 · 15 bytes"), "refuse_teapots": (DONE, ""),
    }, ("FAILED",)),
    "dependency raises 401": (("GET", "/me", {}), {
        "dependencies": (FAILED, "require_token raised HTTPException → 401 · torn down: get_db"),
        # x_token (require_token's own header) was checked; the endpoint's parameters never were.
        "validation": (STOPPED, "require_token raised HTTPException (1 value checked)"),
        "endpoint": (SKIPPED, "not reached: require_token raised HTTPException"),
        "response": (DONE, "401 ·"),
    }, ("none declared",)),
    "a required query parameter not sent, another invalid": (("GET", "/search", {"params": {"limit": "many"}}), {
        "validation": (FAILED, "q missing, limit invalid → 422"),
    }, ("q invalid",)),
    "body ok on the route with a dependency": (("POST", "/items", {"json": {"name": "pen"}}), {
        "dependencies": (DONE, "audit"), "validation": (DONE, "1 value valid"), "endpoint": (DONE, "create returned"),
    }, ()),
    "malformed JSON on the route with a dependency": (("POST", "/items", {"content": '{"name": ', "headers": JSON}), {
        # FastAPI reads the body before it solves dependencies: they did not run, and the route does declare one.
        "dependencies": (SKIPPED, "not reached: the body was not valid JSON"),
        "validation": (FAILED, "the body is not valid JSON → 422"),
        "endpoint": (SKIPPED, "not reached: the body was not valid JSON"),
        "response": (DONE, "422 ·"),
    }, ("none declared",)),
    "a middleware answers by itself": (("GET", "/teapot", {}), {
        "refuse_teapots": (DONE, "answered by itself"),
        "routing": (SKIPPED, "not reached: refuse_teapots answered by itself"),
        "endpoint": (SKIPPED, "not reached: refuse_teapots answered by itself"),
        "response": (DONE, "418 · 12 bytes"),
    }, ("none declared", "no parameters")),
    "a 500": (("GET", "/boom", {}), {
        "ServerErrorMiddleware": (DONE, "caught ZeroDivisionError → 500"),
        # its code after call_next never ran
        "refuse_teapots": (STOPPED, "ZeroDivisionError passed through"),
        "endpoint": (FAILED, "boom raised ZeroDivisionError"),
        "serialization": (SKIPPED, "not reached: boom raised ZeroDivisionError"),
        "response": (DONE, "bytes, a server error"),  # it was sent: the request failed, not the response
    }, ()),
    "websocket": (("WS", "/echo", ["hi"]), {
        "dependencies": (SKIPPED, "none declared"),
        "endpoint": (DONE, "echo: 1 in, 1 out, closed 1000 by the app"),
        "serialization": (SKIPPED, "a WebSocket sends messages"),
        "response": (SKIPPED, "a WebSocket has no HTTP response"),
    }, ("FAILED",)),
    "websocket closed before the endpoint ran": (("WS", "/ws", []), {
        "dependencies": (FAILED, "ws_user raised WebSocketException → closed 1008"),
        "endpoint": (SKIPPED, "not reached: ws_user raised WebSocketException"),
    }, ("none declared",)),
}
OUTCOMES = {
    "http": (DONE, "200 in "), "a 500": (FAILED, "500 in "), "websocket": (DONE, "WebSocket closed 1000 by the app"),
    "websocket closed before the endpoint ran": (FAILED, "WebSocket refused → 403"),
}


@pytest.fixture(scope="module")
def traces() -> dict[str, list[TraceEvent]]:
    """Each case's events, from the real app (one traced app for every case)."""
    import anyio

    async def collect() -> dict[str, list[TraceEvent]]:
        app = make_app()
        t = Traced(app)
        # A 500 is the answer to read, not an error of the test: the client gets it as a response.
        t.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://testserver")
        out = {}
        for name, ((method, path, kw), _, _) in CASES.items():
            if method == "WS":
                before = set(t.rec.by_request())
                await websocket_session(app, path, kw)
                (rid,) = [r for r in t.rec.by_request() if r not in before]
                out[name] = t.rec.by_request()[rid]
            else:
                _, out[name] = await t.request(method, path, **kw)
        await t.aclose()
        return out

    return anyio.run(collect)


def chips_by_label(events: list[TraceEvent]) -> dict[str, Any]:
    return {c.label: c for c in pipeline(events)}


@pytest.mark.parametrize("case", list(CASES))
def test_every_label_is_what_the_events_say(case: str, traces: dict[str, list[TraceEvent]]) -> None:
    _, expected, never = CASES[case]
    chips = chips_by_label(traces[case])
    for label, (state, words) in expected.items():
        chip = chips[label]
        assert (chip.state, words in chip.note) == (state, True), (case, label, chip)
    for chip in chips.values():
        assert chip.state not in (PENDING, ACTIVE), (case, chip)  # the request is over: nothing waits or runs
        for words in never:
            assert words not in chip.note and not (words == "FAILED" and chip.state == FAILED), (case, chip)
    if case in OUTCOMES:
        state, words = outcome(traces[case])
        assert state == OUTCOMES[case][0] and OUTCOMES[case][1] in words, (case, state, words)


def test_a_function_middleware_has_one_name_in_pipeline_and_waterfall(traces: dict[str, list[TraceEvent]]) -> None:
    events = traces["http"]
    start = next(e for e in events if e.stage == "middleware" and e.detail.get("function") == "refuse_teapots")
    assert start.name == "BaseHTTPMiddleware" and layer_label(start) == ("refuse_teapots", "BaseHTTPMiddleware")
    picture = plain(pipeline_picture(events, "r1: GET /hello/Ada", 120))
    waterfall = plain(waterfall_table(events, len(events) - 1, 120))
    for text in (picture, waterfall):
        assert "refuse_teapots (BaseHTTPMiddleware)" in text, text
        assert not any(line.lstrip("│┌ ✓").startswith("BaseHTTPMiddleware") for line in text.splitlines()), text


def test_while_under_way_the_current_stage_is_marked_and_nothing_is_guessed(
        traces: dict[str, list[TraceEvent]]) -> None:
    events = traces["dependency raises 401"]
    upto = next(i for i, e in enumerate(events) if e.stage == "dependency" and e.name == "require_token")
    chips = chips_by_label(events[: upto + 1])
    assert [c.label for c in chips.values() if c.current] == ["dependencies"]
    assert chips["dependencies"].state == ACTIVE and chips["endpoint"].state == PENDING
    assert outcome(events[: upto + 1]) == (PENDING, "waiting for the response")
    # Once FastAPI calls the endpoint, every dependency has been solved: none ran means none declared.
    ok = traces["http"]
    at_endpoint = next(i for i, e in enumerate(ok) if e.stage == "endpoint")
    chips = chips_by_label(ok[: at_endpoint + 1])
    assert chips["dependencies"].state == SKIPPED and chips["dependencies"].note == "none declared"
    assert chips["endpoint"].state == ACTIVE and chips["endpoint"].current
    row = next(line for line in pipeline_picture(ok[: at_endpoint + 1], "r", 80).split() if "endpoint" in line.plain)
    assert any("reverse" in str(span.style) for span in row.spans), row.spans
    # A layer on the way in says so.
    first_layer = next(i for i, e in enumerate(ok) if e.stage == "middleware")
    assert "▼ ◉ ServerErrorMiddleware" in plain(pipeline_picture(ok[: first_layer + 1], "r", 80))


@pytest.mark.parametrize("width", [34, 56, 96])
@pytest.mark.parametrize("case", ["a 500", "dependency raises 401", "malformed JSON on the route with a dependency"])
def test_the_picture_fits_its_width_and_never_cuts_what_failed(
        case: str, width: int, traces: dict[str, list[TraceEvent]]) -> None:
    events = traces[case]
    text = pipeline_picture(events, "r9: GET /a/rather/long/path/for/the/title", width, legend=True)
    lines = text.split()
    assert all(line.cell_len <= width for line in lines), [line.plain for line in lines if line.cell_len > width]
    flat = " ".join(line.plain.lstrip("│┌└┴ ") for line in lines)
    for chip in pipeline(events):
        if chip.state == FAILED:  # its words may wrap under it, but all of them are there
            assert " ".join(chip.note.split()) in " ".join(flat.split()), (chip, flat)
    assert lines[-len(legend_lines(width))].plain.startswith(("✓ done", "✓done"))
    assert len(legend_lines(width)) <= 2 and "".join(legend_lines(400)) == " ".join(LEGEND_MARKS)


def test_the_waterfall_nests_every_level_and_keeps_long_names() -> None:
    """Twelve layers deep, a name of 44 characters: the depth stays readable, the name whole when there is room."""
    import anyio

    class AVeryLongMiddlewareNameForTheWaterfallTests:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    app = FastAPI()

    @app.get("/")
    async def root() -> int:
        return 1

    for _ in range(8):
        app.add_middleware(AVeryLongMiddlewareNameForTheWaterfallTests)

    async def one_request() -> list[TraceEvent]:
        t = Traced(app)
        _, events = await t.request("GET", "/")
        await t.aclose()
        return events

    events = anyio.run(one_request)
    depths = [e.detail["depth"] for e in events if e.stage == "middleware" and e.kind == "start"]
    assert max(depths) >= 10, depths
    wide = plain(waterfall_table(events, len(events) - 1, 150)).splitlines()
    long_rows = [line for line in wide if "AVeryLongMiddlewareNameForTheWaterfallTests" in line]
    assert len(long_rows) == 8
    # One rail per level, every level: the eight layers' rows all start at different depths.
    assert len({len(line) - len(line.lstrip("│")) for line in long_rows}) == 8
    narrow = plain(waterfall_table(events, len(events) - 1, 34)).splitlines()
    assert all(len(line) <= 34 for line in narrow), narrow
    deepest = max(depths) + 1  # the endpoint sits inside the innermost layer
    assert any(f"{deepest}│" in line for line in narrow), narrow  # too deep for rails: written as a number
    assert any("at " in line and " ms" in line for line in narrow)  # a point's time says what it is


def test_middleware_bars_are_not_the_failure_colour(traces: dict[str, list[TraceEvent]]) -> None:
    assert BAR_STYLE["middleware"] != FAILED_BAR and BAR_STYLE["middleware"].startswith("#")
    table = waterfall_table(traces["http"], len(traces["http"]) - 1, 120)
    labels, bars_ = table.columns[0]._cells, table.columns[1]._cells  # type: ignore[attr-defined]
    styles = {str(bar.style) for label, bar in zip(labels, bars_, strict=True) if "Middleware" in label.plain}
    assert styles == {BAR_STYLE["middleware"]}, styles
    failed = waterfall_table(traces["a 500"], len(traces["a 500"]) - 1, 120)
    rows = zip(failed.columns[0]._cells, failed.columns[1]._cells, strict=True)  # type: ignore[attr-defined]
    assert {str(bar.style) for label, bar in rows if "boom ✗" in label.plain} == {FAILED_BAR}


def test_event_numbers_count_from_one(traces: dict[str, list[TraceEvent]]) -> None:
    events = traces["http"]
    assert event_position(events, 0) == f"event 1 of {len(events)}"
    assert event_position(events, len(events) - 1) == f"event {events[-1].seq + 1} of {len(events)}"
    assert events[-1].seq + 1 == len(events)


# -- the real TUI at 100x30 and 160x48 -----------------------------------------------------------


@asynccontextmanager
async def lesson(name: str, size: tuple[int, int], **kw: Any) -> AsyncIterator[Pilot[Any]]:
    app = TracerApp(LessonController(load(find(name))), **kw)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.ready, "the app's server to start")
        yield pilot


def whole_picture_shown(pilot: Pilot[Any]) -> list[str]:
    """The picture's rows, after checking the pane shows all of them and cuts none."""
    pane = pilot.app.query_one(Pipeline)
    content = pane.content
    assert isinstance(content, Text)
    lines = [line.plain for line in content.split()]
    assert pane.size.height >= len(lines), (pane.size, len(lines))
    assert all(len(line) <= pane.size.width for line in lines), (pane.size.width, lines)
    return lines


@pytest.mark.parametrize("size", [(100, 30), (160, 48)])
async def test_lesson6_nine_layers_fit_and_name_the_function(size: tuple[int, int]) -> None:
    async with lesson("lesson6", size) as pilot:
        app: TracerApp = pilot.app  # type: ignore[assignment]
        await fire(pilot)
        lines = whole_picture_shown(pilot)
        layers = [line for line in lines if "┌ " in line]
        # As many as the trace shows (FastAPI 0.165 adds two layers 0.121 does not have), in its order.
        started = [e for e in app.current_events() if e.stage == "middleware" and e.kind == "start"]
        n = len(started)
        at = next(i for i, e in enumerate(started) if e.detail.get("function") == "add_process_time_header")
        assert n >= 7 and len(layers) == n, lines
        assert layers[at].startswith("│" * at + "┌ ✓ add_process_time_header"), layers
        assert any(line.startswith("└" + "┴" * (n - 1) + "▶ client ✓ 200 in ") for line in lines), lines
        assert not any("BaseHTTPMiddleware" in line.split("(")[0] for line in layers)
        rows = shown(app, Waterfall).splitlines()
        assert any(row.lstrip("│").startswith("add_process") for row in rows), rows  # cut to the pane, same name
        assert not any(row.lstrip("│").startswith("BaseHTTP") for row in rows), rows
        await pilot.press("q")


@pytest.mark.parametrize("size", [(100, 30), (160, 48)])
async def test_lesson9_a_500_in_the_picture(size: tuple[int, int]) -> None:
    async with lesson("lesson9", size) as pilot:
        for _ in range(2):
            await pilot.press("n")
        await fire(pilot)
        lines = whole_picture_shown(pilot)
        text = "\n".join(lines)
        assert "┌ ✓ ServerErrorMiddleware caught" in text
        assert "◐ guard_private_paths" in text and "✗ endpoint FAILED: average" in text, text
        assert any(line.endswith("client ✗ 500 in " + line.rsplit(" in ", 1)[-1]) for line in lines)
        await pilot.press("q")


async def test_the_legend_line_until_the_help_explains_every_mark() -> None:
    async with lesson("lesson1", (100, 30)) as pilot:
        app: TracerApp = pilot.app  # type: ignore[assignment]
        assert "✓done" not in shown(app, Pipeline) and "✓ done" not in shown(app, Pipeline)  # no request, no marks
        await fire(pilot)
        assert "?more" in shown(app, Pipeline) or "? more" in shown(app, Pipeline)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = "\n".join(plain(s.content) for s in app.screen.query("Static"))
        for mark in ("◐ stopped", "– skipped", "○", "◉", "at 0.36 ms", "End", "event N of M", "└┴▶ client"):
            assert mark in help_text, mark
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert "more" not in shown(app, Pipeline) and "▶ client ✓ 200" in shown(app, Pipeline)
        await pilot.press("q")


@pytest.mark.parametrize("size", [(100, 30), (160, 48)])
async def test_time_travel_and_the_detail_pane_count_alike(size: tuple[int, int]) -> None:
    async with lesson("lesson1", size) as pilot:
        app: TracerApp = pilot.app  # type: ignore[assignment]
        await fire(pilot)
        events = app.current_events()
        await pilot.press("home", "right", "right")
        event = events[2]
        assert f"time travel: event {event.seq + 1} of {len(events)}" in status_bar(app)
        assert f"#{event.seq + 1} of {app.selected}" in shown(app, DetailPane)
        picture = shown(app, Pipeline)
        assert f"┌ ◉ {events[1].name}" in picture and f"│▼ ◉ {event.name}" in picture  # on its way in here
        assert "▶ client ○ waiting" in picture
        await pilot.press("q")


async def test_step_mode_highlights_where_the_request_waits() -> None:
    async with lesson("lesson1", (100, 30)) as pilot:
        app: TracerApp = pilot.app  # type: ignore[assignment]
        await pilot.press("s", "enter")
        await wait_for(pilot, lambda: app.paused is not None and app.paused.stage == "middleware",
                       "the request to wait at its first layer")
        while app.paused is not None and app.paused.stage != "endpoint":
            before = app.paused
            await pilot.press("space")
            await wait_for(pilot, lambda b=before: app.paused is not None and app.paused.seq > b.seq,  # type: ignore[misc]
                           "the next boundary")
        content = app.query_one(Pipeline).content
        assert isinstance(content, Text)
        row = next(line for line in content.split() if "endpoint" in line.plain)
        assert "◉ endpoint say_hello" in row.plain
        assert any("reverse" in str(span.style) for span in row.spans)
        assert "– dependencies skipped: no" in plain(content)  # "none declared", cut to the pane's width
        await pilot.press("s")
        await wait_for(pilot, lambda: not app.busy and 0 in app.outcomes, "the released request to finish")
        await pilot.press("q")


def test_the_background_row_names_every_task_the_request_ran() -> None:
    from lifecycle_tracer.course.loader import find, load
    from lifecycle_tracer.course.session import LessonSession
    from lifecycle_tracer.tui.model import pipeline

    loaded = load(find("lesson10"))
    with LessonSession(loaded) as session:
        for step in loaded.lesson.steps:
            if step.request is None:
                continue
            result = session.run_step(step)
            for events in result.traces:
                names = [e.name for e in events if e.stage == "background" and e.kind == "start"]
                if len(names) < 2:
                    continue
                chip = next(c for c in pipeline(events) if c.key == "background")
                assert chip.note.startswith(f"{len(names)} tasks: ")
                assert all(name.rsplit(".", 1)[-1] in chip.note for name in names), (names, chip.note)
                return
    raise AssertionError("lesson 10 has no request that runs two background tasks: the test means nothing")
