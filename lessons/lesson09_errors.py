"""Lesson 9: Errors.

Things go wrong: an item does not exist, a caller is not allowed in, a bug
divides by zero. FastAPI turns an `HTTPException` into a proper error
response and lets you register handlers for your own exceptions. This
lesson follows errors raised in an endpoint and in a middleware, handled
or not, to the response each one becomes.

The exercise at the end is yours: a coupon endpoint whose bad input ends in
a 500, until you give its `ValueError` a handler.
"""

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from lifecycle_tracer.course import (
    Exercise,
    Lesson,
    Question,
    Step,
    body,
    custom,
    has,
    header,
    lacks,
    order,
    status,
)
from lifecycle_tracer.course import Request as Send  # fastapi's Request is used by the app

app = FastAPI(title="Errors")

ITEMS = {"pen": "A blue pen", "mug": "A white mug"}
ADMIN_TOKEN = "letmein"


class UnicornException(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


@app.exception_handler(UnicornException)
async def unicorn_exception_handler(request: Request, exc: UnicornException) -> JSONResponse:
    return JSONResponse(
        status_code=418,
        content={"message": f"Oops! {exc.name} did something. There goes a rainbow..."},
    )


@app.middleware("http")
async def guard_private_paths(request: Request, call_next):
    token = request.headers.get("X-Admin-Token")
    if request.url.path.startswith("/admin/") and token != ADMIN_TOKEN:
        # Step 4: an HTTPException raised in a middleware.
        raise HTTPException(status_code=401, detail="Admin token required")
    if request.url.path.startswith("/staff/") and token != ADMIN_TOKEN:
        # Step 5: the same refusal, returned as a response.
        return JSONResponse(status_code=401, content={"detail": "Admin token required"})
    return await call_next(request)


@app.get("/items/{item_id}")
async def read_item(item_id: str) -> dict[str, str]:
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail="Item not found", headers={"X-Error": "no such item"})
    return {"item": ITEMS[item_id]}


@app.get("/unicorns/{name}")
async def read_unicorn(name: str) -> dict[str, str]:
    if name == "yolo":
        raise UnicornException(name=name)
    return {"unicorn_name": name}


@app.get("/stats/average")
async def average(total: int, count: int) -> dict[str, float]:
    return {"average": total / count}  # a bug: count=0 raises ZeroDivisionError


@app.get("/admin/stats")
async def admin_stats() -> dict[str, int]:
    return {"items": len(ITEMS)}


@app.get("/staff/stats")
async def staff_stats() -> dict[str, int]:
    return {"items": len(ITEMS)}


COUPONS = {"WELCOME10": 10, "SPRING25": 25}


def percent_off(coupon: str) -> int:
    # A business rule that knows nothing about HTTP: it says "bad input" the Python way.
    if coupon not in COUPONS:
        raise ValueError(f"{coupon!r} is not a coupon code")
    return COUPONS[coupon]


# ── exercise value-error: your code starts here ──
@app.get("/coupons/{coupon}")
async def read_coupon(coupon: str) -> dict[str, int | str]:
    return {"coupon": coupon, "percent_off": percent_off(coupon)}
# ── exercise value-error: your code ends here ──


# After an exception escapes the app, uvicorn closes the connection once it has
# logged the traceback. "Connection: close" stops the lesson's HTTP client from
# reusing that connection for the next step's request while it is being closed.
CRASHING = {"Connection": "close"}


def _exception(events):
    return next(e for e in events if e.stage == "exception")


BAD_COUPON = "SUMMER"


def your_handler_answered(r):
    """The ValueError's exception event names a handler the app registered, and its 400."""
    ev = next((e for e in r.events if e.stage == "exception" and e.name == "ValueError"), None)
    if ev is None:
        return "no ValueError left the endpoint"
    d = ev.detail
    if not d.get("handled") or d.get("handler") is None:
        return "no exception handler took it (handler is null)"
    if d.get("builtin_handler"):
        return f"it was answered by FastAPI's own {d['handler']}"
    return d.get("status_code") == 400 or f"{d['handler']} answered {d.get('status_code')}"


def stopped_inside(r):
    """Nothing escaped ExceptionMiddleware, and nothing was re-raised to the server."""
    escaped = [e.detail["raised"] for e in r.events
               if e.stage == "middleware" and e.kind == "end" and e.name == "ExceptionMiddleware"
               and e.detail.get("raised")]
    if escaped:
        return f"{escaped[0]} escaped ExceptionMiddleware"
    raised = r.events[-1].detail.get("raised")
    return raised is None or f"the request ended by re-raising {raised} to the server's log"


def says_what_was_wrong(data):
    return isinstance(data, dict) and any(
        isinstance(v, str) and f"{BAD_COUPON!r} is not a coupon code" in v for v in data.values()
    )


LESSON = Lesson(
    id="lesson9",
    title="Errors",
    topics=["exception", "HTTPException", "exception handlers", "middleware", "500"],
    goals=[
        "Raise HTTPException for an expected error and see the handler that answers it.",
        "Register a handler for your own exception with @app.exception_handler.",
        "See which layer turns an error nobody handles into a response.",
        "Explain what becomes of an HTTPException raised in a middleware, and how to refuse a request there instead.",
    ],
    steps=[
        Step(
            title="HTTPException: an error you meant to send",
            narration="""
`read_item` raises `HTTPException(404, ...)` when the item does not exist.
We ask for `/items/pencil`, which does not.
""",
            request=Send("GET", "/items/pencil"),
            look_for=["endpoint", "exception"],
            question=Question(
                prompt="This 404 and lesson 2's last 404 (a path no route has): what is different in the trace?",
                choices=[
                    "Nothing: both come from the router",
                    "Here the route matched and the endpoint ran, then raised",
                    "Here no exception is involved",
                ],
                answer=1,
                why="The router matched /items/{item_id} and read_item ran; the 404 is your own HTTPException. "
                "Raising stopped the endpoint at once, and FastAPI caught the exception right there, at the route, "
                "and looked up a handler among the app's exception handlers (the ones ExceptionMiddleware hands "
                "down to every route). For HTTPException that is http_exception_handler, the one that answered "
                "lesson 2's 404 too: it builds a JSON response with your status, {\"detail\": ...} and any "
                "headers you passed.",
            ),
            checks=[
                status(404),
                has("routing", matched=True, route="/items/{item_id}"),
                custom(
                    "the endpoint ended by raising HTTPException instead of returning",
                    lambda r: any(
                        e.stage == "endpoint"
                        and e.kind == "end"
                        and str(e.detail.get("raised", "")).endswith("HTTPException")
                        for e in r.events
                    ),
                ),
                has("exception", name="HTTPException", handler="http_exception_handler", status_code=404, handled=True),
                lacks("serialization"),
                custom(
                    "the exception was handled at the route: no middleware layer saw it pass",
                    lambda r: (
                        not [e.name for e in r.events if e.stage == "middleware" and "raised" in e.detail]
                        or f"it passed {[e.name for e in r.events if e.stage == 'middleware' and 'raised' in e.detail]}"
                    ),
                ),
                body(lambda b: b == {"detail": "Item not found"}, 'the body is {"detail": "Item not found"}'),
                header("X-Error", value="no such item"),
            ],
        ),
        Step(
            title="A handler for your own exception",
            narration="""
`UnicornException` is a plain Python exception, and FastAPI does not know
what status it should be. `@app.exception_handler(UnicornException)`
registers `unicorn_exception_handler`: when `read_unicorn` raises it,
FastAPI finds that handler, just as it found `http_exception_handler`
above, and the handler builds the response, here a 418.
""",
            request=Send("GET", "/unicorns/yolo"),
            look_for=["endpoint", "exception"],
            checks=[
                status(418),
                has("exception", name="UnicornException", status_code=418, handled=True),
                custom(
                    "the handler that answered is unicorn_exception_handler",
                    lambda r: str(_exception(r.events).detail["handler"]).endswith("unicorn_exception_handler"),
                ),
                order(("endpoint", "end"), ("exception",), ("response", "start")),
                body(lambda b: b["message"].startswith("Oops! yolo"), "the body is the handler's message"),
            ],
        ),
        Step(
            title="An error nobody handles: 500",
            narration="""
`GET /stats/average?total=10&count=0` divides by zero, and no handler is
registered for `ZeroDivisionError`. **Expect a traceback in the server
log** (stderr) for this step: that is normal, and it is what you would
look at in production.
""",
            request=Send("GET", "/stats/average", query={"total": "10", "count": "0"}, headers=CRASHING),
            look_for=["endpoint", "exception", "response"],
            question=Question(
                prompt="Which layer sends the 500?",
                choices=["ExceptionMiddleware", "ServerErrorMiddleware", "The endpoint"],
                answer=1,
                why="ExceptionMiddleware only runs handlers that were registered; with none for ZeroDivisionError, "
                "the exception passes it and every other layer until the outermost safety net, "
                "ServerErrorMiddleware, which answers 500 and then re-raises the exception so the server logs it.",
            ),
            hints=[
                "Is there a handler for ZeroDivisionError? If not, how far out does the exception travel?",
                "Look at the exception event's handler: null means none of your handlers ran.",
            ],
            checks=[
                status(500),
                has("exception", name="ZeroDivisionError", handler=None, handled=False),
                custom(
                    "the exception escaped ExceptionMiddleware: its middleware end event says it raised",
                    lambda r: any(
                        e.stage == "middleware"
                        and e.kind == "end"
                        and e.name == "ExceptionMiddleware"
                        and e.detail.get("raised") == "ZeroDivisionError"
                        for e in r.events
                    ),
                ),
                order(("exception", "point", "ZeroDivisionError"), ("response", "start")),
                custom(
                    "ServerErrorMiddleware re-raised it after answering, so the server logs it",
                    lambda r: (
                        r.events[-1].detail.get("raised") == "ZeroDivisionError"
                        or f"the request end says {r.events[-1].detail}"
                    ),
                ),
            ],
        ),
        Step(
            title="HTTPException in a middleware",
            narration="""
`guard_private_paths` raises `HTTPException(401)` for `/admin/...` without
a token, as `read_item` raised its 404 in step 1.
""",
            request=Send("GET", "/admin/stats", headers=CRASHING),
            look_for=["middleware", "exception"],
            question=Question(
                prompt="The middleware raises HTTPException(status_code=401). What does the client get?",
                choices=["401 Unauthorized", "403 Forbidden", "500 Internal Server Error"],
                answer=2,
                why="Exception handlers are only run by ExceptionMiddleware and the routes inside it, and your "
                "middlewares sit outside ExceptionMiddleware (lesson 6). The exception never passes through it, so "
                "http_exception_handler never sees it: it travels out to ServerErrorMiddleware like any other crash, "
                "which answers 500 (that is the second traceback in the server log).",
            ),
            hints=[
                "Which layer runs the exception handlers, and is it outside or inside your middleware?",
                "Find BaseHTTPMiddleware and ExceptionMiddleware in the trace: did the request ever reach ExceptionMiddleware?",
            ],
            checks=[
                status(500),
                custom(
                    "the middleware raised HTTPException without calling the next layer",
                    lambda r: any(
                        e.stage == "middleware"
                        and e.kind == "end"
                        and e.name == "BaseHTTPMiddleware"
                        and e.detail.get("called_next") is False
                        and str(e.detail.get("raised", "")).endswith("HTTPException")
                        for e in r.events
                    ),
                ),
                lacks("middleware", "start", "ExceptionMiddleware"),
                lacks("routing"),
                has("exception", name="HTTPException", handler=None, handled=False),
            ],
        ),
        Step(
            title="The fix: return a response from the middleware",
            narration="""
For `/staff/...` the same middleware **returns** a `JSONResponse(401)`
instead of raising. A returned response is an ordinary answer: the
middleware does not call `call_next`, nothing inside it runs, no exception
is involved, and the client gets the 401 it was meant to get.
""",
            request=Send("GET", "/staff/stats"),
            look_for=["middleware", "exception"],
            checks=[
                status(401),
                has("middleware", "end", "BaseHTTPMiddleware", called_next=False),
                lacks("middleware", "start", "ExceptionMiddleware"),
                lacks("routing"),
                lacks("exception"),
                body(
                    lambda b: b == {"detail": "Admin token required"}, 'the body is {"detail": "Admin token required"}'
                ),
            ],
        ),
        Exercise(
            title="Bad input is the client's mistake: 400, not 500",
            narration=f"""
Your turn. `GET /coupons/{BAD_COUPON}` asks for a coupon that does not exist.
`percent_off` raises `ValueError`, nobody handles it, and the client gets
a **500** as if the server were broken (and the server log gets another
traceback). But the mistake is the client's.

Change the app so that a `ValueError` raised in an endpoint is answered
with **400** and a JSON body that carries the error's message, by an
exception handler of your own, so nothing reaches the server log. Leave
`percent_off` as it is: other code may rely on it raising `ValueError`.
""",
            region="value-error",
            request=Send("GET", f"/coupons/{BAD_COUPON}", headers=CRASHING),
            look_for=["endpoint", "exception"],
            hints=[
                "Run it once and read the exception event: which handler took the ValueError?",
                "Step 2 registered a handler for UnicornException; any exception class can have one.",
                "Register `@app.exception_handler(ValueError)` on an async function (request, exc) that "
                "returns `JSONResponse(status_code=400, content=...)` with `str(exc)` in it.",
            ],
            checks=[
                status(400),
                has("endpoint", "start", name="read_coupon"),
                custom("an exception handler of yours, not one of FastAPI's, answered the ValueError with 400",
                       your_handler_answered),
                custom("the ValueError stopped inside ExceptionMiddleware and was not re-raised to the server's log",
                       stopped_inside),
                body(says_what_was_wrong, f"the JSON body carries the message \"{BAD_COUPON!r} is not a coupon code\""),
            ],
        ),
    ],
    summary="""
Raise `HTTPException` for errors you mean to send: FastAPI's
`http_exception_handler` turns it into a JSON response. Register `@app.exception_handler(YourError)` for your own
exceptions. Anything no handler catches reaches `ServerErrorMiddleware`,
which answers 500 and re-raises it so the server logs a traceback, which is
what the tracebacks in this lesson's server log were. Exception handlers
only see errors raised **inside** `ExceptionMiddleware`; in a middleware,
refuse a request by **returning** a response, never by raising
`HTTPException`. An exception handler also translates a plain Python
error like `ValueError` into the status it really means. Next lesson:
**background tasks**, work that runs after the response has been sent.
""",
)
