"""Lesson 2: Path and query parameters.

Everything in a URL arrives as text. The type hints in your endpoint's
signature tell FastAPI what each piece should be, and it converts the
text. This lesson finds out what happens when the text does not fit, and
how to read the error that says where the problem is (`loc`), what went
wrong (`msg`) and a machine-readable code (`type`).

The app below is a tiny item catalogue. Two things in it are wrong on
purpose: step 5 finds one, and the exercise at the end is yours to fix.
"""

from fastapi import FastAPI

app = FastAPI(title="Item catalogue")

ITEMS = {42: "Fountain pen", 7: "Notebook"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, short: bool = False, limit: int = 10):
    # item_id comes from the path; q, short and limit are not in the path, so they come from the query string.
    item = {"item_id": item_id, "name": ITEMS.get(item_id, "unknown"), "limit": limit}
    if q:
        item["q"] = q
    if not short:
        item["description"] = "A long description that short=true leaves out."
    return item


@app.get("/search")
async def search(q: str, page: int = 1):
    # q has no default, so it is required; page has one, so it is optional.
    hits = [name for name in ITEMS.values() if q.lower() in name.lower()]
    return {"q": q, "page": page, "hits": hits}


# Declared after /items/{item_id} on purpose: step 5 asks what that order does.
@app.get("/items/featured")
async def featured_items():
    return {"featured": list(ITEMS.values())}


# ── exercise users-me: your code starts here ──
@app.get("/users/{user_id}")
async def read_user(user_id: int):
    return {"user_id": user_id}


@app.get("/users/me")
async def read_current_user():
    return {"user_id": "the current user"}
# ── exercise users-me: your code ends here ──


# ---------------------------------------------------------------------------
# The lesson: what the tracer shows, step by step.
# ---------------------------------------------------------------------------

from lifecycle_tracer.course import (  # noqa: E402
    Check,
    Exercise,
    Lesson,
    Question,
    Request,
    Step,
    StepResult,
    body,
    custom,
    has,
    lacks,
    order,
    status,
)


def _errors(result: StepResult) -> list[dict]:
    return result.response.json()["detail"]


def _error_at(loc: list, type_: str, input_: object) -> Check:
    """The 422 body has an error at this loc, with this type and input."""

    def test(result: StepResult) -> bool | str:
        for err in _errors(result):
            if err["loc"] == loc:
                if err["type"] == type_ and err.get("input") == input_ and err.get("msg"):
                    return True
                return f"the error at {loc} was {err}"
        return f"no error has loc {loc}; the locs were {[e['loc'] for e in _errors(result)]}"

    return custom(f"the 422 body has an error with loc={loc}, type={type_!r}, input={input_!r} and a msg", test)


def _endpoint_got(**expected: object) -> Check:
    def test(result: StepResult) -> bool | str:
        start = next((e for e in result.events if e.stage == "endpoint" and e.kind == "start"), None)
        if start is None:
            return "the endpoint never started"
        args = start.detail.get("args", {})
        wrong = {k: args.get(k) for k, v in expected.items() if args.get(k) != v}
        return not wrong or f"it received {args}"

    shown = ", ".join(f"{k}={v!r}" for k, v in expected.items())
    return custom(f"the endpoint is called with the converted values {shown}", test)


def _no_candidate(path: str) -> Check:
    def test(result: StepResult) -> bool | str:
        routing = next((e for e in result.events if e.stage == "routing"), None)
        if routing is None:
            return "there is no routing event"
        tried = [c["path"] for c in routing.detail.get("candidates", [])]
        return path not in tried or f"the router tried {tried}"

    return custom(f"the router stopped at the first full match and never tried {path}", test)


LESSON = Lesson(
    id="lesson2",
    title="Path and query parameters",
    topics=["path parameters", "query parameters", "validation", "422", "routing order"],
    goals=[
        "See type hints convert URL text into ints and bools before your code runs.",
        "Predict what FastAPI does when the text does not fit a type hint, and whether your endpoint runs.",
        "Read a 422: what `loc`, `msg`, `type` and `input` tell you.",
        "Tell required query parameters from optional ones.",
        "See why the order of your routes matters, and fix a route that never gets its requests.",
    ],
    steps=[
        Step(
            title="Type hints turn text into values",
            narration="""
We send `GET /items/42?q=pen&short=yes&limit=5`. On the wire every part of
this URL is **text**: `"42"`, `"yes"`, `"5"`. `read_item` declares
`item_id: int`, `short: bool` and `limit: int`, so FastAPI converts each
piece before calling it. `item_id` is in the path template, so it is a
**path parameter**; the others are not, so they are **query parameters**.

Each **validation** line shows the raw text and the value it became.
""",
            request=Request("GET", "/items/42", query={"q": "pen", "short": "yes", "limit": "5"}),
            look_for=["validation", "endpoint"],
            question=Question(
                prompt="`short` is declared `short: bool`. What does read_item receive for `short=yes`?",
                choices=["The text 'yes'", "True", "A 422 error: 'yes' is not a bool"],
                answer=1,
                why="'yes' is one of the spellings Pydantic accepts for a true bool, so FastAPI converts "
                "the text to True before calling read_item.",
            ),
            checks=[
                status(200),
                has("validation", name="item_id", location="path", raw="42", value=42, ok=True),
                has("validation", name="short", location="query", raw="yes", value=True, ok=True),
                has("validation", name="limit", location="query", raw="5", value=5, ok=True),
                _endpoint_got(item_id=42, q="pen", short=True, limit=5),
                order(("routing",), ("validation",), ("endpoint", "start")),
            ],
        ),
        Step(
            title="When the text does not fit",
            narration="""
Now `GET /items/abc`: `read_item` declares `item_id: int`, and `"abc"` is
not an `int`. (The query parameters are not sent, so they get their
defaults; that part is fine.)
""",
            request=Request("GET", "/items/abc"),
            look_for=["routing", "validation", "exception"],
            question=Question(
                prompt="Does read_item run for GET /items/abc?",
                choices=[
                    "Yes, with item_id='abc'",
                    "Yes, with item_id=None",
                    "No: FastAPI answers 422 before calling it",
                    "No: the router answers 404 because no route matches",
                ],
                answer=2,
                why="The router only compares the URL's shape, so /items/{item_id} matches and hands over "
                "item_id as the text 'abc'. Converting it to an int then fails: FastAPI raises "
                "RequestValidationError, and its handler answers 422 without calling read_item.",
            ),
            hints=[
                "Look at the routing line first: which route matched, and what is item_id there?",
                "The routing line says item_id='abc' is still text. The next validation line tries to make an int of it.",
            ],
            checks=[
                status(422),
                has("routing", matched=True, route="/items/{item_id}", path_params={"item_id": "abc"}),
                has("validation", name="item_id", location="path", raw="abc", ok=False),
                has("validation", name="q", location="query", sent=False, value=None, ok=True),
                lacks("endpoint"),
                has(
                    "exception",
                    name="RequestValidationError",
                    handler="request_validation_exception_handler",
                    status_code=422,
                    handled=True,
                ),
                order(("routing",), ("validation", "point", "item_id"), ("exception",), ("response", "start")),
            ],
        ),
        Step(
            title="Reading a 422: loc, msg, type, input",
            narration="""
In `GET /items/abc?limit=lots` both `item_id` and `limit` are wrong. A 422
body is `{"detail": [...]}`, a list of errors, and each entry has:

- `loc`: where it is: first the **source** (`path`, `query`, and in
  later lessons `body`), then the parameter's name;
- `msg`: a sentence for humans; `type`: a stable code for programs
  (`int_parsing`, `missing`, …); `input`: what was actually received.
""",
            request=Request("GET", "/items/abc", query={"limit": "lots"}),
            look_for=["validation", "exception"],
            question=Question(
                prompt="How many entries does the 422's `detail` list have?",
                choices=["1: FastAPI stops at the first bad parameter", "2: it checks every parameter and reports all"],
                answer=1,
                why="FastAPI validates every parameter and collects all the errors, so a client can fix them in one go.",
            ),
            hints=[
                "Count the validation lines marked as failed in the trace.",
            ],
            checks=[
                status(422),
                body(lambda b: len(b["detail"]) == 2, "the 422 body lists 2 errors"),
                _error_at(["path", "item_id"], "int_parsing", "abc"),
                _error_at(["query", "limit"], "int_parsing", "lots"),
                has("validation", name="item_id", ok=False),
                has("validation", name="limit", location="query", raw="lots", ok=False),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="Required or optional: a default decides",
            narration="""
`search(q: str, page: int = 1)`: `q` has **no default**, so it is
**required**; `page` has one, so it may be left out. We send
`GET /search?page=2` and forget `q`. The error's `type` is `missing`,
its `loc` is `["query", "q"]`, and its `input` is `null`: nothing came.
(`q: str | None = None` in `read_item` is the way to make one optional.)
""",
            request=Request("GET", "/search", query={"page": "2"}),
            look_for=["validation"],
            checks=[
                status(422),
                has("validation", name="q", location="query", sent=False, ok=False),
                has("validation", name="page", location="query", raw="2", value=2, ok=True),
                _error_at(["query", "q"], "missing", None),
                body(lambda b: len(b["detail"]) == 1, "only q is reported: page was fine"),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="Route order: /items/featured, declared after /items/{item_id}",
            narration="""
`GET /items/featured` should reach `featured_items`. But the app declares
`/items/{item_id}` **first**.
""",
            request=Request("GET", "/items/featured"),
            look_for=["routing", "validation"],
            question=Question(
                prompt="What does GET /items/featured answer?",
                choices=["200 from featured_items", "404", "422"],
                answer=2,
                why="The router tries routes in the order they were declared and stops at the first that fits. "
                "/items/{item_id} is tried first and its shape fits, so 'featured' must be an int: 422. "
                "featured_items is never tried.",
            ),
            hints=[
                "Which route does the routing line say matched?",
                "The routing line's candidates are in declaration order; /items/featured comes after the match, "
                "so it is never tried.",
            ],
            checks=[
                status(422),
                has("routing", matched=True, route="/items/{item_id}", path_params={"item_id": "featured"}),
                _no_candidate("/items/featured"),
                has("validation", name="item_id", location="path", raw="featured", ok=False),
                _error_at(["path", "item_id"], "int_parsing", "featured"),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="When no route matches at all",
            narration="""
Route order decides which route answers. Now a path that **no** route
declares: `GET /products/1`. Lesson 1 showed the layers around the app;
one of them, ExceptionMiddleware, holds the **exception handlers**:
functions that turn an exception into a response.
""",
            request=Request("GET", "/products/1"),
            look_for=["routing", "exception"],
            fold_rest=True,  # the stages inside are not reached; the step is about who wrote the 404
            question=Question(
                prompt="The client gets a 404. Who wrote that response?",
                choices=[
                    "The endpoint read_item, for a path it does not know",
                    "An exception handler, after the router raised an exception",
                    "uvicorn, the server, because the app did not answer",
                ],
                answer=1,
                why="The router raised HTTPException(404); FastAPI's default handler, http_exception_handler, "
                "turned it into the 404 response. No endpoint ran, and nothing was validated.",
            ),
            checks=[
                status(404),
                has("routing", matched=False, status=404),
                lacks("endpoint"),
                lacks("validation"),
                has("exception", name="HTTPException", status_code=404, handled=True, handler="http_exception_handler"),
            ],
        ),
        Exercise(
            title="Make /users/me answer with the current user",
            narration="""
Your turn. `GET /users/me` answers **422** today, for the same reason as
step 5. Change the app so that `/users/me` answers **200** from
`read_current_user`, while `/users/7` still reaches `read_user`.
""",
            region="users-me",
            request=[Request("GET", "/users/me"), Request("GET", "/users/7")],
            look_for=["routing"],
            hints=[
                "Run it once and read the routing line: which route matched /users/me?",
                "The router takes the first route whose shape fits, in the order the decorators ran.",
                "Move the whole `read_current_user` function (decorator included) above `read_user`.",
            ],
            checks=[
                status(200),
                has("routing", matched=True, route="/users/me"),
                has("endpoint", "start", name="read_current_user"),
                custom("GET /users/7 still answers 200 with user_id 7",
                       lambda r: (r.responses[1].status_code == 200 and r.responses[1].json() == {"user_id": 7})
                       or f"it answered {r.responses[1].status_code}: {r.responses[1].text[:80]}"),
            ],
        ),
    ],
    summary="""
Type hints are instructions: FastAPI converts each path and query
parameter from text to the declared type, and a parameter with no default
is required. If anything does not fit, it answers **422** with one entry
per problem (`loc` says where, `msg` what, `type` which kind, `input` what
came) and your endpoint never runs. Routes are tried in declaration order
and the first whose shape fits wins, so a fixed path must be declared
before any route with a path parameter that its shape also fits. When none
fits, the router raises HTTPException(404) and an exception handler writes
the 404.

Next lesson: **dependency injection**: functions FastAPI calls for you
before the endpoint, their cache, and when the code after `yield` runs.
""",
)
