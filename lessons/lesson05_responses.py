"""Lesson 5: Response models and serialization.

Lessons 2 to 4 followed data **in**. This one follows it **out**. Whatever
your endpoint returns, FastAPI validates it against the `response_model`
and turns it into JSON. You will see what that does to a field the model
does not declare, what `response_model_exclude_unset` leaves out, what
changes when you return a `Response` yourself, and what the popular
advice "use ORJSONResponse for speed" does on the installed FastAPI.

`/catalog/orjson` needs the `orjson` package (`pip install orjson`). The
exercise at the end is yours to fix.
"""

import inspect

import fastapi
import fastapi.routing
from fastapi import FastAPI
from fastapi.responses import JSONResponse, ORJSONResponse
from pydantic import BaseModel

app = FastAPI(title="Shop: the way out")


class UserOut(BaseModel):
    username: str
    email: str


USERS = {
    "ada": {"username": "ada", "email": "ada@example.com", "hashed_password": "not-a-real-hash"},
    # Grace asked for a password reset, so her record holds one more secret.
    "grace": {
        "username": "grace",
        "email": "grace@example.com",
        "hashed_password": "not-a-real-hash-either",
        "reset_token": "not-a-real-token",
    },
}


@app.get("/users/{username}", response_model=UserOut)
async def read_user(username: str):
    return USERS[username]  # the stored record, hashed_password included


@app.get("/users/{username}/export", response_model=UserOut)
async def export_user(username: str):
    # Step 3: the same response_model, but a Response built by hand.
    return JSONResponse(USERS[username])


# ── exercise profile: your code starts here ──
@app.get("/profiles/{username}")
async def read_profile(username: str):
    return USERS[username]  # the stored record, as it is
# ── exercise profile: your code ends here ──


class Item(BaseModel):
    name: str
    description: str | None = None
    price: float
    tax: float = 10.5
    tags: list[str] = []


ITEMS = {
    "foo": {"name": "Foo", "price": 50.2},
    "baz": {"name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": []},
}


@app.get("/items/{item_id}", response_model=Item, response_model_exclude_unset=True)
async def read_item(item_id: str):
    return ITEMS[item_id]


class Product(BaseModel):
    id: int
    name: str
    price: float
    tags: list[str]


# A few thousand products; supplier_cost is internal and must not leak.
CATALOG = [
    {
        "id": i,
        "name": f"Product {i}",
        "price": round(1 + i * 0.25, 2),
        "tags": ["new"] if i % 3 == 0 else [],
        "supplier_cost": round(i * 0.1, 2),
    }
    for i in range(3000)
]


@app.get("/catalog", response_model=list[Product])
async def catalog():
    return CATALOG


@app.get("/catalog/orjson", response_model=list[Product], response_class=ORJSONResponse)
async def catalog_orjson():
    # What the article advises. Step 5 shows what it changes.
    return CATALOG


# ---------------------------------------------------------------------------
# The lesson: what the tracer shows, step by step.
# ---------------------------------------------------------------------------

import importlib.util  # noqa: E402
import json  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402

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
    header,
    lacks,
    status,
)
from lifecycle_tracer.events import TraceEvent  # noqa: E402

VERSION = fastapi.__version__
# Newer FastAPI serializes a response model straight to JSON bytes in
# Pydantic's core when the route keeps the default response class. Read the
# installed source file: the tracer replaces serialize_response in memory.
FAST_PATH = "dump_json=" in inspect.getsource(fastapi.routing)
# ...and deprecates ORJSONResponse (typing_extensions.deprecated marks the class).
ORJSON_DEPRECATED = getattr(ORJSONResponse, "__deprecated__", None) is not None


def _event(events: list[TraceEvent], stage: str, kind: str) -> TraceEvent | None:
    return next((e for e in events if e.stage == stage and e.kind == kind), None)


def _serialized(r: StepResult) -> dict:
    ev = _event(r.events, "serialization", "start")
    return ev.detail if ev else {}


def _model_is_product_list() -> Check:
    def test(r: StepResult) -> bool | str:
        model = _serialized(r).get("response_model") or ""
        return (model.startswith("list[") and model.endswith("Product]")) or f"the model was {model!r}"

    return custom("serialization validates against the response model list[Product]", test)


def _no_supplier_cost(n: int) -> Check:
    return body(
        lambda b: len(b) == n and all("supplier_cost" not in p for p in b),
        f"the JSON has all {n} products and none of them has supplier_cost",
    )


def _output_is_bytes(expected: bool) -> Check:
    def test(r: StepResult) -> bool | str:
        end = _event(r.events, "serialization", "end")
        if end is None:
            return "there is no serialization end event"
        sent = _event(r.events, "response", "end")
        if expected:
            return (
                end.detail.get("bytes") is not None
                and sent is not None
                and end.detail["bytes"] == sent.detail.get("bytes")
            ) or f"serialization produced {end.detail}"
        return "bytes" not in end.detail or f"serialization produced {end.detail.get('bytes')} bytes"

    if expected:
        return custom("serialization already produced the exact JSON bytes that were sent", test)
    return custom("serialization produced Python objects (not bytes): the response class renders them after", test)


def _same_bytes_as_default_route() -> Check:
    def test(r: StepResult) -> bool | str:
        default = next((t for t in r.session.values() if t and t[0].detail.get("path") == "/catalog"), None)
        if default is None:
            return "step 4's trace is not in the session"
        a = _event(default, "response", "end")
        b = _event(r.events, "response", "end")
        return (a and b and a.detail["bytes"] == b.detail["bytes"]) or "the sizes differ"

    return custom("the JSON has exactly as many bytes as step 4's default route sent", test)


def _orjson_warning() -> Check:
    """Create an ORJSONResponse here, recording (not raising) any warning it emits."""

    def test(r: StepResult) -> bool | str:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ORJSONResponse([1])
        if not ORJSON_DEPRECATED:
            return not caught or f"it warned: {caught[0].category.__name__}: {caught[0].message}"
        w = next((c for c in caught if "ORJSONResponse is deprecated" in str(c.message)), None)
        if w is None:
            return f"no deprecation warning was emitted ({[c.category.__name__ for c in caught]})"
        ok = (
            w.category.__name__ == "FastAPIDeprecationWarning"
            and issubclass(w.category, UserWarning)
            and not issubclass(w.category, DeprecationWarning)
            and "faster" in str(w.message)
        )
        return ok or f"it warned {w.category.__mro__}: {w.message}"

    if ORJSON_DEPRECATED:
        return custom(
            "creating an ORJSONResponse emits FastAPIDeprecationWarning (a UserWarning, not a DeprecationWarning) "
            "whose message says the response-model path is faster",
            test,
        )
    return custom("creating an ORJSONResponse emits no warning on the installed FastAPI", test)


def _renders_with(cls: type, call: str) -> Check:
    return custom(
        f"{cls.__name__}.render calls {call}() on the installed version",
        lambda r: call in inspect.getsource(cls.render) or f"its source does not mention {call}",
    )


def _drops_secrets(traces: Sequence[list[TraceEvent]]) -> bool | str:
    for events in traces:
        end = _event(events, "serialization", "end")
        if end is None:
            return "a request has no serialization end event"
        output = json.dumps(end.detail.get("output"))
        leaked = [k for k in ("hashed_password", "reset_token") if k in output]
        if leaked:
            return f"the output still has {', '.join(leaked)}"
    return True


def _orjson_installed() -> Check:
    return custom(
        "orjson is installed (ORJSONResponse cannot render without it)",
        lambda r: importlib.util.find_spec("orjson") is not None or "orjson is missing: pip install orjson",
    )


if FAST_PATH:
    _DEFAULT_STORY = f"""
On the installed FastAPI ({VERSION}) a route with a response model and the
**default** response class takes a fast path: Pydantic validates the list
and its core writes the JSON **bytes** directly (`dump_json`), which
FastAPI wraps in a plain `Response`. Nothing is left to render after the
serialization line.
"""
else:
    _DEFAULT_STORY = f"""
On the installed FastAPI ({VERSION}) serialization validates the list
against `list[Product]` and produces plain Python lists and dicts;
`JSONResponse` then renders them to JSON text with Python's `json` module
while the response is built, after the serialization line.
"""

if ORJSON_DEPRECATED:
    _ORJSON_STORY = f"""
On the installed FastAPI ({VERSION}), a custom response class turns the
fast path **off**: serialization produces Python objects and `ORJSONResponse` renders them with orjson
afterwards. FastAPI also **deprecates** `ORJSONResponse`: creating one
emits a `FastAPIDeprecationWarning` (your terminal may show it).

The times on one request each are noise, not a benchmark: a speed claim
needs many alternating requests. This step checks what changes, not how
fast it is.
"""
else:
    _ORJSON_STORY = f"""
On the installed FastAPI ({VERSION}) both routes produce Python objects
and differ in who turns them into JSON text:
`JSONResponse` with Python's `json` module, or `ORJSONResponse` with
orjson. `ORJSONResponse` is not deprecated here.

The times on one request each are noise, not a benchmark: a speed claim
needs many alternating requests. This step checks what changes, not how
fast it is.
"""

LESSON = Lesson(
    id="lesson5",
    title="Response models and serialization",
    topics=["response_model", "serialization", "exclude_unset", "Response", "ORJSONResponse", "performance"],
    goals=[
        "See what response_model does with fields your endpoint returned but the model does not declare.",
        "Predict which fields response_model_exclude_unset keeps.",
        "Know what returning a Response yourself changes.",
        "Check what the 'use ORJSONResponse' advice really changes on the installed FastAPI, instead of trusting it.",
    ],
    steps=[
        Step(
            title="response_model on the way out",
            narration="""
`read_user` returns the stored record, **including `hashed_password`**.
The route declares `response_model=UserOut`, which has only `username`
and `email`. After the endpoint returns, the **serialization** stage
validates the value against `UserOut`.

(The tracer hides secret-looking values such as passwords in its own
previews; the real response is what the checks read.)
""",
            request=Request("GET", "/users/ada"),
            look_for=["endpoint", "serialization"],
            question=Question(
                prompt="read_user returns a dict with hashed_password. Does the client receive it?",
                choices=[
                    "Yes: the endpoint returned it",
                    "No: response_model=UserOut drops it",
                    "No: FastAPI answers 500 because the dict has an extra key",
                ],
                answer=1,
                why="Extra keys are not an error: validating against UserOut keeps the declared fields and "
                "drops the rest.",
            ),
            checks=[
                status(200),
                custom(
                    "the endpoint returned hashed_password",
                    lambda r: (
                        "hashed_password" in (_event(r.events, "endpoint", "end").detail.get("preview") or {})
                        or "it did not"
                    ),
                ),
                has("serialization", "start", name="UserOut", response_model="UserOut"),
                custom(
                    "the serialized output has no hashed_password",
                    lambda r: (
                        "hashed_password"
                        not in json.dumps(_event(r.events, "serialization", "end").detail.get("output"))
                        or "it is there"
                    ),
                ),
                body(
                    lambda b: b == {"username": "ada", "email": "ada@example.com"},
                    "the client gets only username and email",
                ),
            ],
        ),
        Step(
            title="response_model_exclude_unset",
            narration="""
`read_item` uses `response_model_exclude_unset=True`: fields the returned
data did not **set** are left out, instead of being filled with the
model's defaults. `foo`'s stored dict has only `name` and `price`. `baz`'s
has all five keys, some of them with exactly the default value
(`tax=10.5`, `tags=[]`).

We fetch both at once.
""",
            request=[Request("GET", "/items/foo"), Request("GET", "/items/baz")],
            look_for=["serialization"],
            question=Question(
                prompt="Which keys come back for baz, whose description, tax and tags equal the defaults?",
                choices=[
                    "Only name and price: the others equal their defaults",
                    "All five: they were set explicitly, so they are kept",
                ],
                answer=1,
                why="exclude_unset asks whether a field was set, not what its value is; baz set all five.",
            ),
            hints=["Compare the serialization output lines of the two requests."],
            checks=[
                status(200),
                has("serialization", "start", name="Item", exclude_unset=True),
                body(lambda b: b == {"name": "Foo", "price": 50.2}, "foo: only name and price come back"),
                custom(
                    "baz: all five fields come back, defaults included",
                    lambda r: (
                        r.responses[1].json()
                        == {"name": "Baz", "description": None, "price": 50.2, "tax": 10.5, "tags": []}
                        or f"the body was {r.responses[1].json()}"
                    ),
                ),
            ],
        ),
        Step(
            title="Return a Response yourself",
            narration="""
`export_user` declares the same `response_model=UserOut`, but returns a
`JSONResponse` it built itself, from the stored record.
""",
            request=Request("GET", "/users/ada/export"),
            look_for=["endpoint", "serialization"],
            question=Question(
                prompt="Does hashed_password reach the client this time?",
                choices=["No: response_model=UserOut still filters it", "Yes: the JSONResponse is sent as is"],
                answer=1,
                why="FastAPI sends a returned Response as it is: no validation, no filtering, no "
                "serialization. You get full control over what is sent, and the response model no longer "
                "protects you.",
            ),
            hints=[
                "Is there a serialization start line in this trace, or a single point?",
            ],
            checks=[
                status(200),
                has("endpoint", "end", name="export_user", is_response=True),
                has("serialization", "point", skipped=True, response_class="JSONResponse"),
                lacks("serialization", "start"),
                body(lambda b: b.get("hashed_password") == "not-a-real-hash", "the client gets hashed_password"),
            ],
        ),
        Step(
            title="A big payload, the default way",
            narration="""
`GET /catalog` returns 3000 products through `response_model=list[Product]`;
each also carries an internal `supplier_cost`, which the model drops.
Watch the serialization lines and what comes right after them.
""",
            request=Request("GET", "/catalog"),
            look_for=["serialization", "response"],
            question=Question(
                prompt="The route keeps the default response class, JSONResponse. On the installed FastAPI, "
                "which class builds the response it sends?",
                choices=[
                    "JSONResponse: it renders the lists and dicts to JSON with json.dumps",
                    "A plain Response, around JSON bytes that serialization already wrote",
                ],
                answer=1 if FAST_PATH else 0,
                why=" ".join(_DEFAULT_STORY.split())
                + " Read dump_json and response_class on the serialization start line: "
                + (
                    "dump_json=True, response_class=Response."
                    if FAST_PATH
                    else "dump_json=False, response_class=JSONResponse."
                ),
            ),
            hints=[
                "The serialization start line's detail has dump_json and response_class.",
            ],
            checks=[
                status(200),
                _model_is_product_list(),
                custom(
                    f"serialization runs with dump_json={FAST_PATH} and response_class="
                    + ("Response" if FAST_PATH else "JSONResponse"),
                    lambda r: (
                        (
                            _serialized(r).get("dump_json") is FAST_PATH
                            and _serialized(r).get("response_class") == ("Response" if FAST_PATH else "JSONResponse")
                        )
                        or f"it ran with {_serialized(r)}"
                    ),
                ),
                _output_is_bytes(FAST_PATH),
                header("content-type", value="application/json"),
                _no_supplier_cost(len(CATALOG)),
                *([] if FAST_PATH else [_renders_with(JSONResponse, "json.dumps")]),
            ],
        ),
        Step(
            title="The ORJSONResponse advice, checked",
            narration="""
A popular article says: for speed, set `response_class=ORJSONResponse`.
`/catalog/orjson` is the same route with that one change.
"""
            + _ORJSON_STORY,
            request=Request("GET", "/catalog/orjson"),
            look_for=["serialization", "response"],
            question=Question(
                prompt="With response_class=ORJSONResponse, is the return value still validated against "
                "list[Product], dropping supplier_cost?",
                choices=["No: ORJSONResponse skips the response model", "Yes: only the JSON rendering changes"],
                answer=1,
                why="response_class only chooses how the JSON text is produced; the response model still "
                "validates and filters the data first, exactly as on /catalog.",
            ),
            hints=[
                "Look at response_model, response_class and dump_json on the serialization start line.",
                "Then look at the response end line: how many bytes went out, compared with step 4?",
            ],
            checks=[
                _orjson_installed(),
                status(200),
                _model_is_product_list(),
                has("serialization", "start", response_class="ORJSONResponse", dump_json=False),
                _output_is_bytes(False),
                _renders_with(ORJSONResponse, "orjson.dumps"),
                _no_supplier_cost(len(CATALOG)),
                _same_bytes_as_default_route(),
                _orjson_warning(),
            ],
        ),
        Exercise(
            title="Keep the secrets out of /profiles",
            narration="""
Your turn. `GET /profiles/ada` sends Ada's `hashed_password` to the client,
and `GET /profiles/grace` also sends Grace's `reset_token`. Make both
answer with only `username` and `email`. Keep `read_profile` returning the
stored record as it is: records gain fields over time, so the route itself
must say which fields go out, and nothing else may.
""",
            region="profile",
            request=[Request("GET", "/profiles/ada"), Request("GET", "/profiles/grace")],
            look_for=["endpoint", "serialization"],
            hints=[
                "Compare the endpoint end line with the serialization lines: which fields are in each?",
                "Step 1's route filters what read_user returns on the way out; this route declares nothing "
                "for the serialization stage to validate against.",
                "Give the route a response model with only username and email: UserOut is already there "
                "(`response_model=...` in the decorator, or a return type on the function).",
            ],
            checks=[
                status(200),
                body(
                    lambda b: b == {"username": "ada", "email": "ada@example.com"},
                    "ada's profile has only username and email",
                ),
                custom(
                    "grace's profile has only username and email",
                    lambda r: (
                        r.responses[1].json() == {"username": "grace", "email": "grace@example.com"}
                        or f"the body was {r.responses[1].json()}"
                    ),
                ),
                custom(
                    "read_profile still returns the whole stored record, hashed_password included",
                    lambda r: (
                        "hashed_password" in (_event(r.events, "endpoint", "end").detail.get("preview") or {})
                        or "it did not"
                    ),
                ),
                custom(
                    "the serialization stage validates the record against a response model with declared fields",
                    has("serialization", "start", filters_fields=True).test,
                ),
                custom(
                    "the serialization stage drops hashed_password and reset_token for both",
                    lambda r: _drops_secrets(r.traces),
                ),
            ],
        ),
    ],
    summary=(
        """
`response_model` is a filter on the way out: FastAPI validates what you
return against it and keeps only the declared fields;
`response_model_exclude_unset` also drops fields the data never set. A
`Response` you return yourself skips all of it.
"""
        + (
            f"""
On FastAPI {VERSION}, a response model (or return type) with the default
response class lets Pydantic write the JSON bytes directly, the path
FastAPI's own deprecation message calls faster. `ORJSONResponse` keeps
the validation, turns that path off and is deprecated: drop it (and
`orjson`, if nothing else uses it).
"""
            if FAST_PATH and ORJSON_DEPRECATED
            else f"""
On FastAPI {VERSION} every response model goes through Python objects, and
`ORJSONResponse` only swaps who renders them to JSON text (orjson instead
of Python's `json`); it keeps the validation. Newer FastAPI releases
serialize response models straight to bytes and deprecate `ORJSONResponse`,
so re-check this advice when you upgrade.
"""
        )
        + """
Next lesson: **middleware**: code that wraps every request, the order
the layers run in, and a middleware that answers all by itself.
"""
    ),
)
