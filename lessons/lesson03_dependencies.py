"""Lesson 3: Dependency injection.

A dependency is a function you declare with `Depends(...)` and FastAPI
calls for you, before your endpoint, handing its result to a parameter.
Dependencies can have dependencies of their own, one dependency can be
asked for more than once in a request, and a dependency that uses
`yield` gets to run teardown code afterwards. *When* that teardown runs is
the part most people get wrong, so this lesson reads it off the trace.

The app below is a small notes service with a fake database session. The
two exercises at the end are yours to fix.
"""

import asyncio
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel

app = FastAPI(title="Notes")

NOTES = {
    "ada": ["Buy milk", "Finish the analytical engine", "Write to Charles"],
    "grace": ["Find the moth"],
}
TOKENS = {"ada-token": "ada", "grace-token": "grace"}


class Session:
    """Stands in for a database session: opened per request, closed afterwards."""

    in_use = 0  # like a connection pool's "connections in use" gauge

    def __init__(self) -> None:
        Session.in_use += 1

    def user_for(self, token: str | None) -> str | None:
        return TOKENS.get(token or "")

    def notes_of(self, user: str) -> list[str]:
        return NOTES.get(user, [])

    def add_note(self, user: str, text: str) -> None:
        NOTES.setdefault(user, []).append(text)

    def close(self) -> None:
        Session.in_use -= 1


# 1. A plain dependency: shared query parameters.
def pagination(skip: int = 0, limit: int = 10) -> dict[str, int]:
    return {"skip": skip, "limit": limit}


# 2. A dependency with yield: setup before yield, teardown after it.
def get_db():
    db = Session()
    try:
        yield db
    finally:
        db.close()  # runs even if the request failed


# 3. A sub-dependency: it needs the database session itself.
def get_current_user(
    db: Annotated[Session, Depends(get_db)],
    x_token: Annotated[str | None, Header()] = None,
) -> str:
    user = db.user_for(x_token)
    if user is None:
        raise HTTPException(status_code=401, detail="Missing or invalid X-Token header")
    return user


# 4. A dependency whose result must be fresh every time it is used.
def new_nonce() -> str:
    return secrets.token_hex(8)


# 5. A lock taken through a function-scoped dependency (scope="function", step 5).
notes_lock = asyncio.Lock()


async def hold_notes_lock():
    async with notes_lock:
        yield


@app.get("/notes")
async def list_notes(page: Annotated[dict[str, int], Depends(pagination)]):
    everything = [note for notes in NOTES.values() for note in notes]
    return {"notes": everything[page["skip"] : page["skip"] + page["limit"]], **page}


@app.get("/me/notes")
async def my_notes(
    user: Annotated[str, Depends(get_current_user)],
    db: Annotated[Session, Depends(get_db)],  # get_current_user asks for get_db too (step 2)
):
    return {"user": user, "notes": db.notes_of(user)}


@app.get("/page")
async def page_with_nonces(
    script_nonce: Annotated[str, Depends(new_nonce, use_cache=False)],
    style_nonce: Annotated[str, Depends(new_nonce, use_cache=False)],
):
    # Two nonces for a Content-Security-Policy: they must differ.
    return {"script_nonce": script_nonce, "style_nonce": style_nonce}


@app.get("/page-buggy")
async def page_with_cached_nonces(
    script_nonce: Annotated[str, Depends(new_nonce)],
    style_nonce: Annotated[str, Depends(new_nonce)],
):
    # The same, without use_cache=False: see step 3.
    return {"script_nonce": script_nonce, "style_nonce": style_nonce}


@app.post("/me/notes")
async def add_note(
    text: str,
    user: Annotated[str, Depends(get_current_user)],
    db: Annotated[Session, Depends(get_db)],
    _lock: Annotated[None, Depends(hold_notes_lock, scope="function")],
):
    db.add_note(user, text)
    return {"user": user, "count": len(db.notes_of(user))}


class Draft(BaseModel):
    text: str


@app.post("/me/drafts")
async def save_draft(draft: Draft, db: Annotated[Session, Depends(get_db)]):
    return {"saved": draft.text}


# For the exercises: an id for each new record, and a limit on exports.
def new_id() -> str:
    return secrets.token_hex(4)


class ExportSlots:
    free = 2  # at most two exports at once


async def take_export_slot():
    if ExportSlots.free == 0:
        raise HTTPException(status_code=503, detail="Too many exports at once; try again in a moment")
    ExportSlots.free -= 1
    try:
        yield
    finally:
        ExportSlots.free += 1


# ── exercise fresh-ids: your code starts here ──
def audit_entry(
    user: Annotated[str, Depends(get_current_user)],
    entry_id: Annotated[str, Depends(new_id)],
) -> dict[str, str]:
    return {"id": entry_id, "by": user}


@app.post("/me/reminders")
async def add_reminder(
    text: str,
    reminder_id: Annotated[str, Depends(new_id)],
    audit: Annotated[dict[str, str], Depends(audit_entry)],
):
    return {"reminder": {"id": reminder_id, "text": text}, "audit": audit}
# ── exercise fresh-ids: your code ends here ──


# ── exercise export-slot: your code starts here ──
@app.get("/me/export")
async def export_notes(
    user: Annotated[str, Depends(get_current_user)],
    db: Annotated[Session, Depends(get_db)],
    _slot: Annotated[None, Depends(take_export_slot)],
):
    return {"user": user, "notes": db.notes_of(user), "slots_free": ExportSlots.free}
# ── exercise export-slot: your code ends here ──


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

TOKEN = {"X-Token": "ada-token"}


def _index(
    events: list[TraceEvent], stage: str, kind: str | None = None, name: str | None = None, **detail: object
) -> int | None:
    for i, e in enumerate(events):
        if (
            e.stage == stage
            and (kind is None or e.kind == kind)
            and (name is None or e.name == name)
            and all(e.detail.get(k) == v for k, v in detail.items())
        ):
            return i
    return None


def _setups(events: list[TraceEvent], name: str) -> int:
    return sum(
        1
        for e in events
        if e.stage == "dependency" and e.kind == "start" and e.name == name and e.detail.get("phase") == "setup"
    )


def _runs(name: str, n: int) -> Check:
    def test(r: StepResult) -> bool | str:
        got = _setups(r.events, name)
        return got == n or f"it ran {got} time(s)"

    return custom(f"{name} is called exactly {n} time(s) in this request", test)


def _starts(name: str, part: str, **detail: object) -> Check:
    """A dependency's setup or teardown starts with this detail; said in the glossary's words."""

    def test(r: StepResult) -> bool | str:
        found = [
            e
            for e in r.events
            if e.stage == "dependency" and e.kind == "start" and e.name == name and e.detail.get("phase") == part
        ]
        if not found:
            return f"{name}'s {part} never runs"
        if any(all(e.detail.get(k) == v for k, v in detail.items()) for e in found):
            return True
        seen = "; ".join(", ".join(f"{k}={e.detail.get(k)!r}" for k in detail) for e in found)
        return f"it ran {len(found)} time(s), with {seen}"

    extra = ", ".join(f"{k}={v!r}" for k, v in detail.items())
    return custom(f"{name}'s {part} runs{' with ' + extra if extra else ''}", test)


def _in_order(*specs: tuple, trace: int = 0) -> Check:
    """Each spec is (stage, kind, name) or (stage, kind, name, {detail}); their first matches come in this order."""

    def parts(spec: tuple) -> tuple:
        stage, kind, name, detail = (*spec, None, None, None)[:4]
        return stage, kind, name, detail or {}

    def label(spec: tuple) -> str:
        stage, kind, name, detail = parts(spec)
        extra = " ".join(str(v) if k == "phase" else k for k, v in detail.items())
        return " ".join(x for x in (stage, kind or "", name or "", extra) if x)

    def test(r: StepResult) -> bool | str:
        events = r.traces[trace]
        where = []
        for spec in specs:
            stage, kind, name, detail = parts(spec)
            i = _index(events, stage, kind, name, **detail)
            if i is None:
                return f"'{label(spec)}' never happens"
            where.append(i)
        return where == sorted(where) or "they happen in another order: " + " → ".join(
            label(s) for _, s in sorted(zip(where, specs, strict=True), key=lambda p: p[0])
        )

    return custom("in order: " + " → ".join(label(s) for s in specs), test)


def _all_sessions_closed() -> Check:
    return custom(
        "every session get_db opened has been closed again (db.close() ran)",
        lambda r: Session.in_use == 0 or f"{Session.in_use} session(s) are still open",
    )


SETUP = {"phase": "setup"}
TEARDOWN = {"phase": "teardown"}

LESSON = Lesson(
    id="lesson3",
    title="Dependency injection",
    topics=["dependencies", "Depends", "sub-dependencies", "cache", "use_cache", "yield", "scope"],
    goals=[
        "Declare a dependency with Depends and see FastAPI call it before the endpoint.",
        "Follow a sub-dependency chain, and see what FastAPI does with a dependency asked for twice.",
        "Opt out of the cache with use_cache=False when each use needs a fresh value.",
        "Tell which comes first: solving the dependencies or validating the endpoint's own parameters.",
        'Know exactly when the code after yield runs: by default, with scope="function", and when something fails.',
    ],
    steps=[
        Step(
            title="Depends: a function FastAPI calls for you",
            narration="""
`list_notes` asks for `page: Annotated[dict, Depends(pagination)]`, and
`pagination(skip: int = 0, limit: int = 10)` returns a dict.

`GET /notes?skip=1&limit=2`: watch the **dependency** lines.
""",
            request=Request("GET", "/notes", query={"skip": "1", "limit": "2"}),
            look_for=["dependency", "validation"],
            question=Question(
                prompt="list_notes never mentions skip or limit. Who reads them from the URL?",
                choices=[
                    "Nobody: they are ignored",
                    "FastAPI, because pagination declares them",
                    "list_notes has to read request.query_params itself",
                ],
                answer=1,
                why="A dependency's parameters are part of the request's inputs: before calling the endpoint, "
                "FastAPI validates skip and limit from the query string exactly as in lesson 2, calls pagination "
                "with skip=1 and limit=2, and passes what it returns as page.",
            ),
            checks=[
                status(200),
                has("validation", name="skip", location="query", raw="1", value=1, ok=True),
                has("validation", name="limit", location="query", raw="2", value=2, ok=True),
                has("dependency", "start", name="pagination", param="page", is_generator=False),
                has("dependency", "end", name="pagination", returned="dict"),
                order(
                    ("validation", "point", "skip"),
                    ("dependency", "start", "pagination"),
                    ("dependency", "end", "pagination"),
                    ("endpoint", "start"),
                ),
                body(
                    lambda b: b["skip"] == 1 and b["limit"] == 2 and len(b["notes"]) == 2,
                    "the endpoint got page={'skip': 1, 'limit': 2} and returned 2 notes",
                ),
            ],
        ),
        Step(
            title="Sub-dependencies, and a dependency asked for twice",
            narration="""
`GET /me/notes` with the header `X-Token: ada-token`. `my_notes` needs
`get_current_user`, which itself needs `get_db`: FastAPI solves the
**innermost first**. `my_notes` *also* asks for `get_db` directly.
""",
            request=Request("GET", "/me/notes", headers=TOKEN),
            look_for=["dependency"],
            question=Question(
                prompt="get_db is declared twice for this request. How many times does it run?",
                choices=["Once", "Twice", "Never: yield dependencies are lazy"],
                answer=0,
                why="Within one request FastAPI remembers each dependency's result: the second get_db is not "
                "called again but served from the cache, so the endpoint gets the very same session "
                "get_current_user used.",
            ),
            hints=[
                "Look for a dependency line marked as cached.",
                "get_db's setup runs first (get_current_user needs it); later, the line for my_notes' own "
                "get_db says FastAPI reuses the value.",
            ],
            checks=[
                status(200),
                _runs("get_db", 1),
                _starts("get_db", "setup", needed_by="get_current_user", is_generator=True),
                has("dependency", "point", name="get_db", cached=True, needed_by="my_notes"),
                _in_order(
                    ("dependency", "start", "get_db", SETUP),
                    ("dependency", "end", "get_db", SETUP),
                    ("dependency", "start", "get_current_user", SETUP),
                    ("dependency", "end", "get_current_user", SETUP),
                    ("dependency", "point", "get_db", {"cached": True}),
                    ("endpoint", "start", "my_notes"),
                ),
                body(
                    lambda b: b["user"] == "ada" and "Buy milk" in b["notes"], "the endpoint answers with ada's notes"
                ),
            ],
        ),
        Step(
            title="use_cache=False: when each use needs a fresh value",
            narration="""
The cache is a bug when a dependency must produce a **new value each
time**. `/page` needs two different nonces and declares
`Depends(new_nonce, use_cache=False)` twice; `/page-buggy` is the same
without `use_cache=False`. We call both at once.
""",
            request=[Request("GET", "/page"), Request("GET", "/page-buggy")],
            look_for=["dependency"],
            question=Question(
                prompt="How many times does new_nonce run for GET /page-buggy?",
                choices=["Once: the second use is a cache hit", "Twice: each parameter gets its own call"],
                answer=0,
                why="Without use_cache=False the second use is served from the cache, as get_db was in step 2: "
                "new_nonce is never called again, so both nonces are identical.",
            ),
            checks=[
                status(200),
                _runs("new_nonce", 2),
                lacks("dependency", "point", "new_nonce"),
                body(lambda b: b["script_nonce"] != b["style_nonce"], "/page: the two nonces differ"),
                custom(
                    "/page-buggy: new_nonce runs once, then comes from the cache",
                    lambda r: (
                        (
                            _setups(r.traces[1], "new_nonce") == 1
                            and _index(r.traces[1], "dependency", "point", "new_nonce", cached=True) is not None
                        )
                        or f"it ran {_setups(r.traces[1], 'new_nonce')} time(s)"
                    ),
                ),
                custom(
                    "/page-buggy: the two nonces are identical",
                    lambda r: (
                        r.responses[1].json()["script_nonce"] == r.responses[1].json()["style_nonce"]
                        or f"the body was {r.responses[1].json()}"
                    ),
                ),
            ],
        ),
        Step(
            title="yield: when does the teardown run?",
            narration="""
`get_db` **yields** the session. The code before `yield` runs while
dependencies are solved; the code after it (`db.close()`) waits. FastAPI
keeps an **exit stack** for the request (Python's `contextlib.AsyncExitStack`:
a list of pending teardowns that it runs in reverse order when it is closed),
and each yield dependency's teardown goes onto it.

Again `GET /me/notes` as Ada; watch the last dependency lines.
""",
            request=Request("GET", "/me/notes", headers=TOKEN),
            look_for=["dependency", "response"],
            question=Question(
                prompt="When does the code after get_db's yield (db.close()) run?",
                choices=[
                    "Right after get_current_user returns",
                    "After my_notes returns, before the response is sent",
                    "After the response has been sent to the client",
                ],
                answer=2,
                why="On the installed FastAPI the default scope of a yield dependency is the whole request: "
                "the exit stack is closed only once the response has been sent, so the endpoint returns, the "
                "result is serialized, the body goes out, and then get_db resumes after its yield.",
            ),
            hints=[
                "Find the two get_db lines after the response lines.",
                "A commit in that teardown code runs after the client already has its 200: "
                "if it fails, the client will not hear about it.",
            ],
            checks=[
                status(200),
                _starts("get_db", "teardown"),
                _in_order(
                    ("endpoint", "end", "my_notes"),
                    ("serialization", "end"),
                    ("response", "start"),
                    ("response", "end"),
                    ("dependency", "start", "get_db", TEARDOWN),
                    ("dependency", "end", "get_db", TEARDOWN),
                    ("request", "end"),
                ),
                _all_sessions_closed(),
            ],
        ),
        Step(
            title='scope="function": two scopes in one request',
            narration="""
`add_note` holds `notes_lock` through
`Depends(hold_notes_lock, scope="function")`: a **function-scoped** yield
dependency. `get_db` keeps the default scope, the whole request. Both have
a teardown after their `yield`.

`POST /me/notes?text=Buy%20eggs` as Ada.
""",
            request=Request("POST", "/me/notes", query={"text": "Buy eggs"}, headers=TOKEN),
            look_for=["dependency", "response"],
            question=Question(
                prompt="Which teardown runs first?",
                choices=["get_db's (request scope)", "hold_notes_lock's (function scope)"],
                answer=1,
                why="A function-scoped yield dependency is closed as soon as the endpoint's result is ready "
                "(after serialization), before the response is sent: teardown that should not wait for a slow "
                "client. The request-scoped one, get_db's, still runs only after the response is sent.",
            ),
            hints=[
                "Compare where each teardown line sits relative to the response lines.",
            ],
            checks=[
                status(200),
                _starts("hold_notes_lock", "setup", scope="function", is_async=True),
                _starts("hold_notes_lock", "teardown", scope="function"),
                _in_order(
                    ("endpoint", "end", "add_note"),
                    ("serialization", "end"),
                    ("dependency", "start", "hold_notes_lock", TEARDOWN),
                    ("dependency", "end", "hold_notes_lock", TEARDOWN),
                    ("response", "start"),
                    ("response", "end"),
                    ("dependency", "start", "get_db", TEARDOWN),
                ),
            ],
        ),
        Step(
            title="When a dependency refuses: 401",
            narration="""
Now `GET /me/notes` **without** a token. `get_db` has already yielded a
session when `get_current_user` raises `HTTPException(401)`. FastAPI stops
solving dependencies, so `my_notes` never runs.
""",
            request=Request("GET", "/me/notes"),
            look_for=["dependency", "exception", "response"],
            question=Question(
                prompt="Does get_db's teardown run, and when?",
                choices=[
                    "No: the request failed before the endpoint",
                    "Yes, before the 401 is sent",
                    "Yes, after the 401 is sent",
                ],
                answer=1,
                why="The exception travels out through the exit stack on its way to the exception handler: "
                "get_db resumes with the exception, its finally closes the session, and only then does the "
                "handler send the 401. Without try/finally around the yield, db.close() would be skipped.",
            ),
            hints=[
                "Compare this trace with step 4's: where are get_db's teardown lines now?",
                "The teardown line says which exception get_db received.",
            ],
            checks=[
                status(401),
                has("dependency", "end", name="get_current_user", raised="fastapi.exceptions.HTTPException"),
                lacks("endpoint"),
                _starts("get_db", "teardown", exception_in="fastapi.exceptions.HTTPException"),
                has("exception", name="HTTPException", status_code=401, handled=True),
                _in_order(
                    ("dependency", "end", "get_current_user", SETUP),
                    ("dependency", "start", "get_db", TEARDOWN),
                    ("dependency", "end", "get_db", TEARDOWN),
                    ("exception", "point", "HTTPException"),
                    ("response", "start"),
                ),
                _all_sessions_closed(),
            ],
        ),
        Step(
            title="An invalid body, and a dependency that opens a session",
            narration="""
`save_draft(draft: Draft, db: Annotated[Session, Depends(get_db)])` needs a
JSON body with a `text` field, and a session. We send `POST /me/drafts`
with the body `{}`: the `text` field is missing.

Predict first: does `get_db` open a session for a request whose body is
invalid?
""",
            request=Request("POST", "/me/drafts", json={}),
            look_for=["dependency", "validation"],
            question=Question(
                prompt="What happens, in order?",
                choices=[
                    "422 straight away: get_db never runs",
                    "get_db opens a session, the body fails validation, get_db closes it, then the 422 is sent",
                    "get_db opens a session, the 422 is sent, and the session is closed after it",
                ],
                answer=1,
                why="FastAPI solves the dependencies before it validates the endpoint's own parameters, so the "
                "session is opened even though the body is invalid. The RequestValidationError then unwinds the "
                "exit stack, as the 401 did in step 6, so get_db's teardown runs before the 422 goes out.",
            ),
            hints=[
                "Where is the failed validation line relative to get_db's setup line?",
                "Then find get_db's teardown: before or after the response lines?",
            ],
            checks=[
                status(422),
                has("validation", name="draft", location="body", ok=False),
                lacks("endpoint"),
                _in_order(
                    ("dependency", "start", "get_db", SETUP),
                    ("dependency", "end", "get_db", SETUP),
                    ("validation", "point", "draft"),
                    ("dependency", "start", "get_db", TEARDOWN),
                    ("response", "start"),
                ),
                order(
                    ("dependency", "start", "get_db"),
                    ("validation", "point", "draft"),
                    ("exception", "point", "RequestValidationError"),
                    ("response", "start"),
                ),
                _all_sessions_closed(),
            ],
        ),
        Exercise(
            title="Give each record its own id",
            narration="""
Your turn (1 of 2). `POST /me/reminders?text=Call%20Grace` as Ada stores a
reminder and an audit entry saying who created it. Each record needs its
**own** id from `new_id`, but today the reminder and its audit entry come
back with the **same** id. Make the two ids differ, with the audit entry
still saying `"by": "ada"`.
""",
            region="fresh-ids",
            request=Request("POST", "/me/reminders", query={"text": "Call Grace"}, headers=TOKEN),
            look_for=["dependency"],
            hints=[
                "Count the new_id lines in the trace: how often does it run, and what does the line for "
                "audit_entry's new_id say?",
                "The cache is shared by every dependency of the request: the first call of new_id stores its "
                "value, and each later use that does not opt out of the cache gets that stored value.",
                "Add use_cache=False to the Depends(new_id) that is solved second, the one in audit_entry "
                "(putting it on both uses also works).",
            ],
            checks=[
                status(200),
                _runs("new_id", 2),
                custom(
                    "audit_entry gets its id from a call of new_id of its own, not from the cache",
                    _starts("new_id", "setup", needed_by="audit_entry").test,
                ),
                body(
                    lambda b: b["reminder"]["id"] != b["audit"]["id"],
                    "the reminder's id and the audit entry's id differ",
                ),
                body(
                    lambda b: b["audit"]["by"] == "ada" and b["reminder"]["text"] == "Call Grace",
                    "the audit entry is by ada and the reminder says 'Call Grace'",
                ),
            ],
        ),
        Exercise(
            title="Give the export slot back before the response",
            narration="""
Your turn (2 of 2). `GET /me/export` takes one of two export slots through
`take_export_slot`, which gives it back in its teardown. Today that
teardown runs only after the response has been sent, so the slot stays
taken for as long as sending takes. Make the slot come back **before** the
response is sent, still from the teardown after `yield` (so it also comes
back when an export fails).
""",
            region="export-slot",
            request=Request("GET", "/me/export", headers=TOKEN),
            look_for=["dependency", "response"],
            hints=[
                "Find take_export_slot's teardown lines: are they before or after the response lines?",
                "Which exit stack a yield dependency's teardown goes on is chosen where it is declared, in "
                "Depends(...): by default the request's, which is closed after the response is sent. "
                "Step 5 showed the other one.",
                'Declare it as Depends(take_export_slot, scope="function") in export_notes.',
            ],
            checks=[
                status(200),
                body(lambda b: b["slots_free"] == 1, "export_notes runs while holding one of the two slots"),
                custom(
                    "take_export_slot's teardown starts before the response has started",
                    _starts("take_export_slot", "teardown", response_started=False).test,
                ),
                _in_order(
                    ("endpoint", "end", "export_notes"),
                    ("dependency", "start", "take_export_slot", TEARDOWN),
                    ("dependency", "end", "take_export_slot", TEARDOWN),
                    ("response", "start"),
                ),
                custom(
                    "both export slots are free again after the request",
                    lambda r: ExportSlots.free == 2 or f"{ExportSlots.free} of 2 are free",
                ),
            ],
        ),
    ],
    summary="""
`Depends(f)` makes FastAPI validate `f`'s own parameters, call it before
the endpoint and pass its result in; dependencies can depend on others,
and are solved innermost first. Within one request each dependency runs
**once** and is then served from the cache, unless you declare it with
`use_cache=False`. Dependencies are solved **before** the endpoint's own
parameters are validated, so an invalid request still opens them.

A `yield` dependency's teardown runs **after the response is sent** by
default, **before** it with `scope="function"`, and **before the error
response** when the request fails. Put the teardown in `try/finally`.

Next lesson: **request bodies**: a Pydantic model as the body, and what
a 422 looks like when the JSON is missing a field or malformed.
""",
)
