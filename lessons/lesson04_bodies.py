"""Lesson 4: Request bodies and models.

A client sends data in the request **body**, usually as JSON. Declare a
parameter whose type is a Pydantic model and FastAPI reads the body,
parses the JSON, validates it against the model and hands your endpoint a
ready-made object. This lesson sends it bodies that miss a field, have a
wrong type, are malformed JSON, are not labelled as JSON or cannot be read
at all, and reads what FastAPI answers to each.

The exercise at the end is yours to fix.
"""

import inspect
from typing import Any

import fastapi
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="Shop")


class Item(BaseModel):
    name: str
    price: float
    description: str | None = None
    tags: list[str] = []


ITEMS: dict[int, Item] = {}


@app.post("/items")
def create_item(item: Item):
    item_id = len(ITEMS) + 1
    ITEMS[item_id] = item
    return {"item_id": item_id, "item": item}


@app.put("/items/{item_id}")
def update_item(item_id: int, item: Item, notify: bool = False):
    # item_id is in the path; item is a Pydantic model, so it is the body;
    # notify is a plain bool not in the path, so it is a query parameter.
    ITEMS[item_id] = item
    return {"item_id": item_id, "item": item, "notify": notify}


@app.post("/tags")
def create_tag(name: str):
    # No model here, only `name: str` (step 7 posts JSON to it).
    return {"tag": name}


# ── exercise rename: your code starts here ──
@app.post("/items/{item_id}/rename")
def rename_item(item_id: int, name: str):
    return {"item_id": item_id, "name": name}
# ── exercise rename: your code ends here ──


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

# Newer FastAPI releases added `strict_content_type` (on by default): a body
# sent without any Content-Type header is no longer parsed as JSON. Step 5
# shows whichever behaviour the installed FastAPI has.
STRICT_CONTENT_TYPE = "strict_content_type" in inspect.signature(FastAPI.__init__).parameters
JSON = {"content-type": "application/json"}
BROKEN = '{"name": "Pen", "price": 2,}'  # a trailing comma: not valid JSON


def _error_at(loc: list, type_: str) -> Check:
    def test(r: StepResult) -> bool | str:
        errors = r.response.json()["detail"]
        for err in errors:
            if err["loc"] == loc:
                return err["type"] == type_ or f"its type was {err['type']!r}"
        return f"no error has loc {loc}; the locs were {[e['loc'] for e in errors]}"

    return custom(f"the 422 body has an error with loc={loc} and type={type_!r}", test)


def _item_errors(*expected: tuple[list, str]) -> Check:
    """The validation event for `item` carries exactly these (loc, type) errors."""

    def test(r: StepResult) -> bool | str:
        ev = next((e for e in r.events if e.stage == "validation" and e.name == "item"), None)
        if ev is None:
            return "there is no validation event for item"
        got = [(e["loc"], e["type"]) for e in ev.detail.get("errors", [])]
        return sorted(map(str, got)) == sorted(map(str, expected)) or f"its errors were {got}"

    shown = ", ".join(f"{loc} {t}" for loc, t in expected)
    return custom(f"the validation event for item lists the errors {shown}", test)


def _read_from_body() -> Check:
    def test(r: StepResult) -> bool | str:
        checked = [e for e in r.events if e.stage == "validation" and e.name != "item_id"]
        wrong = [f"{e.name} in the {e.detail.get('location')}" for e in checked if e.detail.get("location") != "body"]
        if wrong:
            return f"FastAPI looked for {', '.join(wrong)}"
        if not any(e.detail.get("ok") for e in checked):
            return "no body validation succeeded"
        return True

    return custom("the new name is validated from the body, and nothing is looked for in the query string", test)


def _second_is_missing_name(response: Any) -> bool | str:
    if response.status_code != 422:
        return f"it answered {response.status_code}: {response.text[:120]}"
    errors = response.json()["detail"]
    return any(e["loc"] == ["body", "name"] and e["type"] == "missing" for e in errors) or f"the errors were {errors}"


def _no_content_type_check() -> Check:
    if STRICT_CONTENT_TYPE:
        return custom(
            "the installed FastAPI does not parse a body without Content-Type as JSON: 422, loc ['body']",
            lambda r: (
                (
                    r.response.status_code == 422
                    and r.response.json()["detail"][0]["loc"] == ["body"]
                    and r.response.json()["detail"][0]["type"] == "model_attributes_type"
                )
                or f"the answer was {r.response.status_code} {r.response.text[:120]}"
            ),
        )
    return custom(
        "the installed FastAPI parses a body without Content-Type as JSON anyway: 200",
        lambda r: (
            (r.response.status_code == 200 and r.response.json()["item"]["name"] == "Stapler")
            or f"the answer was {r.response.status_code} {r.response.text[:120]}"
        ),
    )


if STRICT_CONTENT_TYPE:
    _NO_HEADER_STORY = f"""
The installed FastAPI ({fastapi.__version__}) has the `strict_content_type`
setting, on by default: a body with **no** Content-Type is **not** parsed
as JSON, so this is the same 422 as step 4. (It guards against cross-site
requests that skip the header; `FastAPI(strict_content_type=False)` turns
it off.) Older releases parsed it as JSON anyway.
"""
else:
    _NO_HEADER_STORY = f"""
The installed FastAPI ({fastapi.__version__}) has no `strict_content_type`
setting: when the header is **missing** it tries the body as JSON anyway,
so this request succeeds. Newer releases refuse it by default (a 422 like
step 4's), so always send the header.
"""

LESSON = Lesson(
    id="lesson4",
    title="Request bodies and models",
    topics=["request body", "pydantic", "validation", "422", "json", "content-type"],
    goals=[
        "Declare a body with a Pydantic model and see FastAPI validate it before the endpoint.",
        "Tell where each parameter comes from: path, query or body.",
        "Read a body 422: a missing field and a wrong type, and where each error's loc points.",
        "Know what FastAPI answers to malformed JSON, to a body not labelled as JSON, and to one it cannot read.",
    ],
    steps=[
        Step(
            title="A body, a path and a query parameter together",
            narration="""
`update_item(item_id: int, item: Item, notify: bool = False)` mixes all
three sources. FastAPI decides by the declaration: `item_id` is in the
path template, so it is a **path** parameter; `item` is a **Pydantic
model**, so it is the **body**; `notify` is a plain type not in the path,
so it is a **query** parameter.

`PUT /items/3?notify=true` with the JSON body `{"name": "Pen", "price": 2.5}`.
""",
            request=Request("PUT", "/items/3", query={"notify": "true"}, json={"name": "Pen", "price": 2.5}),
            look_for=["validation", "endpoint"],
            question=Question(
                prompt="The body did not send `description` or `tags`. What happens?",
                choices=[
                    "422: every field of Item is required",
                    "200: they have defaults, so FastAPI fills them in",
                    "200, but item.description raises AttributeError in the endpoint",
                ],
                answer=1,
                why="Like query parameters, a model field with a default is optional; the item "
                "arrives with description=None and tags=[].",
            ),
            checks=[
                status(200),
                has("validation", name="item_id", location="path", raw="3", value=3, ok=True),
                has("validation", name="notify", location="query", raw="true", value=True, ok=True),
                has(
                    "validation",
                    name="item",
                    location="body",
                    raw={"name": "Pen", "price": 2.5},
                    ok=True,
                    value={"name": "Pen", "price": 2.5, "description": None, "tags": []},
                ),
                custom(
                    "the endpoint receives an Item object, not a dict",
                    lambda r: (
                        next(e for e in r.events if e.stage == "validation" and e.name == "item")
                        .detail.get("value_type", "")
                        .split(".")[-1]
                        == "Item"
                        or "it received something else"
                    ),
                ),
                order(("validation", "point", "item"), ("endpoint", "start")),
                body(
                    lambda b: b["item"]["tags"] == [] and b["notify"] is True, "the answer has tags=[] and notify=true"
                ),
            ],
        ),
        Step(
            title="A missing field and wrong types",
            narration="""
`POST /items` with `{"price": "cheap", "tags": "sale"}`: `name` is
**missing**, `"cheap"` is not a number, and `"sale"` is a string, not a
list. FastAPI reports **every** problem at once, as in lesson 2.
""",
            request=Request("POST", "/items", json={"price": "cheap", "tags": "sale"}),
            look_for=["validation", "exception"],
            question=Question(
                prompt="What is the `loc` of the error about the missing name?",
                choices=['["name"]', '["body", "name"]', '["body", "item", "name"]', '["query", "name"]'],
                answer=1,
                why='The source comes first, "body", then the field. With a single model body, the parameter '
                'name `item` is not part of the loc: the fields sit directly under "body".',
            ),
            hints=[
                "The failed validation line lists each error with its loc.",
            ],
            checks=[
                status(422),
                has("validation", name="item", location="body", ok=False),
                _item_errors(
                    (["body", "name"], "missing"), (["body", "price"], "float_parsing"), (["body", "tags"], "list_type")
                ),
                _error_at(["body", "name"], "missing"),
                _error_at(["body", "price"], "float_parsing"),
                _error_at(["body", "tags"], "list_type"),
                lacks("endpoint"),
                has("exception", name="RequestValidationError", status_code=422, handled=True),
            ],
        ),
        Step(
            title="Malformed JSON",
            narration="""
Now the body, sent as `application/json`, is not valid JSON:
`{"name": "Pen", "price": 2,}` has a trailing comma. FastAPI fails while
**parsing**, before it looks at a single field.
""",
            request=Request("POST", "/items", content=BROKEN, headers=JSON),
            look_for=["validation", "exception"],
            question=Question(
                prompt="Which status does a syntactically broken JSON body get?",
                choices=["400 Bad Request", "422", "500: the JSON parser crashed"],
                answer=1,
                why="FastAPI catches the json.JSONDecodeError and raises a RequestValidationError, so it gets "
                "the same 422 as any other invalid input, with the error type json_invalid and the loc "
                "['body', <position>]: the character offset where the parser gave up.",
            ),
            hints=[
                "Is there a validation line for the field `item` this time?",
            ],
            checks=[
                status(422),
                has("validation", name="body", ok=False),
                lacks("validation", name="item"),
                lacks("endpoint"),
                body(
                    lambda b: (
                        b["detail"][0]["type"] == "json_invalid"
                        and b["detail"][0]["loc"][0] == "body"
                        and isinstance(b["detail"][0]["loc"][1], int)
                    ),
                    "the 422 says json_invalid at loc ['body', <position>]",
                ),
                body(
                    lambda b: BROKEN[b["detail"][0]["loc"][1]] == "}",
                    "the position points at the '}' right after the trailing comma",
                ),
                has("exception", name="RequestValidationError", status_code=422, handled=True),
            ],
        ),
        Step(
            title="The Content-Type header matters",
            narration="""
FastAPI only parses the body as JSON when the `Content-Type` header says
so (`application/json`). `curl -d '{...}'` sends
`application/x-www-form-urlencoded` unless told otherwise, so FastAPI does
not parse it: it hands the body on as the raw **bytes** it received, and
bytes are not an `Item`: a 422 whose `loc` is just `["body"]` and whose
`type` is `model_attributes_type`. (Not a 400: nothing failed to parse.)
""",
            request=Request(
                "POST",
                "/items",
                content='{"name": "Pen", "price": 2.5}',
                headers={"content-type": "application/x-www-form-urlencoded"},
            ),
            look_for=["validation"],
            hints=[
                "Look at the validation line: was the body parsed (a dict), or handed on unparsed?",
                "Send the header `Content-Type: application/json` (curl: `-H 'Content-Type: application/json'`, "
                "or use `--json`).",
            ],
            checks=[
                status(422),
                has("validation", name="item", location="body", raw='{"name": "Pen", "price": 2.5}', ok=False),
                has("validation", name="item", body_not_parsed=True),
                _error_at(["body"], "model_attributes_type"),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="Bytes that are not even text",
            narration="""
Labelled `application/json` again, but the bytes are not valid UTF-8
(`\\xff` where a letter should be), so they cannot even be decoded into
text for the JSON parser.
""",
            request=Request("POST", "/items", content=b'{"name": "\xffen", "price": 2}', headers=JSON),
            look_for=["validation", "exception"],
            question=Question(
                prompt="Which status does this body get?",
                choices=["422 json_invalid, like the trailing comma", "400 Bad Request", "500"],
                answer=1,
                why="FastAPI turns only a json.JSONDecodeError into a 422. Any other exception while it reads "
                "and parses the body (here a UnicodeDecodeError) becomes HTTPException(400, \"There was an "
                "error parsing the body\").",
            ),
            checks=[
                status(400),
                body(
                    lambda b: b == {"detail": "There was an error parsing the body"},
                    'the body is {"detail": "There was an error parsing the body"}',
                ),
                has("exception", name="HTTPException", status_code=400, handled=True),
                lacks("validation", name="item"),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="No Content-Type at all: it depends on the version",
            narration="""
The same JSON body again, but with **no** `Content-Type` header.
"""
            + _NO_HEADER_STORY,
            request=Request("POST", "/items", content='{"name": "Stapler", "price": 7}'),
            look_for=["validation"],
            checks=[
                _no_content_type_check(),
                has("validation", name="item", location="body", ok=not STRICT_CONTENT_TYPE),
                lacks("endpoint") if STRICT_CONTENT_TYPE else has("endpoint", "start", name="create_item"),
            ],
        ),
        Step(
            title="JSON sent to a query parameter",
            narration="""
`create_tag(name: str)` has **no model**, only a plain `str`. A client
posts the JSON `{"name": "sale"}` to `/tags`.
""",
            request=Request("POST", "/tags", json={"name": "sale"}),
            look_for=["validation"],
            question=Question(
                prompt='POST /tags with the JSON body {"name": "sale"}: what comes back?',
                choices=['200 {"tag": "sale"}', '422, loc ["body", "name"]', '422, loc ["query", "name"]'],
                answer=2,
                why="A plain str that is not in the path is a query parameter, so FastAPI expects "
                "/tags?name=sale. The query string is empty, and FastAPI does not look in the body for it: "
                "a 422 whose loc is ['query', 'name']. To read a JSON body, declare a model as in create_item.",
            ),
            checks=[
                status(422),
                has("validation", name="name", location="query", sent=False, ok=False),
                _error_at(["query", "name"], "missing"),
                lacks("validation", name="body"),
                lacks("endpoint"),
            ],
        ),
        Exercise(
            title="Read the new name from the JSON body",
            narration="""
Your turn. A client renames item 3 by posting the JSON `{"name": "Gel pen"}`
to `/items/3/rename`, and gets a 422 today. Change `rename_item` so that
this request answers **200** with the new name, `item_id` still coming
from the path. A body without `name` must still get a 422, with the `loc`
`["body", "name"]`.
""",
            region="rename",
            request=[
                Request("POST", "/items/3/rename", json={"name": "Gel pen"}),
                # Another item_id, so the tracer can tell the two traces apart (it matches them by URL).
                Request("POST", "/items/4/rename", json={}),
            ],
            look_for=["validation"],
            hints=[
                "Read the failed validation line: in which location does FastAPI look for name?",
                "A plain str that is not in the path is a query parameter, even on a POST. FastAPI reads a "
                "parameter from the body when its type is not a plain value (a Pydantic model, for one), "
                "or when it is declared with Body().",
                "Take a model with a name field (`class NewName(BaseModel): name: str`) instead of "
                "`name: str`, or declare `name: Annotated[str, Body(embed=True)]` (import Annotated and Body): "
                "without embed=True, Body() expects the whole body to be a bare JSON string.",
            ],
            checks=[
                status(200),
                body(
                    lambda b: b == {"item_id": 3, "name": "Gel pen"},
                    'the answer is {"item_id": 3, "name": "Gel pen"}',
                ),
                has("validation", name="item_id", location="path", raw="3", value=3, ok=True),
                _read_from_body(),
                custom(
                    'a body without name gets a 422 with an error at loc ["body", "name"], type "missing"',
                    lambda r: _second_is_missing_name(r.responses[1]),
                ),
            ],
        ),
    ],
    summary="""
A parameter typed with a Pydantic model is read from the **body**: FastAPI
parses the JSON, fills in defaults and validates every field before your
endpoint runs. Every problem, whether a missing field, a wrong type,
broken JSON or a body not labelled `application/json`, becomes a **422**
whose `loc` starts with `"body"`; a body not labelled as JSON is validated
as raw bytes. Only a body that cannot be read or decoded at all is a
**400**. A plain `str` or `int` that is not in
the path is a query parameter, even on a POST.

Next lesson: the way **out**: `response_model` filters what you return,
`response_model_exclude_unset`, returning a `Response` yourself, and what
actually makes JSON serialization fast on the installed FastAPI.
""",
)
