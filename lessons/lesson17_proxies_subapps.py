"""Lesson 17: Behind a proxy, and sub-apps.

In production an app rarely faces the browser itself: a reverse proxy
(nginx, Traefik, a cloud load balancer) takes the HTTPS connection and
passes each request on to uvicorn, often under a prefix such as `/shop`.
The app then needs to know three things it cannot see on the connection:
the prefix (`root_path`), who the real client is and which scheme it used
(the `X-Forwarded-*` headers). Mounted FastAPI sub-apps build on the same
`root_path`. And on FastAPI releases that have `max_body_size` (0.165.0
does, 0.121.0 does not), a limit on the request body guards the app from
huge uploads.

The app below is a shop served under `/shop`, with a version-1 API mounted
under `/v1`. Its order links are wrong behind the proxy: the exercise at
the end is yours to fix.
"""

import inspect
import itertools
import warnings
from urllib.parse import urlsplit

import fastapi
from fastapi import FastAPI, Request, Response
from pydantic import BaseModel

VERSION = fastapi.__version__
# Newer FastAPI has a request body limit of its own (step 5); older releases read any body whole.
BODY_LIMIT = "max_body_size" in inspect.signature(FastAPI.__init__).parameters
MAX_BODY = 1024

# Newer FastAPI deprecates `root_path=` in favour of the server's setting. The lesson's
# server has none, so the lesson uses the parameter and shows its warning in step 1
# instead of printing it in the middle of the output.
with warnings.catch_warnings(record=True) as _made_app:
    warnings.simplefilter("always")
    app = FastAPI(title="Shop", root_path="/shop", **({"max_body_size": MAX_BODY} if BODY_LIMIT else {}))
ROOT_PATH_WARNINGS = [str(w.message) for w in _made_app]

ITEMS = {42: "Fountain pen", 7: "Notebook"}
ORDERS: dict[int, int] = {}  # order id -> item id
ORDER_IDS = itertools.count(1)


@app.get("/items/{item_id}")
async def read_item(item_id: int, request: Request):
    return {
        "item_id": item_id,
        "name": ITEMS.get(item_id, "unknown"),
        "path": request.scope["path"],
        "root_path": request.scope["root_path"],
        "link": str(request.url_for("read_item", item_id=item_id)),
    }


@app.get("/whoami")
async def whoami(request: Request):
    return {"client": request.client.host, "scheme": request.url.scheme, "link": str(request.url_for("whoami"))}


class Review(BaseModel):
    text: str


@app.post("/reviews")
async def post_review(review: Review):
    return {"length": len(review.text)}


@app.get("/orders/{order_id}")
async def read_order(order_id: int):
    return {"order_id": order_id, "item_id": ORDERS.get(order_id)}


# ── exercise order-link: your code starts here ──
@app.post("/orders", status_code=201)
async def create_order(item_id: int, response: Response):
    order_id = next(ORDER_IDS)
    ORDERS[order_id] = item_id
    response.headers["Location"] = f"/orders/{order_id}"
    return {"order_id": order_id, "item_id": item_id}
# ── exercise order-link: your code ends here ──


# Version 1 of the API: a FastAPI app of its own, with its own docs.
v1 = FastAPI(title="Shop API v1")


@v1.get("/status")
async def v1_status(request: Request):
    return {"version": 1, "root_path": request.scope["root_path"], "link": str(request.url_for("v1_status"))}


app.mount("/v1", v1)


# ---------------------------------------------------------------------------
# The lesson: what the tracer shows, step by step.
# ---------------------------------------------------------------------------

from typing import Any  # noqa: E402

from lifecycle_tracer.course import (  # noqa: E402
    Exercise,
    Lesson,
    Question,
    Step,
    StepResult,
    body,
    custom,
    has,
    lacks,
    order,
    status,
)
from lifecycle_tracer.course import Request as TracedRequest  # noqa: E402

FROM_PROXY = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
REVIEW = {"text": "Writes well. " * 150}  # about 2,000 bytes of JSON


def _origin(result: StepResult, i: int = 0) -> str:
    """scheme://host:port of the server this step's request went to, as uvicorn served it."""
    url = urlsplit(str(result.responses[i].request.url))
    return f"{url.scheme}://{url.netloc}"


def _link_is(key: str, path: str, scheme: str = "http", i: int = 0):
    def test(r: StepResult) -> bool | str:
        want = _origin(r, i).replace("http://", f"{scheme}://", 1) + path
        got = r.responses[i].json().get(key)
        return got == want or f"it was {got!r}, not {want!r}"

    return custom(f"the {key} url_for built is {scheme}://…{path}", test)


def _html_loads(i: int, url: str):
    def test(r: StepResult) -> bool | str:
        page = r.responses[i].text
        return f"url: '{url}'" in page or "the page names no such schema URL"

    return custom(f"the docs page tells the browser to fetch the schema from {url}", test)


def _schema(r: StepResult, i: int) -> dict:
    return r.responses[i].json()


def _servers_are(i: int, url: str):
    def test(r: StepResult) -> bool | str:
        servers = _schema(r, i).get("servers")
        return servers == [{"url": url}] or f"servers was {servers}"

    return custom(f"the schema's servers are [{{'url': '{url}'}}]", test)


def _paths_are(i: int, paths: set[str], which: str):
    def test(r: StepResult) -> bool | str:
        got = set(_schema(r, i).get("paths", {}))
        return paths <= got and not any(p.startswith(("/shop", "/v1")) for p in got) or f"its paths were {sorted(got)}"

    shown = ", ".join(sorted(paths))
    return custom(f"{which} lists {shown} as declared, with no prefix in any path", test)


def _client_seen(host: str):
    def test(r: StepResult) -> bool | str:
        start = r.events[0]
        client = start.detail.get("client") or [None]
        return client[0] == host or f"the request line names {client}"

    return custom(f"the trace's request line names the client {host}, though the connection came from 127.0.0.1",
                  test)


def _header_sent(name: str, value: str):
    def test(r: StepResult) -> bool | str:
        headers = dict(r.events[0].detail.get("headers") or [])
        return headers.get(name) == value or f"{name} was {headers.get(name)!r}"

    return custom(f"the request still carries {name}: {value}", test)


def _routing_lines(i: int, mount: str, route: str):
    """Two routing lines: the main app's router chose the mount, then the sub-app's router chose the route."""

    def test(r: StepResult) -> bool | str:
        got = [(e.detail.get("route"), e.detail.get("mount")) for e in r.traces[i] if e.stage == "routing"]
        if len(got) == 2 and got[0][0] == mount + "/{path}" and got[1] == (mount + route, mount):
            return True
        return f"the routing lines (route, mount) were {got}"

    return custom(f"routing chose the mount {mount}, then the sub-app's router chose {route} in it", test)


def _response_type(value: str):
    def test(r: StepResult) -> bool | str:
        start = next((e for e in r.events if e.stage == "response" and e.kind == "start"), None)
        if start is None:
            return "no response started"
        got = dict(start.detail.get("headers") or []).get("content-type", "")
        return got.startswith(value) or f"content-type was {got!r}"

    return custom(f"what went out has content-type {value}", test)


def _full_link(resp: Any, origin: str, prefix: str) -> bool | str:
    """The response is a 201 whose Location is the whole URL of the new order: scheme, host, prefix, id."""
    if resp.status_code != 201:
        return f"it answered {resp.status_code}"
    location = resp.headers.get("location")
    if location is None:
        return "there is no Location header"
    want = f"{origin}{prefix}/orders/{resp.json()['order_id']}"
    if not urlsplit(location).scheme:
        return f"Location: {location} has no scheme and host, so it cannot say {origin.split(':')[0]}; want {want}"
    return location == want or f"Location: {location}, not {want}"


def _order_link(i: int, scheme: str):
    def test(r: StepResult) -> bool | str:
        # The scheme the proxy vouched for, on the host and port the client asked.
        return _full_link(r.responses[i], _origin(r, i).replace("http://", f"{scheme}://", 1), "/shop")

    how = "with X-Forwarded-Proto: https" if scheme == "https" else "without X-Forwarded-* headers"
    return custom(f"{how}, Location is the full URL {scheme}://…/shop/orders/<the new order's id>", test)


def _order_link_elsewhere(r: StepResult) -> bool | str:
    """The same routes, served by a server whose root path is /store (as `--root-path /store` sets it), over https."""
    with warnings.catch_warnings():  # importing it warns about the libraries under it, not about the lesson
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    # A second app holding this app's routes: `app` itself would put its own root_path="/shop" back.
    elsewhere = FastAPI(title="Shop, served under /store")
    elsewhere.include_router(app.router)
    with TestClient(elsewhere, base_url="https://shop.example", root_path="/store") as client:
        resp = client.post("/store/orders", params={"item_id": 7})
    return _full_link(resp, "https://shop.example", "/store")


if ROOT_PATH_WARNINGS:
    _DEPRECATION = f"""
On the installed FastAPI ({VERSION}) the `root_path=` parameter is
**deprecated**: creating this app warned “{ROOT_PATH_WARNINGS[0]}” This
lesson's server has no root-path setting, so the lesson uses the parameter;
in your own deployment, give the root path to the server instead.
"""
else:
    _DEPRECATION = f"""
The installed FastAPI ({VERSION}) accepts `root_path=` without a warning;
newer releases deprecate it in favour of the server's setting
(`fastapi run --root-path /shop`).
"""

if BODY_LIMIT:
    _LIMIT_STORY = f"""
A proxy usually refuses bodies above some size, and the installed FastAPI
({VERSION}) can do it in the app too: this one is made with
`FastAPI(max_body_size={MAX_BODY})` (a route can also have its own). We POST a
review whose JSON is about 2,000 bytes.

The limit is checked when the app reads the body. This request announced
its size (`content-length`), over {MAX_BODY}, so the first read raises
`_RequestBodyTooLarge`, Starlette's 413 `HTTPException`: no validation, no
endpoint. Read the last lines with care: the exception line says FastAPI's
`http_exception_handler` handled it and returned a 413 (a JSONResponse),
but what went out is `text/plain` "Content Too Large". Starlette's
`RequestBodyLimitMiddleware`, further out, replaced it: when the announced
length is over the limit, it sends its own 413 as soon as a response
starts, and stops the inner one by raising `_RequestBodyLimitResponseSent`,
which you see pass out through the layers inside it.
"""
else:
    _LIMIT_STORY = f"""
A proxy usually refuses bodies above some size. Newer FastAPI releases can
do it in the app too (`FastAPI(max_body_size=...)`, answering **413**), but
the installed FastAPI ({VERSION}) has no such setting: the body is read
whole, whatever its size, then validated and handed to the endpoint. We
POST a review whose JSON is about 2,000 bytes. To limit bodies on this
version, limit them in the proxy, or upgrade.
"""

if BODY_LIMIT:
    _LIMIT_CHECKS = [
        status(413),
        has("exception", status_code=413, handled=True, handler="http_exception_handler", returned="JSONResponse"),
        order(("routing",), ("exception",), ("response", "start")),
        lacks("validation"),
        lacks("endpoint"),
        _response_type("text/plain"),
        has("middleware", "end", name="_BodyLimitExceptionMiddleware", raised_name="_RequestBodyLimitResponseSent"),
        custom("RequestBodyLimitMiddleware ends without raising: it took its own signal back",
               lambda r: any(e.stage == "middleware" and e.kind == "end" and e.name == "RequestBodyLimitMiddleware"
                             and "raised" not in e.detail for e in r.events) or "it raised, or never ran"),
        custom("the body is Starlette's plain 'Content Too Large'", lambda r: r.response.text == "Content Too Large"
               or f"the body was {r.response.text[:80]!r}"),
    ]
else:
    _LIMIT_CHECKS = [
        status(200),
        has("validation", name="review", location="body", ok=True),
        has("endpoint", "start", name="post_review"),
        body(lambda b: b == {"length": len(REVIEW["text"])}, f"the endpoint got all {len(REVIEW['text'])} characters"),
    ]


LESSON = Lesson(
    id="lesson17",
    title="Behind a proxy, and sub-apps",
    topics=["root_path", "proxy", "X-Forwarded-For", "mount", "docs", "url_for", "413"],
    goals=[
        "Know what `root_path` changes and what it does not.",
        "See whether uvicorn trusts X-Forwarded-For and X-Forwarded-Proto, and from whom.",
        "Mount a FastAPI sub-app with docs of its own, and know where they load their schema from.",
        "Know whether your FastAPI can refuse a request body that is too large, and what it answers.",
        "Build links with `request.url_for`, so they still work behind the proxy.",
    ],
    steps=[
        Step(
            title="A prefix the routes do not declare",
            narration=f"""
In production this shop sits behind a **reverse proxy**: the browser asks
for `https://example.com/shop/items/42`, and the proxy passes the request
on to uvicorn. The prefix `/shop` is the proxy's: the app's routes are
declared without it (`/items/{{item_id}}`). The app learns the prefix from
**root_path**; here `FastAPI(root_path="/shop")` puts `"/shop"` in every
request's `scope["root_path"]`.

This proxy passes the path on whole, so the app receives
`GET /shop/items/42`. `read_item` returns what it saw: `scope["path"]`,
`scope["root_path"]`, and a link to itself from
`request.url_for("read_item", item_id=42)`.
{_DEPRECATION}""",
            request=TracedRequest("GET", "/shop/items/42"),
            look_for=["routing", "endpoint"],
            question=Question(
                prompt="The routes are declared without /shop. What does GET /shop/items/42 answer?",
                choices=["404: no route is /shop/items/{item_id}", "200 from read_item", "A redirect to /items/42"],
                answer=1,
                why="Before it compares paths, Starlette's router takes the root_path off the front of the path when "
                "the path starts with it, so /shop/items/42 is compared as /items/42. root_path is not a route prefix: "
                "the routes stay as declared. url_for puts it back in the links it builds.",
            ),
            hints=[
                "The routing line shows the path that came in and the route it matched: compare the two.",
            ],
            checks=[
                status(200),
                has("routing", matched=True, route="/items/{item_id}", path="/shop/items/42"),
                has("endpoint", "start", name="read_item"),
                body(lambda b: b["root_path"] == "/shop" and b["path"] == "/shop/items/42",
                     "the endpoint saw root_path '/shop' and the whole path '/shop/items/42'"),
                _link_is("link", "/shop/items/42"),
            ],
        ),
        Step(
            title="The docs know the prefix",
            narration="""
The docs are served by the app too: the Swagger UI page at `/docs` and the
schema at `/openapi.json`, so through the proxy `/shop/docs` and
`/shop/openapi.json`. The page is HTML the browser runs; the browser then
fetches the schema with a second request, from a URL written in the page.
We ask for both.
""",
            request=[TracedRequest("GET", "/shop/docs"), TracedRequest("GET", "/shop/openapi.json")],
            look_for=["routing", "response"],
            question=Question(
                prompt="From which URL does the page at /shop/docs tell the browser to fetch the schema?",
                choices=["/openapi.json", "/shop/openapi.json", "/docs/openapi.json"],
                answer=1,
                why="FastAPI's docs endpoint writes root_path + openapi_url into the page; without the prefix the "
                "browser would ask the proxy for /openapi.json, which is not the shop's. The schema also names "
                "/shop as its first server, so the page's 'Try it out' sends requests under /shop, while the "
                "paths stay as declared.",
            ),
            checks=[
                status(200),
                has("routing", matched=True, route="/docs", path="/shop/docs"),
                _html_loads(0, "/shop/openapi.json"),
                custom("the schema answers 200", lambda r: r.responses[1].status_code == 200
                       or f"it answered {r.responses[1].status_code}"),
                _servers_are(1, "/shop"),
                _paths_are(1, {"/items/{item_id}", "/whoami"}, "the schema"),
            ],
        ),
        Step(
            title="Who is the client? X-Forwarded-For and X-Forwarded-Proto",
            narration="""
Behind the proxy, every connection uvicorn accepts comes from the proxy.
The proxy says who the real client is, and how it connected, in headers:
`X-Forwarded-For: 203.0.113.7` and `X-Forwarded-Proto: https` (the browser
spoke HTTPS to the proxy; the proxy speaks plain HTTP to uvicorn). We send
them ourselves, from 127.0.0.1, as a proxy on the same machine would.
`whoami` returns `request.client.host`, `request.url.scheme`, and a link
from `url_for`.
""",
            request=TracedRequest("GET", "/shop/whoami", headers=FROM_PROXY),
            look_for=["request", "endpoint"],
            question=Question(
                prompt="What does request.client.host say?",
                choices=[
                    "127.0.0.1: the address the connection came from",
                    "203.0.113.7: the address in X-Forwarded-For",
                    "None: behind a proxy the client is unknown",
                ],
                answer=1,
                why="uvicorn's proxy headers (--proxy-headers, on by default) rewrite the scope's client and scheme "
                "from X-Forwarded-For and X-Forwarded-Proto, but only for connections from an address in "
                "--forwarded-allow-ips: by default 127.0.0.1 and ::1 (FORWARDED_ALLOW_IPS changes the default). "
                "This lesson's server keeps those defaults, and the request came from 127.0.0.1. From any other "
                "address the headers would be ignored: anyone can send them.",
            ),
            hints=[
                "uvicorn reads those headers before the app does, and before the tracer: the request event's "
                "client is what the app will see.",
            ],
            checks=[
                status(200),
                _client_seen("203.0.113.7"),
                _header_sent("x-forwarded-for", "203.0.113.7"),
                body(lambda b: b["client"] == "203.0.113.7" and b["scheme"] == "https",
                     "the endpoint saw client 203.0.113.7 and scheme https"),
                _link_is("link", "/shop/whoami", scheme="https"),
            ],
        ),
        Step(
            title="A mounted FastAPI app, with docs of its own",
            narration="""
`app.mount("/v1", v1)` hands every path under `/v1` to `v1`, a FastAPI app
of its own: its own routes, its own docs, its own schema (lesson 13's
`legacy` was a plain Starlette app, which has none). Through the proxy its docs page is
`/shop/v1/docs`. We fire four requests at once: the sub-app's docs page,
its schema, its `/status` (which returns its root_path and a `url_for`
link to itself), and the main app's schema again.
""",
            request=[
                TracedRequest("GET", "/shop/v1/docs"),
                TracedRequest("GET", "/shop/v1/openapi.json"),
                TracedRequest("GET", "/shop/v1/status"),
                TracedRequest("GET", "/shop/openapi.json"),
            ],
            look_for=["routing"],
            question=Question(
                prompt="From which URL does /shop/v1/docs tell the browser to fetch the schema?",
                choices=["/shop/openapi.json: the main app's", "/v1/openapi.json", "/shop/v1/openapi.json"],
                answer=2,
                why="A mount gives the app under it a root_path of the parent's root_path plus the mount's path: "
                "/shop + /v1. The sub-app's docs endpoint writes that in front of its own openapi_url, and its schema "
                "names /shop/v1 as its server, with its paths as v1 declares them. The main app's schema does not "
                "list the sub-app's routes: a mount is not one of its APIRoutes.",
            ),
            hints=[
                "Two routing lines per request: the main app's router chose the mount, then v1's router chose the route.",
            ],
            checks=[
                status(200),
                _routing_lines(0, "/v1", "/docs"),
                _html_loads(0, "/shop/v1/openapi.json"),
                _servers_are(1, "/shop/v1"),
                custom("the sub-app's schema lists only /status",
                       lambda r: set(_schema(r, 1).get("paths", {})) == {"/status"}
                       or f"its paths were {sorted(_schema(r, 1).get('paths', {}))}"),
                custom("v1_status saw root_path '/shop/v1'",
                       lambda r: r.responses[2].json()["root_path"] == "/shop/v1"
                       or f"it answered {r.responses[2].text[:80]}"),
                _link_is("link", "/shop/v1/status", i=2),
                custom("the main app's schema lists none of the sub-app's routes",
                       lambda r: not any("status" in p for p in _schema(r, 3).get("paths", {}))
                       or f"its paths were {sorted(_schema(r, 3).get('paths', {}))}"),
            ],
        ),
        Step(
            title="A body too large",
            narration=_LIMIT_STORY,
            request=TracedRequest("POST", "/shop/reviews", json=REVIEW),
            look_for=["validation", "exception", "response"],
            checks=[
                custom(f"the request's content-length announces more than {MAX_BODY} bytes",
                       lambda r: int(dict(r.events[0].detail.get("headers") or []).get("content-length", 0)) > MAX_BODY
                       or "its content-length was not over the limit"),
                *_LIMIT_CHECKS,
            ],
        ),
        Exercise(
            title="Make the order link work behind the proxy",
            narration="""
Your turn. `POST /shop/orders?item_id=42` creates an order and answers
**201** with a `Location` header that says where the new order lives. As
the lesson ships it, that link is broken behind the proxy: it says
`/orders/1`, which leaves `/shop`, and the proxy sends nothing outside
`/shop` to this app. Make `Location` the full URL of the new order through
the proxy, `<scheme>://<host>/shop/orders/<id>`, with the scheme the client
used: `https` when the proxy says `X-Forwarded-Proto: https`, `http` when
it says nothing. A proxy may put the app under another prefix tomorrow, so
the checks also serve the same routes once more, under the root path
`/store` over https, and expect `https://…/store/orders/<id>` there.
""",
            region="order-link",
            request=[
                TracedRequest("POST", "/shop/orders", query={"item_id": 42}, headers=FROM_PROXY),
                TracedRequest("POST", "/shop/orders", query={"item_id": 7}),
            ],
            look_for=["endpoint", "response"],
            hints=[
                "Read the checks not met yet: where does the Location header lead, and which part of the path is missing?",
                "root_path is the part of the URL above your app, and step 1's link already had it: "
                "`request.url_for(name, **path_params)` builds a URL to a route by its name, with the "
                "root_path and the scheme in it.",
                "Take `request: Request` as a parameter and set the header to "
                "`str(request.url_for(\"read_order\", order_id=order_id))`.",
            ],
            checks=[
                status(201),
                has("endpoint", "start", name="create_order"),
                _order_link(0, "https"),
                _order_link(1, "http"),
                custom("served under the root path /store over https, Location is "
                       "https://shop.example/store/orders/<the new order's id>", _order_link_elsewhere),
            ],
        ),
    ],
    summary=f"""
**root_path** is the part of the URL above your app: the app gets it in
`scope["root_path"]`, its routes stay as declared (the router takes the
prefix off a path that starts with it), and FastAPI and Starlette put it
back where URLs are built: the docs page, the schema's `servers`, and
`request.url_for`. Build links with `url_for` and they follow the app
wherever it is mounted. uvicorn rewrites the client and scheme from
**X-Forwarded-For** and **X-Forwarded-Proto**, for connections from the
addresses it trusts (127.0.0.1 and ::1 by default). A **mounted** FastAPI app
has docs of its own, under the parent's root_path plus the mount's path.
{"The installed FastAPI refuses a body over `max_body_size` with 413."
 if BODY_LIMIT else "The installed FastAPI has no body limit of its own: set one in the proxy."}

Next lesson: **testing**: `TestClient`, `app.dependency_overrides`, and
what the trace of a request from a test shows.
""",
)
