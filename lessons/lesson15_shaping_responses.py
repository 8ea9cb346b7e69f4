"""Lesson 15: Shaping the response.

Your endpoint returns data; FastAPI builds the response around it. Most of
the time you only need to adjust that response: a status code on the
decorator, or a `response: Response` parameter to write headers, cookies
and a status code on. You can also return a `Response` yourself. And
`response_class` picks what kind of response FastAPI builds, JSON or HTML
or plain text.
"""

import itertools
from html import escape

from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel

app = FastAPI(title="Notes")


class NoteIn(BaseModel):
    text: str


NOTES: dict[int, str] = {1: "Buy flour. And eggs", 2: "Chapter one. " * 100}
NOTE_IDS = itertools.count(3)
LONG_NOTE = 1000  # characters: a longer note is exported later, not at once


@app.post("/notes", status_code=201)
async def create_note(note: NoteIn):
    note_id = next(NOTE_IDS)
    NOTES[note_id] = note.text
    return {"id": note_id, "text": note.text}


@app.post("/drafts")
async def save_draft(note: NoteIn):
    return {"draft": note.text, "saved": True}


@app.get("/notes/{note_id}")
async def read_note(note_id: int, response: Response):
    response.headers["Cache-Control"] = "private, max-age=60"
    response.set_cookie("last_note", str(note_id))  # so the app can offer "continue where you left off"
    return {"id": note_id, "text": NOTES[note_id]}


@app.post("/notes/{note_id}/export", status_code=201)
async def export_note(note_id: int, response: Response):
    text = NOTES[note_id]
    if len(text) > LONG_NOTE:
        response.status_code = 202  # Accepted: the export will be ready later
        return {"id": note_id, "export": "queued"}
    return {"id": note_id, "export": f"# Note {note_id}\n\n{text}\n"}


@app.get("/notes/{note_id}/download")
async def download_note(note_id: int, response: Response):
    response.headers["X-Note-Id"] = str(note_id)  # step 4: does this header reach the client?
    return PlainTextResponse(
        NOTES[note_id], headers={"Content-Disposition": f'attachment; filename="note-{note_id}.txt"'}
    )


@app.get("/notes/{note_id}/card", response_class=HTMLResponse)
async def note_card(note_id: int):
    return f'<article class="note"><p>{escape(NOTES[note_id])}</p></article>'


@app.get("/notes/{note_id}/title")
async def note_title(note_id: int):
    return NOTES[note_id].split(".")[0]


@app.get("/notes/{note_id}/title.txt", response_class=PlainTextResponse)
async def note_title_text(note_id: int):
    return NOTES[note_id].split(".")[0]


class FolderIn(BaseModel):
    name: str


FOLDERS: dict[int, str] = {}
FOLDER_IDS = itertools.count(1)


@app.get("/folders/{folder_id}")
async def read_folder(folder_id: int):
    return {"id": folder_id, "name": FOLDERS[folder_id]}


# ── exercise created-folder: your code starts here ──
@app.post("/folders")
async def create_folder(folder: FolderIn):
    folder_id = next(FOLDER_IDS)
    FOLDERS[folder_id] = folder.name
    return {"id": folder_id, "name": folder.name}
# ── exercise created-folder: your code ends here ──


# ---------------------------------------------------------------------------
# The lesson: what the tracer shows, step by step.
# ---------------------------------------------------------------------------

import inspect  # noqa: E402
import re  # noqa: E402

import fastapi.routing  # noqa: E402

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


def _sent_headers(trace: list[TraceEvent]) -> list[list[str]]:
    start = next((e for e in trace if e.stage == "response" and e.kind == "start"), None)
    return start.detail.get("headers", []) if start else []


def _sent_status(trace: list[TraceEvent]) -> int | None:
    start = next((e for e in trace if e.stage == "response" and e.kind == "start"), None)
    return start.detail.get("status_code") if start else None


def _statuses(*expected: int) -> Check:
    """Each request of the step: the client's status and the trace's ▶ response line agree on it."""

    def test(r: StepResult) -> bool | str:
        got = [(resp.status_code, _sent_status(trace)) for resp, trace in zip(r.responses, r.traces, strict=True)]
        return got == [(code, code) for code in expected] or f"(client, trace) statuses were {got}"

    shown = " and ".join(str(code) for code in expected)
    return custom(f"the requests answer {shown}, in the client and on the ▶ response lines", test)


def _trace_header(name: str, value: str) -> Check:
    def test(r: StepResult) -> bool | str:
        pairs = _sent_headers(r.events)
        return [name, value] in pairs or f"the headers sent were {pairs}"

    return custom(f"the ▶ response line shows the header {name}: {value}", test)


def _trace_lacks_header(name: str) -> Check:
    def test(r: StepResult) -> bool | str:
        found = [v for k, v in _sent_headers(r.events) if k.lower() == name]
        return not found or f"it was sent: {found}"

    return custom(f"the ▶ response line has no {name} header", test)


def _cookie_on_trace(r: StepResult) -> bool | str:
    cookies = [v for k, v in _sent_headers(r.events) if k == "set-cookie"]
    return any(v.startswith("last_note=") and "Path=/" in v for v in cookies) or f"set-cookie was {cookies}"


def _returned_response_gets_tasks(r: StepResult) -> bool | str:
    # The module's file, not the function objects: the tracer wraps some of FastAPI's functions in memory.
    handler = inspect.getsource(fastapi.routing)
    if "isinstance(raw_response, Response)" not in handler:
        return "get_request_handler does not tell a returned Response apart"
    return ("if raw_response.background is None:\n" in handler
            and "raw_response.background = solved_result.background_tasks" in handler) \
        or "get_request_handler does not hand it the request's background tasks"


# Newer FastAPI: a route with a response model and no response_class skips JSONResponse, and
# Pydantic writes the JSON straight into a plain Response (`use_dump_json` in fastapi/routing.py).
DUMPS_JSON = "use_dump_json" in inspect.getsource(fastapi.routing)


def _serialized_in_each(r: StepResult) -> bool | str:
    ran = [any(e.stage == "serialization" and e.kind == "start" for e in trace) for trace in r.traces]
    return all(ran) or f"serialization ran per request: {ran}"


def _each_folder_has_its_location(r: StepResult) -> bool | str:
    seen = []
    for resp in r.responses:
        if resp.status_code != 201:
            return f"a create answered {resp.status_code}"
        folder_id = resp.json().get("id")
        location = resp.headers.get("location")
        if location != f"/folders/{folder_id}":
            return f"the folder with id {folder_id} came with Location {location!r}"
        seen.append(folder_id)
    return len(set(seen)) == len(seen) or f"both creates answered the id {seen[0]}"


def _traces_show_created(r: StepResult) -> bool | str:
    for trace in r.traces:
        sent = _sent_status(trace)
        locations = [v for k, v in _sent_headers(trace) if k.lower() == "location"]
        if sent != 201 or len(locations) != 1 or not re.fullmatch(r"/folders/\d+", locations[0]):
            return f"a ▶ response line had status {sent} and location {locations}"
    return True


LESSON = Lesson(
    id="lesson15",
    title="Shaping the response",
    topics=["status_code", "Response", "headers", "cookies", "response_class", "HTMLResponse", "PlainTextResponse"],
    goals=[
        "Set a route's status code on the decorator, and know what a route without one answers.",
        "Write headers and cookies on a `response: Response` parameter, and see whether they reach the client.",
        "Know which status wins when both the decorator and the endpoint set one.",
        "See what FastAPI does with a Response you return, and with the parameter's headers then.",
        "Choose the kind of response with response_class: HTML, plain text or JSON.",
    ],
    steps=[
        Step(
            title="A status code on the decorator",
            narration="""
`create_note` is declared `@app.post("/notes", status_code=201)`: 201
Created says a new resource exists now. `save_draft` is a POST too, with
no `status_code`. We send both at once.
""",
            request=[
                Request("POST", "/notes", json={"text": "Call the baker"}),
                Request("POST", "/drafts", json={"text": "Call the ba"}),
            ],
            look_for=["serialization", "response"],
            question=Question(
                prompt="What status does POST /drafts answer?",
                choices=[
                    "201: it is a POST that stores something",
                    "200: the default, for a POST as for a GET",
                    "204: it declares no status code",
                ],
                answer=1,
                why="FastAPI does not guess from the method: a route without status_code answers 200. "
                "Declare 201 (or any other) where you mean it.",
            ),
            checks=[
                _statuses(201, 200),
                has("response", "start", status_code=201),
                custom("both are serialized the same way: the status code changes nothing else",
                       _serialized_in_each),
                body(lambda b: b.get("text") == "Call the baker" and isinstance(b.get("id"), int),
                     "POST /notes answers the new note with its id"),
            ],
        ),
        Step(
            title="The Response parameter: headers and cookies",
            narration="""
`read_note` declares a parameter `response: Response`. It is not in the
path, the query or the body: FastAPI sees the type and hands the endpoint
a response object to write on. `read_note` sets a `Cache-Control` header
and a cookie (`response.set_cookie("last_note", ...)`), then returns a
plain dict.

The trace hides every cookie's value, keeping its name and attributes
(unless you run with `--show-secrets`); the checks read the value on the
real response.
""",
            request=Request("GET", "/notes/1"),
            look_for=["endpoint", "serialization", "response"],
            question=Question(
                prompt="read_note writes on `response`, then returns a dict. Does the Cache-Control header "
                "reach the client?",
                choices=[
                    "No: the dict becomes a new JSONResponse, and `response` is thrown away",
                    "Yes: FastAPI copies the parameter's headers and cookies onto the response it builds",
                    "Only if read_note returns `response` instead of the dict",
                ],
                answer=1,
                why="The parameter is a temporary Response. After serializing the dict, FastAPI builds the "
                "JSONResponse and appends the parameter's raw headers to it, Set-Cookie included.",
            ),
            hints=[
                "Compare the endpoint's args with the headers on the ▶ response line (in the TUI, select that "
                "line; in plain mode, run with `--record trace.jsonl` and read its JSON).",
            ],
            checks=[
                status(200),
                custom(
                    "the endpoint receives a Response object for `response`",
                    lambda r: next(e for e in r.events if e.stage == "endpoint" and e.kind == "start")
                    .detail["args"].get("response") == "<Response>" or "it received something else",
                ),
                has("serialization", "start", response_class="JSONResponse"),
                _trace_header("cache-control", "private, max-age=60"),
                custom("the ▶ response line shows a Set-Cookie for last_note, with Path=/", _cookie_on_trace),
                custom(
                    "the client receives the cookie last_note=1",
                    lambda r: r.response.cookies.get("last_note") == "1"
                    or f"its cookies were {dict(r.response.cookies)}",
                ),
                body(lambda b: b == {"id": 1, "text": NOTES[1]}, "the body is the dict read_note returned"),
            ],
        ),
        Step(
            title="Two statuses: the decorator's and the endpoint's",
            narration="""
`export_note` declares `status_code=201` on its decorator: an export is
created. But note 2 is too long to export at once, so for it the endpoint
sets `response.status_code = 202` (Accepted: it will be ready later). We
export note 1 and note 2 at once.
""",
            request=[Request("POST", "/notes/1/export"), Request("POST", "/notes/2/export")],
            look_for=["response"],
            question=Question(
                prompt="The decorator says 201; for note 2 the endpoint sets response.status_code = 202. "
                "What does the client get for note 2?",
                choices=[
                    "201: the decorator's status wins",
                    "202: the status set on the Response parameter wins",
                    "500: FastAPI refuses two different status codes",
                ],
                answer=1,
                why="FastAPI starts from the decorator's status_code, then, if the parameter's status_code "
                "was set, uses that one instead. Note 1 never touched it, so it keeps the 201.",
            ),
            checks=[
                _statuses(201, 202),
                custom("both are serialized as usual", _serialized_in_each),
                body(lambda b: b["export"].startswith("# Note 1"), "note 1's export comes back at once"),
                custom(
                    "note 2's answer says the export is queued",
                    lambda r: r.responses[1].json() == {"id": 2, "export": "queued"}
                    or f"it was {r.responses[1].text[:80]}",
                ),
            ],
        ),
        Step(
            title="Return a Response yourself",
            narration="""
`download_note` returns a `PlainTextResponse` it built itself, with a
`Content-Disposition` header so that a browser saves the note as a file.
It also sets `X-Note-Id` on its `response` parameter first.
""",
            request=Request("GET", "/notes/1/download"),
            look_for=["endpoint", "serialization", "response"],
            question=Question(
                prompt="Does the X-Note-Id header reach the client?",
                choices=[
                    "Yes: FastAPI copies the parameter's headers onto every response",
                    "No: FastAPI sends a returned Response without the parameter's headers",
                ],
                answer=1,
                why="When the endpoint returns a Response, FastAPI skips serialization and building a "
                "response, and the step that copies the parameter's headers belongs to that building. All "
                "FastAPI adds to a returned Response is the request's background tasks, when it has none of "
                "its own. Put the header on the Response you return.",
            ),
            hints=[
                "Is there a ▶ serialization line in this trace, or a single ◆ point?",
            ],
            checks=[
                status(200),
                has("endpoint", "end", name="download_note", is_response=True),
                has("serialization", "point", skipped=True, response_class="PlainTextResponse"),
                lacks("serialization", "start"),
                header("content-disposition", value='attachment; filename="note-1.txt"'),
                header("content-type", value="text/plain; charset=utf-8"),
                header("x-note-id", present=False),
                _trace_lacks_header("x-note-id"),
                custom("the installed FastAPI gives a returned Response the request's background tasks, when it "
                       "has none of its own", _returned_response_gets_tasks),
            ],
        ),
        Step(
            title="Response classes: HTML, JSON or plain text",
            narration="""
Three endpoints return a string. `note_card` is declared with
`response_class=HTMLResponse`, `note_title_text` with
`response_class=PlainTextResponse`, and `note_title` with none. The value
still goes through serialization; the response class decides what the
body and its `Content-Type` become.
""",
            request=[
                Request("GET", "/notes/1/card"),
                Request("GET", "/notes/1/title.txt"),
                Request("GET", "/notes/1/title"),
            ],
            look_for=["serialization", "response"],
            question=Question(
                prompt="note_title returns the str 'Buy flour' and declares no response_class. What body does "
                "the client get?",
                choices=[
                    "Buy flour, as text/plain",
                    '"Buy flour", in quotes: a JSON string, as application/json',
                    "A 500: a str is not JSON",
                ],
                answer=1,
                why="A route with no response_class and no response model gets a JSONResponse, and a str is "
                "valid JSON once it is quoted. For bare text, declare response_class=PlainTextResponse, as "
                "note_title_text does."
                + (f" (On FastAPI {fastapi.__version__}, a route with a response model and no response_class "
                   "gets a plain Response instead, whose JSON Pydantic writes directly: still application/json.)"
                   if DUMPS_JSON else ""),
            ),
            checks=[
                has("serialization", "start", response_class="HTMLResponse"),
                header("content-type", value="text/html; charset=utf-8"),
                body(lambda b: b == '<article class="note"><p>Buy flour. And eggs</p></article>',
                     "the card is the HTML note_card returned"),
                custom(
                    "title.txt is text/plain with the bare text Buy flour",
                    lambda r: (r.responses[1].headers["content-type"] == "text/plain; charset=utf-8"
                               and r.responses[1].text == "Buy flour") or f"it was {r.responses[1].text!r}",
                ),
                custom(
                    'title is application/json with the body "Buy flour", quotes included',
                    lambda r: (r.responses[2].headers["content-type"] == "application/json"
                               and r.responses[2].text == '"Buy flour"') or f"it was {r.responses[2].text!r}",
                ),
                custom(
                    "each trace's serialization names the response class its route declared",
                    lambda r: [
                        next(e.detail.get("response_class") for e in t if e.stage == "serialization"
                             and e.kind == "start") for t in r.traces
                    ] == ["HTMLResponse", "PlainTextResponse", "JSONResponse"] or "they differ",
                ),
            ],
        ),
        Exercise(
            title="201 Created, with a Location",
            narration="""
Your turn. A client library for this API follows the HTTP rules for a
create: it expects **201 Created** and a `Location` header with the new
folder's URL (`/folders/<its id>`, which `read_folder` serves). As the
lesson ships it, `POST /folders` answers **200** with no `Location`.

Make `POST /folders` answer 201 with the right `Location` for each folder
it creates, and keep the JSON body (`{"id": ..., "name": ...}`) as it is.
""",
            region="created-folder",
            request=[
                Request("POST", "/folders", json={"name": "Recipes"}),
                Request("POST", "/folders", json={"name": "Receipts"}),
            ],
            look_for=["response"],
            hints=[
                "Look at the ▶ response line: its status and its headers are what the client gets (in the TUI, "
                "select that line; in plain mode, run with `--record trace.jsonl` and read its JSON).",
                "The status fits on the decorator. The Location depends on the id, which only the endpoint "
                "knows: a `response: Response` parameter lets it add a header.",
                'Add `status_code=201` to the decorator, a parameter `response: Response`, and '
                '`response.headers["Location"] = f"/folders/{folder_id}"`.',
            ],
            checks=[
                status(201),
                custom("each create answers 201 with Location /folders/<its own id>", _each_folder_has_its_location),
                custom("every ▶ response line shows 201 and one Location /folders/<n>", _traces_show_created),
                body(lambda b: set(b) == {"id", "name"} and b["name"] == "Recipes",
                     'the body is still {"id": ..., "name": "Recipes"}'),
            ],
        ),
    ],
    summary="""
FastAPI builds the response around what your endpoint returns. Set the
status on the decorator (`status_code=201`; without it a route answers
200, POST included). A `response: Response` parameter adds headers and cookies, and
its `status_code`, when set, wins over the decorator's. Return a
`Response` yourself and FastAPI sends it without serialization and
without the parameter's headers; it only hands it the request's
background tasks, when it has none of its own. `response_class` chooses
the kind of response FastAPI builds from your value: `HTMLResponse`,
`PlainTextResponse`, or, for a route with no response model either,
`JSONResponse`, which turns even a plain string into JSON.

Next lesson: **streaming**: a `StreamingResponse` sends its body in
parts, as a generator makes them.
""",
)
