"""Lesson 13: Behind the route.

Every `@app.get(...)` creates an `APIRoute`. When the router picks it, the
route calls its *handler*, the function `APIRoute.get_route_handler()`
returns: it solves the dependencies, validates the inputs, calls your
endpoint and serializes the result into a `Response`. A custom
`route_class` can wrap that handler for every route at once.

Not every request reaches one of the app's own `APIRoute`s, though: a
mounted sub-application gets some of them. And around all the requests
runs the app's lifespan: this lesson finds out when, and whether a mounted
app's lifespan runs too.
"""

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from lifecycle_tracer.course import Exercise, Lesson, Question, Step, custom, has, header, lacks, order, status
from lifecycle_tracer.course import Request as TracedRequest

PRICES: dict[str, float] = {}  # filled by the lifespan, read by every request


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    PRICES.update({"apple": 0.5, "pear": 0.75})  # before yield: load what every request needs
    yield
    PRICES.clear()  # after yield: release it


class TimedRoute(APIRoute):
    """A route whose handler reports how long it took, in a response header."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original_handler = super().get_route_handler()

        async def timed_handler(request: Request) -> Response:
            started = time.perf_counter()
            response = await original_handler(request)
            response.headers["X-Handler-Time"] = f"{(time.perf_counter() - started) * 1000:.3f}ms"
            return response

        return timed_handler


app = FastAPI(title="Fruit shop", lifespan=lifespan)
app.router.route_class = TimedRoute  # every route declared below is a TimedRoute


@app.get("/prices/{fruit}")
async def price(fruit: str) -> dict[str, float | str]:
    return {"fruit": fruit, "price": PRICES.get(fruit, 0.0)}


@app.get("/orders/{order_id}")
async def order_detail(order_id: int) -> dict[str, int]:
    return {"order_id": order_id}


async def legacy_status(request: Request) -> PlainTextResponse:
    return PlainTextResponse("legacy ok")


async def legacy_ready(request: Request) -> JSONResponse:
    # request.app is the sub-app here: Starlette sets scope["app"] to itself.
    return JSONResponse({"lifespan_ran": getattr(request.app.state, "started", False)})


@asynccontextmanager
async def legacy_lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.started = True  # step 5 asks whether this ever runs
    yield


legacy = Starlette(  # an older, plain Starlette app
    routes=[Route("/status", legacy_status), Route("/ready", legacy_ready)],
    lifespan=legacy_lifespan,
)
app.mount("/legacy", legacy)

# ── exercise v2-mount: your code starts here ──
v2 = FastAPI(title="Fruit shop, version 2")  # the next version of the API, as an app of its own


@v2.get("/v2/ping")
async def ping() -> dict[str, str]:
    return {"ping": "pong", "version": "2"}


app.mount("/v2", v2)
# ── exercise v2-mount: your code ends here ──


# --- the lesson -----------------------------------------------------------


def _lifespan_traces(session, which):
    """The session's lifespan traces of one kind, "startup" or "shutdown"."""
    return [
        evs
        for evs in session.values()
        if evs and evs[0].detail.get("type") == "lifespan" and evs[0].name == f"lifespan {which}"
    ]


def startup_done_before_any_request(r):
    startups = _lifespan_traces(r.session, "startup")
    if len(startups) != 1:
        return f"{len(startups)} startup traces in the session"
    end = startups[0][-1]
    if end.detail.get("ok") is not True:
        return "the startup did not finish"
    requests = [evs for evs in r.session.values() if evs and evs[0].detail.get("type") in ("http", "websocket")]
    early = [evs[0].name for evs in requests if evs[0].t_ns < end.t_ns]
    return not early or f"these started before the startup ended: {early}"


def no_requests_yet(r):
    requests = [evs[0].name for evs in r.session.values() if evs and evs[0].detail.get("type") in ("http", "websocket")]
    return not requests or f"requests already traced: {requests}"


def handler_time_fits(r):
    """The header's time covers validation to serialization, and not the whole request."""
    value = r.response.headers.get("x-handler-time", "")
    if not value.endswith("ms"):
        return f"X-Handler-Time was {value!r}"
    handler_ms = float(value[:-2])
    ev = r.events
    first_inside = next(e.t_ns for e in ev if e.stage == "validation")
    last_inside = next(e.t_ns for e in ev if e.stage == "serialization" and e.kind == "end")
    inside_ms = (last_inside - first_inside) / 1e6
    total_ms = ev[-1].detail["duration_ns"] / 1e6
    if inside_ms - 0.001 <= handler_ms <= total_ms:
        return True
    return f"handler {handler_ms} ms, validation→serialization {inside_ms:.3f} ms, whole request {total_ms:.3f} ms"


def v2_routed(r):
    """Some routing event, of a router under the mount /v2, chose ping's route /v2/ping."""
    routing = [e for e in r.events if e.stage == "routing"]
    for e in routing:
        d = e.detail
        if d.get("matched") and (d.get("route"), d.get("endpoint"), d.get("mount")) == ("/v2/ping", "ping", "/v2"):
            return True
    seen = [
        f"{e.name} (a mount)" if e.detail.get("route_kind") == "Mount"
        else e.name + (f" (inside the mount {e.detail['mount']})" if e.detail.get("mount") else "")
        for e in routing
    ]
    return "the routing lines were: " + ("; ".join(seen) or "none")


LESSON = Lesson(
    id="lesson13",
    title="Behind the route",
    topics=["routing", "route class", "mount", "lifespan", "exception"],
    goals=[
        "Know what an APIRoute's handler does, and wrap it for every route with a custom route_class.",
        "See which part of the request a route-class wrapper covers, and what it cannot catch.",
        "Mount a plain Starlette app: see which of FastAPI's stages its requests go through, "
        "and whether its own lifespan runs.",
        "See when the code before yield in the app's lifespan runs.",
        "Know that a mounted app routes only the part of the path after the mount's prefix.",
    ],
    steps=[
        Step(
            title="The app's lifespan",
            narration="""
`lifespan()` is the app's **lifespan**: its code before `yield` fills
`PRICES`, which every price request reads, and its code after `yield`
empties it again. The tracer records the lifespan as traces of its own,
apart from the requests.

This step sends nothing; its checks read the session's traces so far.
""",
            look_for=["request"],
            question=Question(
                prompt="When does the code before `yield` in lifespan run?",
                choices=[
                    "Before every request",
                    "Once, when the server starts, before any request",
                    "On the first request only, then never again",
                ],
                answer=1,
                why="When uvicorn started, it ran the app's lifespan: the server sends the lifespan startup event "
                "once, and serves requests only after the app says it is done. The tracer recorded it as a short "
                "trace of its own, named lifespan startup.",
            ),
            checks=[
                custom(
                    "exactly one lifespan startup ran, and it finished",
                    lambda r: (
                        len(_lifespan_traces(r.session, "startup")) == 1
                        and _lifespan_traces(r.session, "startup")[0][-1].detail.get("ok") is True
                    ),
                ),
                custom("no request has been traced yet", no_requests_yet),
                custom("no shutdown has happened", lambda r: not _lifespan_traces(r.session, "shutdown")),
            ],
        ),
        Step(
            title="A route with a custom route class",
            narration="""
`GET /prices/apple` is a `TimedRoute`, because we set
`app.router.route_class = TimedRoute` before declaring the routes.
`TimedRoute.get_route_handler()` takes the handler `APIRoute` built and
wraps it: start a clock, `await` the original handler, add an
`X-Handler-Time` header to the `Response` it returns.

The price comes from `PRICES`, which the lifespan startup filled.
""",
            request=TracedRequest("GET", "/prices/apple"),
            look_for=["routing", "validation", "endpoint", "serialization", "response"],
            question=Question(
                prompt="Which part of the request does X-Handler-Time measure?",
                choices=[
                    "Only the endpoint function",
                    "Validation, the endpoint and serialization: everything the route's handler does",
                    "The whole request, middleware included",
                ],
                answer=1,
                why="The wrapper calls the original handler, which validates, calls the endpoint and serializes; "
                "middleware and sending the response are outside it.",
            ),
            hints=[
                "The wrapper starts its clock after routing and stops it when the handler hands back a Response.",
                "Compare the header's time with the times of the ◆ validation and ■ serialization lines.",
            ],
            checks=[
                status(200),
                custom(
                    "every route declared on the app is a TimedRoute",
                    lambda r: all(isinstance(rt, TimedRoute) for rt in app.routes if isinstance(rt, APIRoute)),
                ),
                header("x-handler-time"),
                order(
                    ("routing",),
                    ("validation",),
                    ("endpoint", "start"),
                    ("serialization", "end"),
                    ("response", "start"),
                ),
                custom(
                    "X-Handler-Time covers validation → serialization, and is less than the whole request",
                    handler_time_fits,
                ),
                custom("the lifespan startup finished before this request started", startup_done_before_any_request),
                custom("the price comes from what the startup loaded", lambda r: r.response.json()["price"] == 0.5),
            ],
        ),
        Step(
            title="When validation fails inside the wrapper",
            narration="""
`GET /orders/abc`: `order_id` must be an `int`, so validation fails inside
the original handler, which **raises** `RequestValidationError` instead of
returning a `Response`. The client gets a 422.
""",
            request=TracedRequest("GET", "/orders/abc"),
            look_for=["validation", "exception", "response"],
            question=Question(
                prompt="Does the 422 response carry X-Handler-Time?",
                choices=["Yes, every response of a TimedRoute does", "No"],
                answer=1,
                why="The handler raised instead of returning a Response: the exception flew straight through "
                "timed_handler, past the line that adds the header. The 422 is made afterwards by FastAPI's "
                "handler for validation errors (request_validation_exception_handler), which Starlette runs around "
                "the route's handler, so outside your wrapper.",
            ),
            hints=[
                "Did the original handler return a Response, or raise?",
                "The header is added only after `await original_handler(request)` returns.",
            ],
            checks=[
                status(422),
                has("validation", name="order_id", ok=False),
                lacks("endpoint"),
                has(
                    "exception",
                    name="RequestValidationError",
                    status_code=422,
                    handled=True,
                    handler="request_validation_exception_handler",
                ),
                order(("validation",), ("exception",), ("response", "start")),
                header("x-handler-time", present=False),
            ],
        ),
        Step(
            title="A mounted Starlette app",
            narration="""
`app.mount("/legacy", legacy)` hands every path under `/legacy` to a plain
Starlette app. FastAPI's router matches the **mount**, strips `/legacy`, and
the sub-app routes `/status` itself. `legacy_status` is not an `APIRoute`.
""",
            request=TracedRequest("GET", "/legacy/status"),
            look_for=["routing", "response"],
            question=Question(
                prompt="Which of FastAPI's stages does GET /legacy/status go through?",
                choices=[
                    "All of them, like any route",
                    "The app's middleware and routing; none of the stages of a route's handler",
                    "None: the sub-app bypasses the whole FastAPI app",
                ],
                answer=1,
                why="The mount is a route of the main router, so the request passes through the app's middleware "
                "stack first, exactly like any other. The router then hands it to the Starlette app: there is no "
                "APIRoute, so no handler of FastAPI's: no dependencies, no validation, no endpoint stage, no "
                "serialization, and no TimedRoute header.",
            ),
            checks=[
                status(200),
                has("routing", matched=True, route="/legacy/status", endpoint="legacy_status"),
                order(
                    ("middleware", "start", "ServerErrorMiddleware"),
                    ("middleware", "start", "ExceptionMiddleware"),
                    ("routing",),
                    ("response", "start"),
                ),
                custom(
                    "the routing event names the mount under /legacy",
                    lambda r: any(
                        e.stage == "routing" and str(e.detail.get("mount", "")).startswith("/legacy") for e in r.events
                    ),
                ),
                lacks("dependency"),
                lacks("validation"),
                lacks("endpoint"),
                lacks("serialization"),
                header("x-handler-time", present=False),
                has("response", "start", status_code=200),
                custom("the body is the sub-app's plain text", lambda r: r.response.text == "legacy ok"),
            ],
        ),
        Step(
            title="A mounted app with a lifespan of its own",
            narration="""
`legacy` has a lifespan of its own: `legacy_lifespan` sets
`app.state.started = True`. `GET /legacy/ready` answers whether that
lifespan ran.
""",
            request=TracedRequest("GET", "/legacy/ready"),
            look_for=["routing"],
            question=Question(
                prompt="Did legacy_lifespan run when the server started?",
                choices=["Yes: every app's lifespan runs at startup", "No: only the main app's lifespan runs"],
                answer=1,
                why="The server only talks to the FastAPI app, and legacy is one of its routes. The server sends "
                "the lifespan events to the main app only, and its router runs only its own "
                "lifespan_context: Starlette does not pass them on to a mounted app. Put startup work a mounted app "
                "needs in the main app's lifespan.",
            ),
            checks=[
                status(200),
                has("routing", matched=True, route="/legacy/ready", endpoint="legacy_ready"),
                custom(
                    "the sub-app answers lifespan_ran=false: legacy_lifespan never ran",
                    lambda r: r.response.json() == {"lifespan_ran": False} or f"it answered {r.response.text}",
                ),
                custom(
                    "the session has exactly one lifespan startup, the main app's, and it filled PRICES",
                    lambda r: (len(_lifespan_traces(r.session, "startup")) == 1 and PRICES.get("apple") == 0.5)
                    or f"{len(_lifespan_traces(r.session, 'startup'))} startups, PRICES={PRICES}",
                ),
            ],
        ),
        Exercise(
            title="Make GET /v2/ping reach the mounted v2 app",
            narration="""
Your turn. The shop's next API version is an app of its own, `v2`,
mounted at `/v2`, and its clients call `GET /v2/ping`. Today they get
**404**. Change the code so that `GET /v2/ping` answers **200** from `ping`,
with `v2` still a separate app mounted at `/v2`.
""",
            region="v2-mount",
            request=TracedRequest("GET", "/v2/ping"),
            look_for=["routing"],
            hints=[
                "This request has two ◆ routing lines: the main router matched the mount, then `v2`'s own router "
                "found no route. So the mount works; what does `v2`'s router compare with its routes?",
                "A mounted app routes only what comes after the mount's prefix (step 4: `legacy` routes `/status`, "
                "not `/legacy/status`). In the TUI, the detail of `v2`'s routing line lists the routes it tried, "
                "shown with the mount's prefix in front.",
                "The `/v2` comes from the mount already: declare `v2`'s route as `/ping`, not `/v2/ping`.",
            ],
            checks=[
                status(200),
                custom("inside the mount /v2, v2's own router matched /v2/ping to ping", v2_routed),
                has("endpoint", "start", name="ping"),
                custom(
                    "the body is v2's pong",
                    lambda r: r.response.json() == {"ping": "pong", "version": "2"} or f"it was {r.response.text[:80]}",
                ),
            ],
        ),
    ],
    summary="""
A route's **handler** (`APIRoute.get_route_handler()`) is where FastAPI's own
stages live: dependencies, validation, your endpoint and serialization. A
custom `route_class` wraps that handler for every route that uses it, but
it sees exceptions fly past, not the responses the exception handlers make
later. A **mounted** app gets the request from the router, inside the app's
middleware, routes only the part of the path after the mount's prefix, and
handles the rest itself: a plain Starlette app has none of FastAPI's route
stages. A mounted app's own lifespan never runs. The **lifespan** startup
ran once before the first request; when this lesson ends and uvicorn stops,
the code after `yield` runs once (the shutdown), after the last request,
where no step can check it.

Next lesson: **forms and files**: request bodies that arrive as HTML form
fields and uploaded files instead of JSON.
""",
)
