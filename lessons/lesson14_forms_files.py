"""Lesson 14: Forms and files.

Not every client speaks JSON. An HTML `<form>` sends its fields as
`application/x-www-form-urlencoded` (`name=value&name=value`), and a form
declared with `enctype="multipart/form-data"`, as a file upload must be,
sends `multipart/form-data`: one part per field, each with its own
headers, between boundary lines. `Form()` and `UploadFile`
tell FastAPI to read those instead of a JSON body, and validate them as
it validates JSON. And an uploaded file is a real open file that FastAPI
closes for you: this lesson finds out when.
"""

import inspect
from typing import Annotated

import fastapi.routing
from fastapi import BackgroundTasks, FastAPI, Form, UploadFile
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from pydantic import BaseModel
from starlette.formparsers import MultiPartParser

app = FastAPI(title="Members area")


@app.post("/profile")
async def update_profile(
    display_name: Annotated[str, Form(max_length=40)],
    age: Annotated[int, Form(ge=13)],
    public: Annotated[bool, Form()] = False,  # a checkbox: sent as "on" when ticked, not sent at all when not
):
    return {"display_name": display_name, "age": age, "public": public}


THUMBNAILS: list[dict] = []  # what each thumbnail task found
UPLOADS: list[UploadFile] = []  # kept only so /avatars/last can look at the file after the request


async def make_thumbnail(image: UploadFile) -> None:
    await image.seek(0)
    data = await image.read()
    THUMBNAILS.append({"filename": image.filename, "bytes_read": len(data), "file_was_open": not image.file.closed})


@app.post("/avatars")
async def upload_avatar(
    image: UploadFile,
    background_tasks: BackgroundTasks,
    caption: Annotated[str, Form()] = "",
):
    UPLOADS.append(image)
    background_tasks.add_task(make_thumbnail, image)  # slow work, after the response
    return {"filename": image.filename, "content_type": image.content_type, "size": image.size, "caption": caption}


@app.get("/avatars/last")
async def last_avatar():
    if not THUMBNAILS or not UPLOADS:
        return {"thumbnail_task": None, "closed_now": None}
    return {"thumbnail_task": THUMBNAILS[-1], "closed_now": UPLOADS[-1].file.closed}


class Subscription(BaseModel):
    email: str
    weekly: bool = False


# ── exercise newsletter-form: your code starts here ──
@app.post("/subscribe")
async def subscribe(subscription: Subscription):
    return {"email": subscription.email, "weekly": subscription.weekly}
# ── exercise newsletter-form: your code ends here ──


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
from lifecycle_tracer.events import TraceEvent  # noqa: E402

FORM = {"content-type": "application/x-www-form-urlencoded"}
PROFILE = "display_name=Ada+Lovelace&age=36&public=on"
BOUNDARY = "avatar-7MA4YWxkTrZu0gW"
# A GIF's first bytes, in a part that says image/png: the client's label is all FastAPI reports.
IMAGE = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00;"


def _part(headers: str, content: bytes) -> bytes:
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + content + b"\r\n"


AVATAR_BODY = (
    _part('Content-Disposition: form-data; name="caption"', b"My new avatar")
    + _part('Content-Disposition: form-data; name="image"; filename="ada.png"\r\nContent-Type: image/png', IMAGE)
    + f"--{BOUNDARY}--\r\n".encode()
)
AVATAR_SHOWN = AVATAR_BODY.replace(IMAGE, f"…{len(IMAGE)} bytes of image data…".encode()).decode()
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
NEWSLETTER = "email=ada%40example.com&weekly=on"


def _request_header(r: StepResult, name: str) -> str | None:
    start = r.events[0]
    return next((v for k, v in start.detail.get("headers", []) if k.lower() == name), None)


def _sent_as(content_type: str, length: int) -> Check:
    def test(r: StepResult) -> bool | str:
        got, size = _request_header(r, "content-type"), _request_header(r, "content-length")
        return (got == content_type and size == str(length)) or f"the request said {got!r}, {size!r} bytes"

    return custom(f"the request start shows Content-Type: {content_type} and a {length}-byte body", test)


def _error_at(loc: list, type_: str) -> Check:
    def test(r: StepResult) -> bool | str:
        errors = r.response.json()["detail"]
        for err in errors:
            if err["loc"] == loc:
                return err["type"] == type_ or f"its type was {err['type']!r}"
        return f"no error has loc {loc}; the locs were {[e['loc'] for e in errors]}"

    return custom(f"the 422 body has an error with loc={loc} and type={type_!r}", test)


def _endpoint_got(**expected: object) -> Check:
    def test(r: StepResult) -> bool | str:
        start = next((e for e in r.events if e.stage == "endpoint" and e.kind == "start"), None)
        if start is None:
            return "the endpoint never started"
        args = start.detail.get("args", {})
        return all(args.get(k) == v for k, v in expected.items()) or f"it received {args}"

    shown = ", ".join(f"{k}={v!r}" for k, v in expected.items())
    return custom(f"the endpoint is called with {shown}", test)


def _upload_trace(r: StepResult) -> list[TraceEvent] | None:
    """Step 3's trace: the latest POST /avatars of the session."""
    found = [t for t in r.session.values() if t and t[0].detail.get("method") == "POST"
             and t[0].detail.get("path") == "/avatars"]
    return found[-1] if found else None


def _innermost_layer_closes_after_tasks(r: StepResult) -> bool | str:
    trace = _upload_trace(r)
    if trace is None:
        return "step 3's upload is not in the session: run step 3 first"
    layers = [e.name for e in trace if e.stage == "middleware" and e.kind == "start"]
    if not layers or layers[-1] != "AsyncExitStackMiddleware":
        return f"the layers, outermost first, were {layers}"
    upload = StepResult([None], [trace])
    return order(("response", "end"), ("background", "end", "make_thumbnail"),
                 ("middleware", "end", "AsyncExitStackMiddleware")).test(upload)


def _form_close_is_on_the_middleware_stack(r: StepResult) -> bool | str:
    # The module's file, not the function objects: the tracer wraps some of FastAPI's functions in memory.
    handler = inspect.getsource(fastapi.routing)
    layer = inspect.getsource(AsyncExitStackMiddleware)
    if "await request.form(" not in handler:
        return "get_request_handler does not read the form with request.form()"
    if 'request.scope.get("fastapi_middleware_astack")' not in handler:
        return "get_request_handler does not take the middleware's stack"
    if "push_async_callback(body.close)" not in handler:
        return "get_request_handler does not push the form's close onto it"
    return "async with AsyncExitStack() as stack" in layer or "AsyncExitStackMiddleware opens no AsyncExitStack"


def _trace_of(r: StepResult, content: str) -> list[TraceEvent] | None:
    """Of requests fired together to the same path, the trace whose body had this length."""
    for trace in r.traces:
        start = StepResult([None], [trace])
        if _request_header(start, "content-length") == str(len(content.encode())):
            return trace
    return None


def _form_read(r: StepResult) -> bool | str:
    trace = _trace_of(r, NEWSLETTER)
    if trace is None:
        return "the form's trace is missing"
    checked = [e for e in trace if e.stage == "validation"]
    if not checked:
        return "nothing was validated"
    where = {(e.detail.get("location"), e.detail.get("ok")) for e in checked}
    return where == {("form", True)} or f"the validation lines were (location, ok) {sorted(where, key=str)}"


def _endpoint_ran(r: StepResult) -> bool | str:
    trace = _trace_of(r, NEWSLETTER)
    ran = trace is not None and any(e.stage == "endpoint" and e.kind == "start" for e in trace)
    return ran or "subscribe never started for the form"


def _still_requires_email(r: StepResult) -> bool | str:
    resp = r.responses[1]
    if resp.status_code != 422:
        return f"the form without email answered {resp.status_code}: {resp.text[:100]}"
    locs = [(e["loc"], e["type"]) for e in resp.json()["detail"]]
    return (["body", "email"], "missing") in locs or f"its errors were {locs}"


LESSON = Lesson(
    id="lesson14",
    title="Forms and files",
    topics=["form", "multipart", "UploadFile", "validation", "422", "AsyncExitStackMiddleware"],
    goals=[
        "Read what a form sends on the wire: urlencoded fields, or multipart parts between boundary lines.",
        "Declare form fields with Form() and files with UploadFile, and see where the trace says they came from.",
        "Read a 422 for a form field, and what its loc says about where the field was.",
        "Know what UploadFile tells you about a file, and where it gets that from.",
        "Know when FastAPI closes an uploaded file.",
    ],
    steps=[
        Step(
            title="A form on the wire",
            narration=f"""
A profile page has a plain HTML form. When the member presses *Save*, the
browser sends `POST /profile` with the header
`Content-Type: application/x-www-form-urlencoded` and this body:

```
{PROFILE}
```

`name=value` pairs joined by `&`, escaped the way a URL's query string
is. `update_profile` declares each field with `Form()`, so FastAPI parses
this body as a form (Starlette's `request.form()`, which needs the
`python-multipart` package) and validates each field by its type: the
trace calls their location **form**.
""",
            request=Request("POST", "/profile", content=PROFILE, headers=FORM),
            look_for=["request", "validation", "endpoint"],
            question=Question(
                prompt="What does update_profile receive as display_name?",
                choices=["'Ada+Lovelace'", "'Ada Lovelace'", "A 422: '+' is not allowed in a form field"],
                answer=1,
                why="In a urlencoded body, as in a query string, '+' stands for a space (and %XX for any "
                "other byte). The form parser decodes the text before validation sees it.",
            ),
            checks=[
                status(200),
                _sent_as("application/x-www-form-urlencoded", len(PROFILE)),
                has("validation", name="display_name", location="form", raw="Ada Lovelace", ok=True),
                has("validation", name="age", location="form", raw="36", value=36, ok=True),
                has("validation", name="public", location="form", raw="on", value=True, ok=True),
                _endpoint_got(display_name="Ada Lovelace", age=36, public=True),
                order(("validation", "point", "display_name"), ("endpoint", "start")),
            ],
        ),
        Step(
            title="A form that does not fit",
            narration="""
This time the form has no `display_name` at all, and `age=12`, below the
`ge=13` the field declares. Form fields are validated like any other
parameter, constraints included, and every problem is reported at once.
""",
            request=Request("POST", "/profile", content="age=12", headers=FORM),
            look_for=["validation", "exception"],
            question=Question(
                prompt="What is the `loc` of the error about the missing display_name?",
                choices=['["form", "display_name"]', '["body", "display_name"]', '["query", "display_name"]'],
                answer=1,
                why="The trace says where FastAPI looked (the form), but a form is the request's body, so "
                'the 422 reports it under "body", just as for a JSON body.',
            ),
            hints=["The failed validation lines list each error with its loc (in the TUI, select such a line; in "
                   "plain mode, run with `--record trace.jsonl` and read that line's JSON)."],
            checks=[
                status(422),
                has("validation", name="display_name", location="form", sent=False, ok=False),
                has("validation", name="age", location="form", raw="12", ok=False),
                _error_at(["body", "display_name"], "missing"),
                _error_at(["body", "age"], "greater_than_equal"),
                body(lambda b: len(b["detail"]) == 2, "the 422 body lists exactly those 2 errors"),
                lacks("endpoint"),
            ],
        ),
        Step(
            title="A file upload: multipart/form-data",
            narration=f"""
A file does not fit in `name=value` pairs, so a form that uploads one is
declared `<form method="post" enctype="multipart/form-data">`, and the
browser then sends `multipart/form-data` (without that `enctype`, it sends
only the file's name, urlencoded). The header names a **boundary**, a string
the client picked so that it occurs in none of the parts, and the body is
one part per field between boundary lines, each part with headers of its
own:

```
{AVATAR_SHOWN}
```

`upload_avatar` declares `image: UploadFile` (a file part) and
`caption: Annotated[str, Form()]` (a text part). It also queues a
background task, `make_thumbnail`, that reads the image later.
""",
            request=Request("POST", "/avatars", content=AVATAR_BODY, headers=MULTIPART),
            look_for=["request", "validation", "background"],
            question=Question(
                prompt="The image part says `Content-Type: image/png`, but its bytes are a GIF. "
                "What does image.content_type say?",
                choices=[
                    "image/png: it is the part's own header, as the client sent it",
                    "image/gif: FastAPI looks at the bytes",
                    "Nothing: FastAPI answers 422 because the bytes do not match",
                ],
                answer=0,
                why="UploadFile reports the part's headers and the bytes as they came; nobody opened the "
                "file to look. If the type matters, check the bytes yourself.",
            ),
            hints=[
                "The request line's headers hold the Content-Type with its boundary (in the TUI, select that "
                "line; in plain mode, the check list below the trace quotes it); the validation lines show each "
                "part.",
            ],
            checks=[
                status(200),
                _sent_as(f"multipart/form-data; boundary={BOUNDARY}", len(AVATAR_BODY)),
                has("validation", name="image", location="file", declared_type="UploadFile",
                    value=f"<UploadFile 'ada.png', {len(IMAGE)} bytes>", ok=True),
                has("validation", name="caption", location="form", raw="My new avatar", ok=True),
                body(
                    lambda b: b == {"filename": "ada.png", "content_type": "image/png", "size": len(IMAGE),
                                    "caption": "My new avatar"},
                    f"the answer: filename ada.png, content_type image/png, size {len(IMAGE)}, the caption",
                ),
                order(("response", "end"), ("background", "start", "make_thumbnail")),
            ],
        ),
        Step(
            title="When FastAPI closes the upload",
            narration="""
Starlette's form parser writes each uploaded file into a
`SpooledTemporaryFile` (kept in memory up to 1 MB, then on disk), and
`UploadFile` wraps it: a real, open file. Somebody has to close it.

`make_thumbnail` ran in step 3 after the response had gone out, and wrote
down what it found. `GET /avatars/last` reads that note and looks at the
same file again, now that the request is over.
""",
            request=Request("GET", "/avatars/last"),
            look_for=["endpoint"],
            question=Question(
                prompt="Could make_thumbnail, running after the response was sent, still read the file?",
                choices=[
                    "No: FastAPI closes uploads as soon as the endpoint returns",
                    "No: the file is closed once the response is sent",
                    "Yes: FastAPI closes it later, after the background tasks",
                ],
                answer=2,
                why="FastAPI reads the form with `await request.form()` and pushes the form's close onto "
                "the AsyncExitStack that AsyncExitStackMiddleware opened (scope['fastapi_middleware_astack']). "
                "That layer is the innermost one, just outside the router, and its stack closes when the "
                "router returns: after the response and its background tasks. The ■ AsyncExitStackMiddleware "
                "line of step 3 is that moment.",
            ),
            hints=[
                "Look back at step 3's trace: which line comes after the ■ background make_thumbnail line?",
            ],
            checks=[
                status(200),
                body(
                    lambda b: b["thumbnail_task"] == {"filename": "ada.png", "bytes_read": len(IMAGE),
                                                      "file_was_open": True},
                    f"the thumbnail task found the file open and read all {len(IMAGE)} bytes",
                ),
                body(lambda b: b["closed_now"] is True, "after the request, the same file is closed"),
                custom(
                    "in step 3's trace AsyncExitStackMiddleware is the innermost layer, and it ends after "
                    "the response and the background task",
                    _innermost_layer_closes_after_tasks,
                ),
                custom(
                    "the installed FastAPI pushes the form's close onto AsyncExitStackMiddleware's stack",
                    _form_close_is_on_the_middleware_stack,
                ),
                custom(
                    "Starlette spools an upload in memory up to 1 MB",
                    lambda r: MultiPartParser.spool_max_size == 1024 * 1024
                    or f"its spool_max_size is {MultiPartParser.spool_max_size}",
                ),
            ],
        ),
        Exercise(
            title="Accept the newsletter form",
            narration=f"""
Your turn. The newsletter box on the home page is a plain HTML form,
`<form method="post" action="/subscribe">`, with an `email` field and a
`weekly` checkbox. The browser posts `{NEWSLETTER}`, and `/subscribe`, as
the lesson ships it, answers **422**.

Make `POST /subscribe` accept the form: it must answer **200** with
`{{"email": "ada@example.com", "weekly": true}}`, and a form sent without
an email must still get a 422 saying `email` is missing.
""",
            region="newsletter-form",
            request=[
                Request("POST", "/subscribe", content=NEWSLETTER, headers=FORM),
                Request("POST", "/subscribe", content="weekly=on", headers=FORM),
            ],
            look_for=["validation"],
            hints=[
                "Run it and read the validation line: where did FastAPI look for `subscription`, and did it "
                "parse the body?",
                "A parameter typed with a Pydantic model is read from a JSON body. `Form()` tells FastAPI "
                "to read form fields instead, for one field or for a whole model.",
                "Annotate the parameter: `subscription: Annotated[Subscription, Form()]` "
                "(or declare `email` and `weekly` as two `Form()` parameters).",
            ],
            checks=[
                status(200),
                body(lambda b: b == {"email": "ada@example.com", "weekly": True},
                     'the form gets {"email": "ada@example.com", "weekly": true}'),
                custom("every validation line of the form's request reads the form, and passes", _form_read),
                custom("subscribe runs for the form", _endpoint_ran),
                custom('the form without email gets a 422 with loc ["body", "email"], type missing',
                       _still_requires_email),
            ],
        ),
    ],
    summary="""
A form body is not JSON: urlencoded `name=value` pairs, or multipart parts
between boundary lines when it carries files. Declare fields with `Form()`,
one parameter each or all of them as one Pydantic model, and files with
`UploadFile`; the trace says **form** or **file** for where it looked, and
a 422 still reports the field under `"body"`. An `UploadFile` gives you the
client's filename and content type as sent, and an open spooled file,
which FastAPI closes when AsyncExitStackMiddleware's stack closes: after
the response and its background tasks.

Next lesson: **shaping the response**: status codes, headers and cookies
through the `Response` parameter, returning a `Response` yourself, and
response classes for HTML and plain text.
""",
)
