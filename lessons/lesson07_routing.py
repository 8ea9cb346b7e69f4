"""Lesson 7: Routing and routers.

A bigger app splits its routes into `APIRouter`s, one per part of the API,
each with a `prefix` and `tags`. This lesson reads the router's choices off
the trace: which routes it tries, in which order, and what it answers when
none of them fits.
"""

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI

from lifecycle_tracer.course import Exercise, Lesson, Question, Request, Step, body, custom, has, header, lacks, status

app = FastAPI(title="Routing and routers")

USERS = {1: "Ada", 2: "Grace"}
ACCOUNTS = {1: "ada@example.com", 2: "grace@example.com"}
CURRENT_USER_ID = 1  # pretend the caller is logged in as Ada

# users: /users/{user_id} is declared before /users/me (step 3 sends GET /users/me).
users = APIRouter(prefix="/users", tags=["users"])


@users.get("/{user_id}")
async def read_user(user_id: int) -> dict[str, int | str]:
    return {"user_id": user_id, "name": USERS.get(user_id, "unknown")}


@users.get("/me")
async def read_current_user() -> dict[str, int | str]:
    return {"user_id": CURRENT_USER_ID, "name": USERS[CURRENT_USER_ID]}


# accounts: the same pair of routes, with the fixed path declared FIRST.
accounts = APIRouter(prefix="/accounts", tags=["accounts"])


@accounts.get("/me")
async def read_current_account() -> dict[str, int | str]:
    return {"account_id": CURRENT_USER_ID, "email": ACCOUNTS[CURRENT_USER_ID]}


@accounts.get("/{account_id}")
async def read_account(account_id: int) -> dict[str, int | str]:
    return {"account_id": account_id, "email": ACCOUNTS.get(account_id, "unknown")}


app.include_router(users)
app.include_router(accounts)


@app.get("/items")
async def list_items() -> list[str]:
    return ["pen", "stapler"]


# admin: meant to serve GET /admin/stats (the exercise at the end).
# ── exercise admin-prefix: your code starts here ──
admin = APIRouter(prefix="/admin", tags=["admin"])


@admin.get("/stats")
async def read_stats() -> dict[str, int]:
    return {"users": len(USERS), "accounts": len(ACCOUNTS)}


app.include_router(admin, prefix="/admin")
# ── exercise admin-prefix: your code ends here ──


def _routing(events):
    return next(e for e in events if e.stage == "routing")


def _kept_looking(r: Any) -> bool | str:
    # On FastAPI >= 0.163 an included router is one entry the router asks as a whole;
    # before, its routes were copied into the app. Either way the /accounts entry
    # comes after the partial match, because the router does not stop at a partial.
    tried = _tried(r.events)
    matches = [c["match"] for c in _routing(r.events).detail["candidates"]]
    first_partial = matches.index("partial") if "partial" in matches else len(matches)
    return any(p.startswith("/accounts") for p in tried[first_partial + 1 :]) or f"it tried {tried}"


def _tried(events):
    return [c["path"] for c in _routing(events).detail["candidates"]]


def _match_of(path, match):
    def test(r):
        got = {c["path"]: c["match"] for c in _routing(r.events).detail["candidates"]}
        return got.get(path) == match or f"{path} was {got.get(path, 'not tried')}"

    return test


def _not_tried(path):
    def test(r):
        tried = _tried(r.events)
        return path not in tried or f"the router tried {tried}"

    return test


def _redirects_to(path):
    def test(r):
        loc = r.response.headers.get("location", "")
        return urlsplit(loc).path == path or f"Location was {loc!r}"

    return test


def _redirect_checked(path):
    def test(r):
        checked = [c for c in _routing(r.events).detail["candidates"] if c.get("redirect_check")]
        return any(c["path"] == path and c["match"] != "none" for c in checked) or f"the redirect check saw {checked}"

    return test


def _tags(schema, path):
    return schema["paths"][path]["get"]["tags"]


def _admin_paths_listed(r):
    schema = r.responses[1].json()
    listed = [path for path, ops in schema["paths"].items() if "admin" in ops.get("get", {}).get("tags", [])]
    return listed == ["/admin/stats"] or f"the schema lists {listed}"


LESSON = Lesson(
    id="lesson7",
    title="Routing and routers",
    topics=["routing", "APIRouter", "prefix", "route order", "404", "405", "redirect_slashes", "307"],
    goals=[
        "Group routes with APIRouter(prefix=..., tags=...) and include_router.",
        "Read the router's candidates: which routes it tries, in which order, and where it stops.",
        "Know whether a router sorts its routes, and declare them in an order that works.",
        "Tell when the router answers 404 and when 405.",
        "See what redirect_slashes does with /items/ when only /items exists.",
        "Find where a route's full path comes from: include_router's prefix, the router's prefix, the route's path.",
    ],
    steps=[
        Step(
            title="A router with a prefix",
            narration="""
`users = APIRouter(prefix="/users", tags=["users"])` collects the user
routes; `app.include_router(users)` makes the app serve them under that
prefix. Inside the router the route is written `/{user_id}`. We send
`GET /users/2` and read the routing event.
""",
            request=Request("GET", "/users/2"),
            look_for=["routing", "validation", "endpoint"],
            question=Question(
                prompt="Which path template does the routing event report for GET /users/2?",
                choices=["/{user_id}", "/users/{user_id}", "/users/2"],
                answer=1,
                why="The prefix is part of the route's full path, and the full path is what the router matches "
                "and reports: /users/{user_id}. The path parameter it captures is still text ('2'); validation "
                "converts it to an int afterwards.",
            ),
            checks=[
                status(200),
                has("routing", matched=True, route="/users/{user_id}", path_params={"user_id": "2"}),
                has("validation", name="user_id", raw="2", value=2, ok=True),
                has("endpoint", "start", name="read_user"),
                body(lambda b: b == {"user_id": 2, "name": "Grace"}, "the body is Grace's user"),
            ],
        ),
        Step(
            title="Tags group routes in the docs",
            narration="""
`tags` label the routes in the OpenAPI schema (which lists them with
their full, prefixed paths), and the `/docs` page groups them by tag. The
schema is itself served by a route FastAPI added for you, `/openapi.json`.
FastAPI adds its docs routes when the app is created, before any of yours,
so they are the first candidates the router tries.
""",
            request=Request("GET", "/openapi.json"),
            look_for=["routing"],
            checks=[
                status(200),
                has("routing", matched=True, route="/openapi.json"),
                custom(
                    "/openapi.json is the first route the router tries",
                    lambda r: _tried(r.events)[0] == "/openapi.json" or f"it tried {_tried(r.events)}",
                ),
                body(lambda s: _tags(s, "/users/{user_id}") == ["users"], "/users/{user_id} is tagged users"),
                body(lambda s: _tags(s, "/accounts/me") == ["accounts"], "/accounts/me is tagged accounts"),
            ],
        ),
        Step(
            title="The same two routes, inside a router",
            narration="""
Lesson 2 showed `/users/{user_id}` swallowing `/users/me` on the app
itself. Here both routes live in the `users` router, written `/{user_id}`
and `/me`, in that same order. Does a router protect you? We send
`GET /users/me`.
""",
            request=Request("GET", "/users/me"),
            look_for=["routing", "validation", "exception"],
            question=Question(
                prompt="Does the router pick the more specific /users/me route?",
                choices=[
                    "Yes: fixed paths are tried before paths with parameters",
                    "No: routes are tried in the order they were declared, and the first full match wins",
                ],
                answer=1,
                why="Neither FastAPI nor APIRouter sorts routes. /users/{user_id} comes first and matches with "
                "user_id='me'; 'me' is not an int, so the answer is a 422 and read_current_user is never tried.",
            ),
            hints=[
                "Look at the routing event's candidates: in what order are they listed?",
                "A path parameter matches any text in its segment; its type (int) is only checked later, "
                "by validation, after the route is chosen.",
            ],
            checks=[
                status(422),
                has("routing", matched=True, route="/users/{user_id}", path_params={"user_id": "me"}),
                custom("the router never tried /users/me: it stopped at the first full match", _not_tried("/users/me")),
                has("validation", name="user_id", raw="me", ok=False),
                custom(
                    "the validation error is int_parsing at path → user_id",
                    lambda r: any(
                        err["type"] == "int_parsing" and err["loc"] == ["path", "user_id"]
                        for e in r.events
                        if e.stage == "validation" and e.name == "user_id"
                        for err in e.detail["errors"]
                    ),
                ),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="The fix: declare the fixed path first",
            narration="""
The `accounts` router declares `/me` **before** `/{account_id}`. We fire
`GET /accounts/me` and `GET /accounts/2` together: `/accounts/me` now
matches first, and `/accounts/2` still falls through to `/accounts/{account_id}`.
""",
            request=[Request("GET", "/accounts/me"), Request("GET", "/accounts/2")],
            look_for=["routing", "endpoint"],
            checks=[
                status(200),
                has("routing", matched=True, route="/accounts/me"),
                has("endpoint", "start", name="read_current_account"),
                custom(
                    "the router stopped at /accounts/me, before trying /accounts/{account_id}",
                    _not_tried("/accounts/{account_id}"),
                ),
                custom(
                    "GET /accounts/2 is routed to /accounts/{account_id} (after /accounts/me did not match)",
                    lambda r: (
                        _routing(r.traces[1]).detail["route"] == "/accounts/{account_id}"
                        and any((c["path"], c["match"]) == ("/accounts/me", "none")
                                for c in _routing(r.traces[1]).detail["candidates"])
                    ),
                ),
                custom(
                    "GET /accounts/2 answers 200 with Grace's account",
                    lambda r: r.responses[1].json() == {"account_id": 2, "email": "grace@example.com"},
                ),
            ],
        ),
        Step(
            title="404: no route has this path",
            narration="""
`GET /teams/1`: no route's path matches. Every candidate in the routing
event says `none`, the router gives up, and the answer is **404 Not Found**.
""",
            request=Request("GET", "/teams/1"),
            look_for=["routing", "exception"],
            checks=[
                status(404),
                has("routing", matched=False, status=404),
                custom(
                    "every candidate's match is none",
                    lambda r: all(c["match"] == "none" for c in _routing(r.events).detail["candidates"]),
                ),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="The right path, the wrong method",
            narration="""
`DELETE /users/2`: the path matches `/users/{user_id}`, but that route only
accepts `GET`.
""",
            request=Request("DELETE", "/users/2"),
            look_for=["routing", "exception"],
            question=Question(
                prompt="DELETE /users/2: what comes back?",
                choices=["404 Not Found", "405 Method Not Allowed", "422 Unprocessable Entity"],
                answer=1,
                why="The router records a partial match (right path, wrong method) and keeps looking for a full "
                "one; finding none, it answers 405 Method Not Allowed instead of 404, with an Allow header naming "
                "the methods that would work.",
            ),
            hints=["Compare the candidates' match values with the 404 step: is any of them not none?"],
            checks=[
                status(405),
                has("routing", matched=False, status=405, allowed=["GET"]),
                header("Allow", value="GET"),
                custom("/users/{user_id} is a partial match", _match_of("/users/{user_id}", "partial")),
                custom(
                    "after the partial match the router kept looking: it went on to the /accounts routes",
                    _kept_looking,
                ),
                has("exception", name="HTTPException", status_code=405, handled=True),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="A trailing slash: /items/ when only /items exists",
            narration="""
The app has `GET /items`, with no trailing slash. A client asks for
`GET /items/`. No route's path is `/items/`.
""",
            request=Request("GET", "/items/"),
            look_for=["routing"],
            question=Question(
                prompt="GET /items/ when only /items exists: what comes back?",
                choices=["404 Not Found", "200 from list_items", "307 Temporary Redirect to /items"],
                answer=2,
                why="When no route matches, the router (redirect_slashes=True by default) tries the path again "
                "with the trailing slash removed (or added); if a route matches that, the router itself answers "
                "307 with a Location header, and the client has to send a second request. "
                "FastAPI(redirect_slashes=False) turns this off.",
            ),
            hints=[
                "Look at the routing event's candidates: some are marked as the redirect check.",
                "Which status and location does the routing event report?",
            ],
            checks=[
                status(307),
                header("location"),
                custom("the Location header points at /items", _redirects_to("/items")),
                has("routing", matched=False, status=307, answered=True),
                custom(
                    "the routing event records the redirect check: /items matched the slashless path",
                    _redirect_checked("/items"),
                ),
                custom(
                    "the app's router has redirect_slashes=True: FastAPI's default",
                    lambda r: app.router.redirect_slashes is True or "redirect_slashes is off",
                ),
                lacks("endpoint"),
            ],
        ),
        Exercise(
            title="Serve the admin statistics at /admin/stats",
            narration="""
Your turn. The `admin` router's `read_stats` should answer
`GET /admin/stats`, but that request gets **404**. Change the app so that
`GET /admin/stats` answers 200 from `read_stats`, and the OpenAPI schema
lists the admin statistics under that one path.
""",
            region="admin-prefix",
            request=[Request("GET", "/admin/stats"), Request("GET", "/openapi.json")],
            look_for=["routing"],
            hints=[
                "Read the routing event of GET /admin/stats: which path do its candidates give the admin part "
                "of the app? And under which path does /openapi.json list the statistics?",
                "A route's full path is glued together from three parts: the include_router prefix, the "
                "APIRouter prefix, then the path in the decorator.",
                "The prefix /admin is given twice. Keep it in one place: in APIRouter(...) or in include_router(...).",
            ],
            checks=[
                status(200),
                has("routing", matched=True, route="/admin/stats"),
                has("endpoint", "start", name="read_stats"),
                body(lambda b: b == {"users": 2, "accounts": 2}, "the body counts 2 users and 2 accounts"),
                custom("the OpenAPI schema lists the admin statistics at /admin/stats and nowhere else",
                       _admin_paths_listed),
            ],
        ),
    ],
    summary="""
`APIRouter(prefix=..., tags=...)` groups routes: the prefix becomes part of
every path, the tags only label the docs. The router tries routes **in the
order they were declared** and stops at the first full match, so a fixed
path such as `/users/me` must come **before** `/users/{user_id}`, or the
parameter route captures it (a 422 when the parameter is an `int`). No path
matches: **404**. The path matches but not the method: **405**. Only the
trailing slash differs: the router answers **307** to the other spelling
(`redirect_slashes`). A route's full path is every prefix on the way to it
plus its own path, so a prefix given both to `APIRouter` and to
`include_router` is there twice. Next lesson: `async def` versus `def`,
and what blocking the event loop costs.
""",
)
