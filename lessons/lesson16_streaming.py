"""Lesson 16: Streaming.

Until now every response was built whole, then sent. A `StreamingResponse`
sends its body in parts, as a generator makes them: the client reads the
first part while the rest is still being made, and the trace shows one
**response chunk** point per part.

The app below is an order tracker. It streams from an async generator and
from a plain `def` one, in the two text formats made for streams (JSON Lines
and Server-Sent Events), and to a customer who leaves before the end. The
exercise is a report whose client waits for every line: make it stream.
"""

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator

import fastapi
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel

app = FastAPI(title="Order tracker: streaming")

# FastAPI's release notes: generator endpoints stream JSON Lines since 0.134.0 and
# Server-Sent Events (EventSourceResponse) since 0.135.0. Before, steps 3 and 4
# build the same bytes by hand.
_VERSION = tuple(int(part) for part in fastapi.__version__.split(".")[:2])
YIELD_JSONL = _VERSION >= (0, 134)
YIELD_SSE = _VERSION >= (0, 135)
if YIELD_SSE:
    from fastapi.sse import EventSourceResponse

STEP = 0.1  # seconds between two updates: stands in for waiting on the warehouse system


@app.get("/orders/42/progress")
async def order_progress():
    async def stages():
        for n, stage in enumerate(("received", "packed", "shipped")):
            if n:
                await asyncio.sleep(STEP)  # the next stage is not known yet
            yield f"{stage}\n"

    return StreamingResponse(stages(), media_type="text/plain")


ORDERS = [(41, "12.50"), (42, "30.00"), (43, "7.90"), (44, "55.00"), (45, "19.99")]


@app.get("/orders/export.csv")
async def export_orders():
    def rows():  # a plain def generator, like the cursor a blocking database driver gives you
        yield "order,total,made_on\n"
        for order_id, total in ORDERS:
            time.sleep(0.05)  # a blocking fetch of the next row
            yield f"{order_id},{total},{threading.current_thread().name}\n"

    return StreamingResponse(rows(), media_type="text/csv")


class OrderEvent(BaseModel):
    order_id: int
    status: str


# What the warehouse system reports; picker (who packed the order) is for the staff only.
EVENTS = [{"order_id": 42, "status": status, "picker": "grace"} for status in ("received", "packed", "shipped")]

if YIELD_JSONL:

    @app.get("/orders/42/events")
    async def order_events() -> AsyncIterator[OrderEvent]:
        for event in EVENTS:
            yield event

else:

    @app.get("/orders/42/events")
    async def order_events():
        async def lines():
            for event in EVENTS:
                yield OrderEvent.model_validate(event).model_dump_json() + "\n"

        return StreamingResponse(lines(), media_type="application/jsonl")


if YIELD_SSE:

    @app.get("/orders/42/live", response_class=EventSourceResponse)
    async def order_live() -> AsyncIterator[OrderEvent]:
        for event in EVENTS:
            yield event

else:

    @app.get("/orders/42/live")
    async def order_live():
        async def events():
            for event in EVENTS:
                yield f"data: {OrderEvent.model_validate(event).model_dump_json()}\n\n"

        # Newer FastAPI sets these two itself: no proxy may hold the events back.
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


# Each tracking stream, once it is over, puts (updates asked for, updates sent) here; step 5 reads it.
TRACKING_ENDED: queue.Queue[tuple[int, int]] = queue.Queue()


@app.get("/orders/42/track")
async def track_courier(updates: int = 3):
    async def positions():
        sent = 0
        try:
            for n in range(updates):
                if n:
                    await asyncio.sleep(STEP)
                yield f"courier at stop {n + 1}\n"
                sent += 1
        finally:  # where a real stream lets go of what it holds: a subscription, a cursor
            TRACKING_ENDED.put((updates, sent))

    return StreamingResponse(positions(), media_type="text/plain")


# ── exercise stream-report: your code starts here ──
@app.get("/orders/report")
async def orders_report():
    lines = []
    for order_id, total in ORDERS:
        await asyncio.sleep(STEP)  # each line needs its own slow query
        lines.append(f"order {order_id}: {total} EUR\n")
    return PlainTextResponse("".join(lines))
# ── exercise stream-report: your code ends here ──


# ---------------------------------------------------------------------------
# The lesson: what the tracer shows, step by step.
# ---------------------------------------------------------------------------

import json  # noqa: E402
import re  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from lifecycle_tracer import instrument  # noqa: E402
from lifecycle_tracer.course import (  # noqa: E402
    Check,
    Exercise,
    Lesson,
    Question,
    Request,
    Step,
    StepResult,
    count,
    custom,
    has,
    header,
    lacks,
    order,
    status,
)
from lifecycle_tracer.events import TraceEvent  # noqa: E402

VERSION = fastapi.__version__
LEAVING_ASKS = 100  # updates the customer of step 5 asks for: 10 s of them
LEAVING_READS = 2  # ...and how many it reads before it hangs up


def _chunks(events: list[TraceEvent]) -> list[TraceEvent]:
    return [e for e in events if e.stage == "response" and e.kind == "point" and e.name == "chunk"]


def _first(events: list[TraceEvent], stage: str, kind: str, name: str | None = None) -> TraceEvent | None:
    return next((e for e in events if e.stage == stage and e.kind == kind and (name is None or e.name == name)), None)


def _spread(at_least: float) -> Check:
    def test(r: StepResult) -> bool | str:
        parts = _chunks(r.events)
        if len(parts) < 2:
            return f"the body went out in {len(parts)} streamed part(s)"
        gap = (parts[-1].t_ns - parts[0].t_ns) / 1e9
        return gap >= at_least or f"the last part went out {gap:.3f} s after the first"

    return custom(f"the parts went out over time: the last one at least {at_least} s after the first", test)


def _first_part_within(seconds: float) -> Check:
    def test(r: StepResult) -> bool | str:
        parts = _chunks(r.events)
        if not parts:
            return "the body went out in one piece, with no streamed part"
        after = (parts[0].t_ns - r.events[0].t_ns) / 1e9
        return after <= seconds or f"the first part went out {after:.3f} s after the request arrived"

    return custom(f"the first part goes out within {seconds} s of the request's arrival (making all "
                  f"{len(ORDERS)} lines takes {len(ORDERS) * STEP:.1f} s)", test)


def _text(expected: str, what: str) -> Check:
    return custom(what, lambda r: r.response.text == expected or f"the body was {r.response.text[:160]!r}")


def _made_on_worker_threads(r: StepResult) -> bool | str:
    loop = _first(r.events, "endpoint", "start").detail.get("thread")
    pulled = _first(r.events, "response", "point", "body iterator")
    worker = pulled.detail.get("thread") if pulled else None
    made_on = [line.split(",")[2] for line in r.response.text.splitlines()[1:]]
    if len(made_on) != len(ORDERS):
        return f"the export had {len(made_on)} rows"
    wrong = [t for t in made_on if t == loop or t != worker]
    return not wrong or f"the rows were made on {made_on}; the endpoint ran on {loop!r}, the iterator on {worker!r}"


def _jsonl_items(r: StepResult) -> bool | str:
    lines = r.response.text.splitlines()
    items = [json.loads(line) for line in lines]
    wanted = [{"order_id": 42, "status": e["status"]} for e in EVENTS]
    return items == wanted or f"the lines were {lines}"


SSE_BODY = "".join(f'data: {{"order_id":42,"status":"{e["status"]}"}}\n\n' for e in EVENTS)


def _streamed_by_fastapi(name: str) -> list[Check]:
    """The endpoint as the trace shows it: a generator FastAPI streams, or one that returns a StreamingResponse."""
    if YIELD_JSONL:
        return [
            has("endpoint", "point", name, streaming=True, is_async=True),
            lacks("endpoint", "start"),
            lacks("endpoint", "end"),
        ]
    return [has("endpoint", "end", name, is_response=True, returned="StreamingResponse")]


def _keepalive_every_15_s(r: StepResult) -> bool | str:
    import fastapi.sse as sse

    interval, ping = getattr(sse, "_PING_INTERVAL", None), getattr(sse, "KEEPALIVE_COMMENT", None)
    return (interval == 15.0 and ping == b": ping\n\n") or f"the installed fastapi.sse has {interval!r} and {ping!r}"


# The tracer the session serves the app with: its own `instrument(app, ...)` call
# returns this one and sets its sinks and settings, so step 5 can listen in.
TRACER = instrument(app)


class _Watch:
    """A sink holding the trace of the next request to one path and query string."""

    def __init__(self, path: str, query_string: str) -> None:
        self.wanted = (path, query_string)
        self.request_id: str | None = None
        self.events: list[TraceEvent] = []
        self.ended = False
        self._cond = threading.Condition()

    def emit(self, event: TraceEvent) -> None:
        with self._cond:
            if self.request_id is None:
                if event.stage != "request" or event.kind != "start" or \
                        (event.detail.get("path"), event.detail.get("query_string")) != self.wanted:
                    return
                self.request_id = event.request_id
            if event.request_id == self.request_id and not self.ended:
                self.events.append(event)
                if event.stage == "request" and event.kind == "end":
                    self.ended = True
                    self._cond.notify_all()

    def wait(self, timeout: float) -> list[TraceEvent] | None:
        with self._cond:
            return list(self.events) if self._cond.wait_for(lambda: self.ended, timeout) else None


def _leave_early(base_url: str, path: str, updates: int, lines: int) -> list[TraceEvent] | None:
    """Ask for a stream, read ``lines`` lines, hang up; the trace of that request once it has ended."""
    watch = _Watch(path, f"updates={updates}")
    # Added last, so when it sees the request end the session's own sinks have seen it too.
    TRACER.add_sink(watch)
    try:
        with httpx.Client(base_url=base_url, timeout=30) as client, \
                client.stream("GET", path, params={"updates": updates}) as resp:
            got = ""
            for text in resp.iter_text():
                got += text
                if got.count("\n") >= lines:
                    break  # leaving the block with the body unread closes the connection: the client is gone
        return watch.wait(timeout=30)
    finally:
        TRACER.remove_sink(watch)


_LEFT: dict[str, Any] = {}


def _left(r: StepResult) -> dict[str, Any]:
    """Step 5's second customer, fired once per step result: its trace, and what the generator's finally reported."""
    if _LEFT.get("for") is r:
        return _LEFT
    _LEFT.clear()
    _LEFT.update({"for": r, "trace": [], "sent": None, "error": None})
    while not TRACKING_ENDED.empty():  # the step's own stream has ended already: forget it
        TRACKING_ENDED.get_nowait()
    try:
        host = dict(r.events[0].detail["headers"])["host"]
        _LEFT["trace"] = _leave_early(f"http://{host}", "/orders/42/track", LEAVING_ASKS, LEAVING_READS) or []
        while _LEFT["sent"] is None:
            asked, sent = TRACKING_ENDED.get(timeout=10)
            _LEFT["sent"] = sent if asked == LEAVING_ASKS else None
    except queue.Empty:
        pass
    except (httpx.HTTPError, KeyError) as exc:
        _LEFT["error"] = f"the second customer could not be played ({type(exc).__name__}: {exc})"
    return _LEFT


def _on_left(describe: str, test: Any) -> Check:
    def run(r: StepResult) -> bool | str:
        left = _left(r)
        if left["error"]:
            return left["error"]
        return test(left["trace"]) if left["trace"] else "the second customer's request left no finished trace within 30 s"

    return custom(describe, run)


def _left_disconnected(trace: list[TraceEvent]) -> bool | str:
    return _first(trace, "response", "point", "disconnect") is not None or "its trace has no disconnect point"


def _left_few_parts(trace: list[TraceEvent]) -> bool | str:
    n = len(_chunks(trace))
    return LEAVING_READS <= n < 10 or f"{n} updates went out"


def _left_unfinished(trace: list[TraceEvent]) -> bool | str:
    end = _first(trace, "response", "end")
    return (end is not None and end.detail.get("complete") is False) or f"its response end was {end and end.detail}"


def _left_soon(trace: list[TraceEvent]) -> bool | str:
    took = trace[-1].detail.get("duration_ns", 0) / 1e9
    return took < 5 or f"it lasted {took:.2f} s"


def _left_finally(r: StepResult) -> bool | str:
    left = _left(r)
    sent = left["sent"]
    if left["error"]:
        return left["error"]
    if sent is None:
        return "the generator's finally did not report within 10 s"
    return LEAVING_READS <= sent < 10 or f"it had sent {sent} updates"


def _listens_on_uvicorn(r: StepResult) -> bool | str:
    import inspect
    from pathlib import Path

    import starlette.responses
    import uvicorn.protocols.http

    # The files, not the imported classes: uvicorn's httptools protocol imports a package the
    # lesson's server may not have, and the tracer wraps some of Starlette's functions in memory.
    http = Path(uvicorn.protocols.http.__file__).parent
    found = {f.name: re.findall(r'"spec_version": "([\d.]+)"', f.read_text(encoding="utf-8"))
             for f in sorted(http.glob("*_impl.py"))}
    says = {name: versions for name, versions in found.items() if versions}  # some only pick a protocol
    if "h11_impl.py" not in says or any(versions != ["2.3"] for versions in says.values()):
        return f"uvicorn's HTTP protocols say {says}"
    starlette_src = inspect.getsource(starlette.responses)
    return ("if spec_version >= (2, 4):" in starlette_src and "self.listen_for_disconnect" in starlette_src) \
        or "StreamingResponse does not pick its way by spec_version 2.4"


REPORT = "".join(f"order {order_id}: {total} EUR\n" for order_id, total in ORDERS)

if YIELD_JSONL:
    _JSONL_STORY = f"""
On your FastAPI ({VERSION}) `order_events` is itself an async generator,
declared `-> AsyncIterator[OrderEvent]`, with the default response class.
FastAPI streams such a **generator endpoint** as JSON Lines: it calls the
function once (one endpoint point in the trace, no start and end) and sends
every item it yields as one line. (The release notes add this in 0.134.0;
FastAPI 0.121.0 does not stream an endpoint that yields.)
"""
    _JSONL_WHY = ("FastAPI validates every yielded item against OrderEvent, the item type of the return "
                  "annotation, as a response model would: picker is dropped from every line.")
else:
    _JSONL_STORY = f"""
Your FastAPI ({VERSION}) does not stream an endpoint that yields (FastAPI's
release notes add that in 0.134.0). So `order_events` does by hand what
newer FastAPI does for you: `lines()` turns each event into one line of JSON, and
a `StreamingResponse` of media type `application/jsonl` sends them.
"""
    _JSONL_WHY = ("lines() validates each event with OrderEvent.model_validate, which keeps only the fields "
                  "OrderEvent declares, and model_dump_json() writes what is left: picker is dropped.")

if YIELD_SSE:
    _SSE_STORY = f"""
On your FastAPI ({VERSION}), `response_class=EventSourceResponse` on a
generator endpoint does it all: each yielded item is validated against
`OrderEvent` and written as one event, and FastAPI adds both headers itself
(`get_request_handler` in `fastapi/routing.py`). Yield a `ServerSentEvent`
instead to set an event's `event`, `id` or `retry` field. When the
generator stays quiet for 15 s, FastAPI sends a `: ping` comment, so that
proxies keep the connection open.
"""
else:
    _SSE_STORY = f"""
Your FastAPI ({VERSION}) has no `EventSourceResponse` (the release notes add
it in 0.135.0: a generator endpoint with `response_class=EventSourceResponse`
then validates each item, writes it as one event and sets both headers).
So `order_live` does it by hand: `events()` writes each validated event in
the format, and the endpoint sets both headers itself.
"""

LESSON = Lesson(
    id="lesson16",
    title="Streaming",
    topics=["streaming", "StreamingResponse", "generator", "threadpool", "JSON Lines", "Server-Sent Events",
            "disconnect"],
    goals=[
        "Read a streamed response in the trace: the response start, one chunk point per part, then the end.",
        "Know when an endpoint returning a StreamingResponse ends, compared with its generator.",
        "See which thread pulls a plain def generator, one item at a time.",
        "Stream records as JSON Lines and Server-Sent Events, and see what a stream lets through.",
        "See what the trace shows when the client leaves mid-stream, and what becomes of the generator.",
    ],
    steps=[
        Step(
            title="A StreamingResponse sends its body in parts",
            narration="""
`order_progress` returns a `StreamingResponse` around `stages()`, an
**async generator** that yields one line per stage of order 42 and waits
0.1 s before each next stage. `StreamingResponse` accepts any iterator of
text or bytes: Starlette sends each item as one part of the body, marked
"more to come", and after the last item an empty part that ends the body.
The trace shows a **response chunk** point for every part that says more
is to come.
""",
            request=Request("GET", "/orders/42/progress"),
            look_for=["endpoint", "response"],
            question=Question(
                prompt="The three stages take about 0.2 s to make. Where does the endpoint end line of "
                "order_progress come in the trace?",
                choices=[
                    "After the last part: the endpoint runs until its generator is done",
                    "Before the response start: the endpoint only builds the response, and Starlette runs the "
                    "generator while it sends",
                    "There is no endpoint end line when the response streams",
                ],
                answer=1,
                why="order_progress creates the generator without running it and returns the StreamingResponse at "
                "once. Starlette then sends the status and headers, and only then pulls each item from the "
                "generator. The size is not known when the headers go out, so there is no content-length: uvicorn "
                "sends the body with transfer-encoding: chunked.",
            ),
            hints=["Compare the time of the endpoint end line with the times of the response chunk points."],
            checks=[
                status(200),
                has("endpoint", "end", "order_progress", is_response=True, returned="StreamingResponse"),
                order(("endpoint", "end"), ("response", "start"), ("response", "point", "chunk"), ("response", "end")),
                lacks("response", "point", "body iterator"),
                count(3, "response", "point", "chunk"),
                has("response", "end", chunks=4, bytes=24, complete=True),
                _spread(0.15),
                header("content-length", present=False),
                header("transfer-encoding", value="chunked"),
                _text("received\npacked\nshipped\n", "the client got the three stages, in order"),
            ],
        ),
        Step(
            title="A plain def generator",
            narration="""
Rows often come from a library that blocks, like a database driver's
cursor. `rows()` is a **plain `def` generator** and calls `time.sleep`
before each row; lesson 8 showed what a blocking call does inside
`async def`. `export_orders` is `async def`, and it hands `rows()` to a
`StreamingResponse` without running it. Each row names, in its `made_on`
column, the thread that made it.
""",
            request=Request("GET", "/orders/export.csv"),
            look_for=["endpoint", "response"],
            question=Question(
                prompt="Which thread runs the time.sleep calls in rows()?",
                choices=[
                    "The event loop's: export_orders is async def",
                    "A worker thread of the threadpool",
                    "A thread of its own that StreamingResponse starts for each row",
                ],
                answer=1,
                why="StreamingResponse wraps an iterator that is not async in Starlette's iterate_in_threadpool, "
                "which runs each next() in a worker thread (starlette/concurrency.py), so a sleep blocks only "
                "that thread, never the event loop. An async generator is pulled on the event loop instead.",
            ),
            hints=["Find the response body iterator point: which thread pulled the generator?"],
            checks=[
                status(200),
                has("endpoint", "start", "export_orders", is_async=True, threadpool=False),
                has("response", "point", "body iterator", iterator="generator", threadpool=True),
                custom("every row was made on a thread named as the one that pulled the iterator (a worker thread "
                       "of the threadpool), none on the event loop's thread", _made_on_worker_threads),
                order(("endpoint", "end"), ("response", "start"), ("response", "point", "body iterator"),
                      ("response", "point", "chunk")),
                count(len(ORDERS) + 1, "response", "point", "chunk"),
            ],
        ),
        Step(
            title="JSON Lines: one record per line",
            narration="""
A stream of records needs a format that the client can cut into records as
they come. **JSON Lines** (`application/jsonl`) is the simplest: one JSON
object per line. Each event of the warehouse system also carries `picker`,
who packed the order; `OrderEvent` does not declare it.
"""
            + _JSONL_STORY,
            request=Request("GET", "/orders/42/events"),
            look_for=["endpoint", "response"],
            question=Question(
                prompt="Does picker reach the client?",
                choices=["Yes: what a stream sends is not validated", "No: every line is validated against OrderEvent"],
                answer=1,
                why=_JSONL_WHY,
            ),
            hints=["Read the preview of each response chunk point: one line, one record."],
            checks=[
                status(200),
                header("content-type", value="application/jsonl"),
                *_streamed_by_fastapi("order_events"),
                count(len(EVENTS), "response", "point", "chunk"),
                custom("each line is one OrderEvent, order_id and status only: picker was dropped", _jsonl_items),
            ],
        ),
        Step(
            title="Server-Sent Events: the stream a browser reads",
            narration="""
**Server-Sent Events** (`text/event-stream`) is the format a browser reads
with `EventSource`. A proxy between the app and the browser may hold a
response back until it has all of it, which would hold back every event,
so an SSE response says `Cache-Control: no-cache` and, for nginx,
`X-Accel-Buffering: no`.
"""
            + _SSE_STORY,
            request=Request("GET", "/orders/42/live"),
            look_for=["endpoint", "response"],
            question=Question(
                prompt="What does one event look like on the wire?",
                choices=[
                    "A JSON object on one line, as in JSON Lines",
                    "A `data:` line holding the JSON, then an empty line",
                    "A small HTTP response of its own",
                ],
                answer=1,
                why="An SSE event is a block of `field: value` lines ended by an empty line; the record goes in "
                "the data field. All the events travel in the one response, one part each.",
            ),
            hints=["Read the preview of a response chunk point, and the headers on the response start line."],
            checks=[
                status(200),
                header("content-type", value="text/event-stream; charset=utf-8"),
                header("cache-control", value="no-cache"),
                header("x-accel-buffering", value="no"),
                *_streamed_by_fastapi("order_live"),
                count(len(EVENTS), "response", "point", "chunk"),
                _text(SSE_BODY, "each event is `data: ` + one OrderEvent's JSON + an empty line, picker dropped"),
                *([custom("the installed fastapi.sse sends `: ping` after 15 s without an event",
                          _keepalive_every_15_s)] if YIELD_SSE else []),
            ],
        ),
        Step(
            title="The client leaves mid-stream",
            narration=f"""
A stream can go on for long: the courier's position every 0.1 s, for as
long as the customer watches. `track_courier` streams `updates` positions;
we ask for 3 and read them all.

Then the lesson plays a second customer who closes the page: it asks for
**{LEAVING_ASKS}** updates (10 s of them), reads {LEAVING_READS} and hangs up.
Plain mode prints only the step's own request, so the checks read the
second one's trace for you. To see it yourself, run
`lifecycle-tracer run lesson16 --plain --record trace.jsonl`, then
`lifecycle-tracer replay trace.jsonl --plain` shows every request, this
one too.
""",
            request=Request("GET", "/orders/42/track", query={"updates": "3"}),
            look_for=["response"],
            question=Question(
                prompt=f"The second customer asked for {LEAVING_ASKS} updates and hung up after "
                f"{LEAVING_READS}. What happens in the app?",
                choices=[
                    "The generator runs on for 10 s, sending into nothing",
                    "Starlette notices the client left and stops the generator; the request ends at once",
                    "FastAPI answers the rest with an error status",
                ],
                answer=1,
                why="uvicorn speaks ASGI 2.3 to the app, and below 2.4 StreamingResponse, while it sends, also "
                "listens for the server's http.disconnect message. When it comes, Starlette cancels the sending, "
                "the generator is stopped and its finally runs. The status went out long before, so nothing else "
                "can be answered: the body just stays unfinished. (Under a server speaking ASGI 2.4 Starlette "
                "does not listen: it learns that the client left when a send fails.)",
            ),
            hints=[
                f"In the replayed recording, the second GET /orders/42/track shows a response disconnect point "
                f"after its {LEAVING_READS} response chunk points.",
            ],
            checks=[
                status(200),
                count(3, "response", "point", "chunk"),
                has("response", "end", complete=True),
                _on_left("the second customer's trace has a response disconnect point", _left_disconnected),
                _on_left(f"only a few of the {LEAVING_ASKS} updates went out to it (under 10 chunk points)",
                         _left_few_parts),
                _on_left("its response end says the body never finished (complete=False)", _left_unfinished),
                _on_left(f"its request ended within 5 s, not after the 10 s that {LEAVING_ASKS} updates take",
                         _left_soon),
                custom("the generator's finally ran, having sent fewer than 10 updates", _left_finally),
                custom("uvicorn's HTTP protocols give the app ASGI spec_version 2.3, and below 2.4 Starlette's "
                       "StreamingResponse listens for http.disconnect", _listens_on_uvicorn),
            ],
        ),
        Exercise(
            title="Stream the report line by line",
            narration=f"""
Your turn. `GET /orders/report` makes one line per order, each after a slow
query. As the lesson ships it, its client gets nothing until all
{len(ORDERS)} are made: the trace has no response chunk point, and the
response starts only after the last query. Make it **stream**: each line
goes out as soon as it is made, the first one too, with the same text.
""",
            region="stream-report",
            request=Request("GET", "/orders/report"),
            look_for=["endpoint", "response"],
            hints=[
                "Run it once: when does the response start line come, compared with the endpoint start?",
                "A StreamingResponse sends each item of a generator as soon as the generator yields it; a list "
                "can only be sent once it is complete.",
                "Move the loop into an inner `async def lines():` that yields each line instead of appending it, "
                "and return `StreamingResponse(lines(), media_type=\"text/plain\")`.",
            ],
            checks=[
                status(200),
                _text(REPORT, f"the client gets the same {len(ORDERS)} lines, in order"),
                custom(
                    f"the body goes out in at least {len(ORDERS)} parts (response chunk points)",
                    lambda r: len(_chunks(r.events)) >= len(ORDERS) or f"it went out in {len(_chunks(r.events))}",
                ),
                _first_part_within(0.3),
                _spread(0.25),
                header("content-length", present=False),
            ],
        ),
    ],
    summary=(
        """
A `StreamingResponse` sends the status and headers first, then each item
its generator yields as one part of the body (a response chunk point),
with no `content-length`. The endpoint that returns it ends before the
generator has made anything. Starlette pulls an async generator on the
event loop and a plain `def` one in the threadpool, one `next()` at a
time. JSON Lines and Server-Sent Events are the usual formats for a stream
of records.
"""
        + (
            f"""
On FastAPI {VERSION} an endpoint that yields is streamed for you, as JSON
Lines by default or as Server-Sent Events with
`response_class=EventSourceResponse`, each item validated against the
return annotation's item type when the annotation names one.
"""
            if YIELD_SSE
            else f"""
On FastAPI {VERSION} you build those lines yourself, as steps 3 and 4 do;
newer FastAPI streams an endpoint that yields as JSON Lines (0.134.0) or
as Server-Sent Events (0.135.0), and validates every item when the return
annotation names an item type.
"""
        )
        + """
When the client leaves, Starlette on uvicorn (ASGI 2.3) hears the
disconnect, stops the stream, and the generator's `finally` runs: put a
stream's teardown there.

Next lesson: **behind a proxy, and sub-apps**: the prefix a proxy adds
(`root_path`), the `X-Forwarded-*` headers, and apps mounted inside the app.
"""
    ),
)
