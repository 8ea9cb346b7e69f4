"""Lesson 6: Middleware.

A middleware is code that runs around every request: it sees the request
before any route does, and the response after the endpoint is done. This app
has four of them. The order they were added in decides the order they run
in, and this lesson finds out how far a request gets when one of them
answers it.
"""

import inspect
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware

from lifecycle_tracer.course import Exercise, Lesson, Question, Step, body, custom, has, header, lacks, order, status
from lifecycle_tracer.course import Request as Send  # fastapi's Request is used by the app

app = FastAPI(title="Middleware")


@app.get("/items/{item_id}")
async def read_item(item_id: int) -> dict[str, int | str]:
    return {"item_id": item_id, "name": f"Item {item_id}"}


# 1st added: answers the load balancer's GET /health (the exercise at the end is about it).
# ── exercise health-check: your code starts here ──
class HealthCheckMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        if request.url.path == "/health":
            return JSONResponse({"status": "ok"})
        return response
# ── exercise health-check: your code ends here ──


app.add_middleware(HealthCheckMiddleware)


# 2nd added: times the work done inside it (the tutorial's example).
@app.middleware("http")
async def add_process_time_header(request: Request, call_next):
    start_time = time.perf_counter()
    response = await call_next(request)
    process_time = time.perf_counter() - start_time
    response.headers["X-Process-Time"] = str(process_time)
    return response


# 3rd added: gives every request an id, or keeps the one the client sent.
class RequestIDMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        return response


app.add_middleware(RequestIDMiddleware)

# 4th added: lets a web page served from https://shop.example call this API.
app.add_middleware(
    CORSMiddleware,
    allow_origins=["https://shop.example"],
    allow_methods=["GET", "POST"],
    allow_headers=["X-Request-ID"],
)


def _user_middleware_order(r) -> bool | str:
    names = [m.cls.__name__ for m in app.user_middleware]
    wanted = ["CORSMiddleware", "RequestIDMiddleware", "BaseHTTPMiddleware", "HealthCheckMiddleware"]
    return names == wanted or f"it lists {names}"


def _add_after_start_fails(r) -> bool | str:
    if app.middleware_stack is None:
        return "app.middleware_stack is still None"
    before = len(app.user_middleware)
    try:
        app.add_middleware(RequestIDMiddleware)
    except RuntimeError as exc:
        return ("after an application has started" in str(exc) and len(app.user_middleware) == before) or str(exc)
    return "add_middleware succeeded after the first request"


def _first(events, stage, kind, name):
    return next(e for e in events if e.stage == stage and e.kind == kind and e.name == name)


def _process_time_fits_inside_the_layer(r):
    seconds = float(r.response.headers["x-process-time"])
    start = _first(r.events, "middleware", "start", "BaseHTTPMiddleware")
    end = _first(r.events, "middleware", "end", "BaseHTTPMiddleware")
    layer = (end.t_ns - start.t_ns) / 1e9
    if 0 < seconds <= layer + 0.001:
        return True
    return f"X-Process-Time was {seconds:.6f} s but the layer took {layer:.6f} s"


def _layer_is(function):
    """The layer's start event points at this function's source."""
    lines, first = inspect.getsourcelines(function)

    def test(r):
        start = _first(r.events, "middleware", "start", "BaseHTTPMiddleware")
        line = start.detail.get("line")
        return first <= (line or 0) < first + len(lines) or f"it points at line {line} of {start.detail.get('file')}"

    return test


def _passes_to_read_item(r):
    events, answer = r.traces[1], r.responses[1]
    if answer.status_code != 200:
        return f"it answered {answer.status_code}"
    passed = any(e.stage == "middleware" and e.kind == "end" and e.name == "HealthCheckMiddleware"
                 and e.detail.get("called_next") for e in events)
    ran = any(e.stage == "endpoint" and e.kind == "start" and e.name == "read_item" for e in events)
    return (passed and ran) or "HealthCheckMiddleware did not call the next layer, or read_item never ran"


def _depths(*names):
    def test(r):
        depth = {e.name: e.detail["depth"] for e in r.events if e.stage == "middleware" and e.kind == "start"}
        got = [depth.get(n) for n in names]
        if None in got:
            return f"depths seen: {depth}"
        return got == sorted(got) or f"depths were {dict(zip(names, got, strict=True))}"

    return test


LESSON = Lesson(
    id="lesson6",
    title="Middleware",
    topics=["middleware", "CORS", "headers"],
    goals=[
        "Write a middleware with @app.middleware('http') and call_next.",
        "Predict the order of several middlewares from the order they were added in, and know why.",
        "See how far a CORS preflight request gets into the app.",
    ],
    steps=[
        Step(
            title="A timing middleware",
            narration="""
`add_process_time_header` is the FastAPI tutorial's middleware. Everything
before `await call_next(request)` runs on the way **in**; `call_next` passes
the request on (to the other layers, the router and `read_item`) and returns
their response; everything after it runs on the way **out**, where it adds
an `X-Process-Time` header.

A function middleware shows up in the trace as `BaseHTTPMiddleware`: the
Starlette class that `@app.middleware("http")` wraps your function in.
""",
            request=Send("GET", "/items/1"),
            look_for=["middleware", "endpoint"],
            checks=[
                status(200),
                has("middleware", "start", "BaseHTTPMiddleware", builtin=False),
                custom(
                    "this BaseHTTPMiddleware layer's code is add_process_time_header",
                    _layer_is(add_process_time_header),
                ),
                order(
                    ("middleware", "start", "BaseHTTPMiddleware"),
                    ("endpoint", "start", "read_item"),
                    ("endpoint", "end", "read_item"),
                    ("middleware", "end", "BaseHTTPMiddleware"),
                ),
                header("X-Process-Time"),
                custom(
                    "X-Process-Time is the time spent inside the timing layer (it fits between its start and end)",
                    _process_time_fits_inside_the_layer,
                ),
            ],
        ),
        Step(
            title="Why the last one added runs first",
            narration="""
The app added four middlewares, in this order: `HealthCheckMiddleware`,
the timing one, `RequestIDMiddleware`, then `CORSMiddleware`
(`@app.middleware("http")` is an `add_middleware` call too). Step 1's
trace showed them the other way round: `CORSMiddleware`, added last, is
the outermost of the four, and `HealthCheckMiddleware`, added first, the
innermost.

This request comes from the shop's web page (it has an `Origin` header) and
carries its own `X-Request-ID`. Follow the ▶ lines down and the ■ lines back
up: on the way out the timing, id and CORS layers each add a header.
Starlette's own `ServerErrorMiddleware` stays outside all of yours,
`ExceptionMiddleware` inside.
""",
            request=Send("GET", "/items/2", headers={"Origin": "https://shop.example", "X-Request-ID": "req-42"}),
            look_for=["middleware"],
            question=Question(
                prompt="CORSMiddleware was added last, yet it is the outermost. How does add_middleware put it there?",
                choices=[
                    "Each call wraps the app built so far, so the last one added ends up outside",
                    "Each call puts its middleware at the front of a list; the stack is built from that list "
                    "at the first request",
                    "It does not: Starlette always puts CORSMiddleware outermost, wherever it was added",
                ],
                answer=1,
                why="add_middleware does not wrap anything: it inserts the middleware at the front of "
                "app.user_middleware (position 0), so the list runs from the last added to the first. At the first "
                "request build_middleware_stack wraps the router in reversed(list): the first entry, the one added "
                "last, is wrapped last and so is the outermost: first in, last out. After that the stack is built, "
                "and add_middleware raises RuntimeError. The order follows the calls, not the classes: "
                "HealthCheckMiddleware, added first, is the innermost.",
            ),
            hints=[
                "Read the step's last two checks: in which order does app.user_middleware list the four, and "
                "what does add_middleware do once the first request has come?",
                "Each add_middleware call puts its middleware at the front of a list; the stack is built from "
                "that list, back to front, at the first request.",
            ],
            checks=[
                status(200),
                order(
                    ("middleware", "start", "CORSMiddleware"),
                    ("middleware", "start", "RequestIDMiddleware"),
                    ("middleware", "start", "BaseHTTPMiddleware"),
                    ("middleware", "start", "HealthCheckMiddleware"),
                    ("endpoint", "start"),
                ),
                order(
                    ("endpoint", "end"),
                    ("middleware", "end", "HealthCheckMiddleware"),
                    ("middleware", "end", "BaseHTTPMiddleware"),
                    ("middleware", "end", "RequestIDMiddleware"),
                    ("middleware", "end", "CORSMiddleware"),
                ),
                custom(
                    "depth grows inwards: CORSMiddleware < RequestIDMiddleware < BaseHTTPMiddleware "
                    "< HealthCheckMiddleware",
                    _depths("CORSMiddleware", "RequestIDMiddleware", "BaseHTTPMiddleware", "HealthCheckMiddleware"),
                ),
                custom(
                    "your middlewares sit inside ServerErrorMiddleware and outside ExceptionMiddleware",
                    _depths("ServerErrorMiddleware", "CORSMiddleware", "HealthCheckMiddleware", "ExceptionMiddleware"),
                ),
                header("X-Request-ID", value="req-42"),
                header("Access-Control-Allow-Origin", value="https://shop.example"),
                header("X-Process-Time"),
                custom(
                    "app.user_middleware lists them last-added first: CORSMiddleware, RequestIDMiddleware, "
                    "BaseHTTPMiddleware, HealthCheckMiddleware",
                    _user_middleware_order,
                ),
                custom(
                    "the stack was built at the first request, and add_middleware now raises RuntimeError",
                    _add_after_start_fails,
                ),
            ],
        ),
        Step(
            title="A CORS preflight",
            narration="""
Before a web page on another origin sends a request a browser considers
risky (a custom header, a method other than GET/HEAD/POST, JSON...), the
browser first asks permission with an `OPTIONS` **preflight** carrying
`Origin` and `Access-Control-Request-Method`. We send one, as the shop's
web page would.
""",
            request=Send(
                "OPTIONS",
                "/items/3",
                headers={
                    "Origin": "https://shop.example",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "X-Request-ID",
                },
            ),
            look_for=["middleware", "routing"],
            question=Question(
                prompt="Which layers does the preflight pass through?",
                choices=[
                    "All of them, down to read_item",
                    "All the middlewares and the router, which answers OPTIONS",
                    "Only the layers down to CORSMiddleware, which answers it",
                ],
                answer=2,
                why="CORSMiddleware recognises a preflight and answers it itself, with the Access-Control-Allow-* "
                "headers, so nothing inside it runs: no RequestIDMiddleware, no timing, no health check, no "
                "routing, no endpoint.",
            ),
            hints=[
                "Look at the CORSMiddleware end event: did it call the next layer?",
                "An OPTIONS request with Origin and Access-Control-Request-Method is a question for CORS, not for your app.",
            ],
            checks=[
                status(200),
                has("middleware", "end", "CORSMiddleware", called_next=False),
                lacks("middleware", "start", "RequestIDMiddleware"),
                lacks("middleware", "start", "BaseHTTPMiddleware"),
                lacks("middleware", "start", "HealthCheckMiddleware"),
                lacks("routing"),
                lacks("endpoint"),
                header("Access-Control-Allow-Origin", value="https://shop.example"),
                header("Access-Control-Allow-Methods"),
                header("X-Process-Time", present=False),
            ],
        ),
        Step(
            title="An OPTIONS request that is not a preflight",
            narration="""
Without the `Origin` and `Access-Control-Request-Method` headers, an
`OPTIONS` request is not a preflight. `CORSMiddleware` passes it on like
any other request, and the router finds that `/items/{item_id}` exists but
only accepts `GET`, so the answer is **405 Method Not Allowed**. This is a
classic surprise when testing CORS by hand with curl.
""",
            request=Send("OPTIONS", "/items/3"),
            look_for=["middleware", "routing"],
            checks=[
                status(405),
                has("middleware", "end", "CORSMiddleware", called_next=True),
                has("routing", matched=False, status=405, allowed=["GET"]),
                lacks("endpoint"),
                header("Access-Control-Allow-Origin", present=False),
                header("X-Process-Time"),
            ],
        ),
        Exercise(
            title="Answer the health check in the middleware",
            narration="""
Your turn. A load balancer sends `GET /health` every few seconds to see
that the app is alive. It gets 200 `{"status": "ok"}` from
`HealthCheckMiddleware`, but the trace shows more work than that answer
needs. Change `HealthCheckMiddleware` so that it answers `/health` by
itself: the router must not run for it. `GET /items/5` must still reach
`read_item`.
""",
            region="health-check",
            request=[Send("GET", "/health"), Send("GET", "/items/5")],
            look_for=["middleware", "routing"],
            hints=[
                "Read the trace of GET /health: is there a routing event? What does the "
                "HealthCheckMiddleware end event say about calling the next layer?",
                "Code after `await call_next(request)` runs once the router has already handled the request. "
                "A middleware that returns a response without calling call_next answers by itself, as "
                "CORSMiddleware did for the preflight.",
                "In dispatch, look at request.url.path first, and return the JSONResponse before "
                "`await call_next(request)` when it is /health.",
            ],
            checks=[
                status(200),
                body(lambda b: b == {"status": "ok"}, 'the body of GET /health is {"status": "ok"}'),
                has("middleware", "end", "HealthCheckMiddleware", called_next=False),
                lacks("routing"),
                custom("GET /items/5 still goes through HealthCheckMiddleware to read_item and answers 200",
                       _passes_to_read_item),
            ],
        ),
    ],
    summary="""
A middleware runs around the request: code before `call_next` runs on the
way in, code after it on the way out. `add_middleware` puts each one at
the front of `app.user_middleware`, and the stack is built from that list
at the first request (adding one later raises `RuntimeError`), so the
middleware added **last** is the **outermost**: first to see the request,
last to touch the response. A middleware that returns a response without
calling `call_next` answers by itself, and nothing inside it runs:
`CORSMiddleware` does that for a preflight (`OPTIONS` with `Origin` and
`Access-Control-Request-Method`); a bare `OPTIONS` goes through to the
router. Next lesson: routing and `APIRouter`, and why the order of your
routes matters too.
""",
)
