"""Lesson 11: Security dependencies.

FastAPI's security tools are dependencies like any other: `APIKeyHeader`
reads an API key from a header, `OAuth2PasswordBearer` reads a bearer token
from the `Authorization` header. Each one runs before your endpoint and can
stop the request with an error of its own. This lesson traces them, tells
401 apart from 403, and shows what the trace keeps of the secrets.

The stores below are fakes: a real app keeps hashed passwords in a database
and issues signed tokens (JWT), as the FastAPI tutorial's next pages show.

The exercise at the end is yours: a hand-written token check whose 401 does
not tell the client how to authenticate.
"""

import hashlib
import json
from typing import Annotated

import fastapi
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
    OAuth2PasswordRequestForm,
)

from lifecycle_tracer.course import (
    Exercise,
    Lesson,
    Question,
    Request,
    Step,
    custom,
    has,
    header,
    lacks,
    order,
    status,
)

app = FastAPI(title="Notes")

API_KEYS = {"k-7f3a9c2e51": "stats-bot"}  # key -> the client it belongs to
USERS = {
    "ada": {"password": "correct-horse", "admin": True},
    "grace": {"password": "battery-staple", "admin": False},
}
NOTES = {1: "buy milk", 2: "call Alan"}
DRAFTS = {"ada": ["notes on the engine"], "grace": []}


def issue_token(username: str) -> str:
    return hashlib.sha256(f"notes:{username}".encode()).hexdigest()[:24]


TOKENS = {issue_token(name): name for name in USERS}  # token -> username

api_key_header = APIKeyHeader(name="X-API-Key")
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
http_bearer = HTTPBearer()  # also reads "Authorization: Bearer ...", for comparison


def get_api_client(api_key: Annotated[str, Depends(api_key_header)]) -> str:
    client = API_KEYS.get(api_key)
    if client is None:
        raise HTTPException(status_code=401, detail="Unknown API key", headers={"WWW-Authenticate": "APIKey"})
    return client


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> str:
    username = TOKENS.get(token)
    if username is None:
        raise HTTPException(status_code=401, detail="Invalid token", headers={"WWW-Authenticate": "Bearer"})
    return username


def require_admin(username: Annotated[str, Depends(get_current_user)]) -> str:
    if not USERS[username]["admin"]:
        raise HTTPException(status_code=403, detail="Only admins may delete notes")
    return username


@app.get("/stats")
async def stats(client: Annotated[str, Depends(get_api_client)]) -> dict[str, int | str]:
    return {"notes": len(NOTES), "asked_by": client}


@app.post("/token")
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict[str, str]:
    user = USERS.get(form.username)
    if user is None or user["password"] != form.password:
        raise HTTPException(status_code=400, detail="Incorrect username or password")
    return {"access_token": issue_token(form.username), "token_type": "bearer"}


@app.get("/notes")
async def my_notes(username: Annotated[str, Depends(get_current_user)]) -> dict[str, object]:
    return {"owner": username, "notes": list(NOTES.values())}


@app.get("/reports")
async def reports(credentials: Annotated[HTTPAuthorizationCredentials, Depends(http_bearer)]) -> dict[str, str]:
    return {"owner": TOKENS.get(credentials.credentials, "unknown")}


@app.delete("/notes/{note_id}")
async def delete_note(note_id: int, admin: Annotated[str, Depends(require_admin)]) -> dict[str, int]:
    NOTES.pop(note_id, None)
    return {"deleted": note_id}


# ── exercise www-authenticate: your code starts here ──
def get_author(authorization: Annotated[str | None, Header()] = None) -> str:
    # Hand-written, without a security class: it reads the Authorization header itself.
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="Not authenticated")
    username = TOKENS.get(token)
    if username is None:
        raise HTTPException(status_code=401, detail="Invalid token")
    return username
# ── exercise www-authenticate: your code ends here ──


@app.get("/drafts")
async def my_drafts(author: Annotated[str, Depends(get_author)]) -> dict[str, object]:
    return {"author": author, "drafts": DRAFTS[author]}


# --- the lesson -----------------------------------------------------------

API_KEY = "k-7f3a9c2e51"
ADA_PASSWORD = "correct-horse"
ADA_TOKEN = issue_token("ada")
GRACE_TOKEN = issue_token("grace")

# FastAPI 0.122.0 changed what the security classes answer when credentials
# are missing (PR #13786): APIKeyHeader and HTTPBearer went from 403 to
# 401 + WWW-Authenticate; OAuth2PasswordBearer answered 401 already.
_VERSION = tuple(int(part) for part in fastapi.__version__.split(".")[:2])
KEY_401 = _VERSION >= (0, 122)
MISSING_KEY_STATUS = 401 if KEY_401 else 403


def nowhere(*secrets: str):
    """A check: no event's detail or explanation contains any of these values."""

    def test(r):
        dumped = json.dumps([e.to_dict() for e in r.events])
        leaked = [s for s in secrets if s in dumped]
        return not leaked or f"{leaked} appear in the trace"

    return test


def raised_http_exception(dependency: str):
    """A check: this dependency's end event says it raised an HTTPException.

    APIKeyHeader raises Starlette's HTTPException, the others FastAPI's subclass.
    """

    def test(r):
        ends = [e for e in r.events if e.stage == "dependency" and e.kind == "end" and e.name == dependency]
        raised = [e.detail.get("raised") for e in ends]
        return any(str(x).endswith(".HTTPException") for x in raised) or f"it ended with raised={raised}"

    return test


class _Only:
    """One trace of a multi-request step, shaped like a step result for the checks above."""

    def __init__(self, events):
        self.events = events


def header_sent_redacted(name: str, shown: str):
    """A check: the request did carry this header, and the trace shows it redacted."""

    def test(r):
        headers = dict(r.events[0].detail["headers"])
        return headers.get(name) == shown or f"{name} was recorded as {headers.get(name)!r}"

    return test


def refused_twice_ran_once(r):
    """Counted over all three traces: the step's requests differ only in a header, which the
    trace shows redacted, so which trace belongs to which request is not known here."""
    events = [e for trace in r.traces for e in trace]
    refusals = [e.detail.get("status_code") for e in events
                if e.stage == "exception" and e.name == "HTTPException" and e.detail.get("handled")]
    runs = sum(1 for e in events if e.stage == "endpoint" and e.kind == "start")
    if refusals != [401, 401]:
        return f"the handled HTTPExceptions answered {refusals}"
    return runs == 1 or f"the endpoint ran {runs} time(s)"


LESSON = Lesson(
    id="lesson11",
    title="Security dependencies",
    topics=["dependency", "security", "exception", "redaction"],
    goals=[
        "Protect routes with APIKeyHeader and OAuth2PasswordBearer, which are dependencies.",
        "Issue a token from a /token endpoint with OAuth2PasswordRequestForm.",
        "Tell 401 from 403, and see which one FastAPI answers when.",
        "Check what the trace keeps of keys, passwords and tokens.",
    ],
    steps=[
        Step(
            title="No API key",
            narration=f"""
`GET /stats` depends on `get_api_client`, which depends on
`api_key_header = APIKeyHeader(name="X-API-Key")`. We send **no** `X-API-Key`.

A security scheme is not a plain `Header` parameter: a missing key is not a
422 validation error. The scheme raises an `HTTPException` itself, so the
dependencies that need it and the endpoint never run. Which status it answers changed in FastAPI 0.122.0: before, a
missing API key gave **403 Forbidden**; since, **401 Unauthorized** with a
`WWW-Authenticate: APIKey` header. You have FastAPI {fastapi.__version__}.
""",
            request=Request("GET", "/stats"),
            look_for=["dependency", "exception"],
            hints=[
                "Find the dependency that ends with ✗: which class is it?",
                f"APIKeyHeader raised HTTPException({MISSING_KEY_STATUS}); get_api_client and stats never ran.",
            ],
            checks=[
                status(MISSING_KEY_STATUS),
                custom("APIKeyHeader raises an HTTPException", raised_http_exception("APIKeyHeader")),
                lacks("validation"),
                lacks("dependency", "start", "get_api_client"),
                lacks("endpoint"),
                has("exception", name="HTTPException", status_code=MISSING_KEY_STATUS, handled=True),
                header("www-authenticate", value="APIKey") if KEY_401 else header("www-authenticate", present=False),
            ],
        ),
        Step(
            title="A valid API key, kept secret",
            narration="""
Now with `X-API-Key: k-7f3a9c2e51`. `APIKeyHeader` hands the key to
`get_api_client`, which looks up whose key it is, and the endpoint gets
the client's name.

Keys are secrets, so the tracer redacts them at the source: the header shows
as `[redacted]`, and the key's value appears **nowhere** in the trace, in no
event's detail and no explanation.
""",
            request=Request("GET", "/stats", headers={"X-API-Key": API_KEY}),
            look_for=["request", "dependency", "endpoint"],
            checks=[
                status(200),
                order(
                    ("dependency", "start", "APIKeyHeader"),
                    ("dependency", "start", "get_api_client"),
                    ("endpoint", "start", "stats"),
                ),
                has("dependency", "end", "APIKeyHeader", returned="str"),
                custom(
                    "the X-API-Key header was sent and is recorded as [redacted]",
                    header_sent_redacted("x-api-key", "[redacted]"),
                ),
                custom("the API key's value appears nowhere in the trace", nowhere(API_KEY)),
            ],
        ),
        Step(
            title="Log in: POST /token",
            narration="""
`OAuth2PasswordBearer(tokenUrl="token")` expects a login endpoint at
`/token`. Ours takes `OAuth2PasswordRequestForm`, a class dependency whose
parameters are **form fields** (`username`, `password`, ...), so the body
is sent form-encoded, not as JSON. It answers with an `access_token`.

The password and the token are redacted wherever they would appear: the
form fields, the endpoint's return value and the serialized output.
""",
            request=Request(
                "POST",
                "/token",
                content=f"username=ada&password={ADA_PASSWORD}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            look_for=["dependency", "validation", "serialization"],
            checks=[
                status(200),
                has("dependency", "start", "OAuth2PasswordRequestForm", param="form"),
                has("validation", name="username", location="form", value="ada"),
                has("validation", name="password", location="form", raw="[redacted]"),
                custom("the client got a bearer token", lambda r: r.response.json().get("token_type") == "bearer"),
                custom("neither the password nor the token appear in the trace", nowhere(ADA_PASSWORD, ADA_TOKEN)),
            ],
        ),
        Step(
            title="No bearer token",
            narration="""
`GET /notes` depends on `get_current_user`, which depends on
`oauth2_scheme` (an `OAuth2PasswordBearer`). We call it **without** an
`Authorization` header. At the same moment we call `GET /reports`, which
reads the same header through `HTTPBearer`, also without one.
""",
            request=[Request("GET", "/notes"), Request("GET", "/reports")],
            look_for=["dependency", "exception", "response"],
            question=Question(
                prompt="What status does GET /notes (OAuth2PasswordBearer) get without a token?",
                choices=["401 Unauthorized", "403 Forbidden", "422 Unprocessable Content"],
                answer=0,
                why="No credentials means 'who are you?'. OAuth2PasswordBearer answers it by itself with 401 and "
                "WWW-Authenticate: Bearer (saying which scheme to use), before and after FastAPI 0.122.0 alike. "
                + (
                    "HTTPBearer (GET /reports) answers the same 401 + WWW-Authenticate: Bearer since FastAPI 0.122.0;"
                    " before, it answered 403 without that header."
                    if KEY_401
                    else "HTTPBearer (GET /reports) answers 403 Forbidden without WWW-Authenticate on this FastAPI; "
                    "since 0.122.0 it answers 401 + WWW-Authenticate: Bearer."
                ),
            ),
            hints=[
                "401 means 'we do not know who you are', 403 means 'we know, and the answer is no'.",
                "Look at the exception event's status_code and at the response headers.",
            ],
            checks=[
                status(401),
                header("www-authenticate", value="Bearer"),
                custom("OAuth2PasswordBearer raises an HTTPException", raised_http_exception("OAuth2PasswordBearer")),
                has("exception", name="HTTPException", status_code=401, handled=True),
                lacks("endpoint"),
                custom(
                    f"GET /reports (HTTPBearer) answers {MISSING_KEY_STATUS}"
                    + (" with WWW-Authenticate: Bearer" if KEY_401 else " without WWW-Authenticate"),
                    lambda r: (
                        r.responses[1].status_code == MISSING_KEY_STATUS
                        and r.responses[1].headers.get("www-authenticate") == ("Bearer" if KEY_401 else None)
                    )
                    or f"it answered {r.responses[1].status_code} {dict(r.responses[1].headers)}",
                ),
                custom(
                    "in GET /reports, HTTPBearer raised the HTTPException and reports never ran",
                    lambda r: (
                        raised_http_exception("HTTPBearer")(_Only(r.traces[1])) is True
                        and not any(e.stage == "endpoint" for e in r.traces[1])
                    )
                    or "HTTPBearer did not raise, or the endpoint ran",
                ),
            ],
        ),
        Step(
            title="With a bearer token",
            narration="""
Now Ada sends `Authorization: Bearer <her token>`. `oauth2_scheme`
returns the token, `get_current_user` turns it into `"ada"`, and the
endpoint runs. The token is a secret, like step 2's API key.
""",
            request=Request("GET", "/notes", headers={"Authorization": f"Bearer {ADA_TOKEN}"}),
            look_for=["request", "dependency", "endpoint"],
            question=Question(
                prompt="How does Ada's Authorization header appear in the trace?",
                choices=[
                    "[redacted]: the whole header, like step 2's X-API-Key",
                    "Bearer [redacted]: the scheme stays, the token goes",
                    "Bearer and the token's first characters, the rest hidden",
                ],
                answer=1,
                why="The scheme (Bearer) is no secret and tells you which kind of credential came, so the trace "
                "keeps it; the token is hidden. The tracer redacts secret headers and what security schemes "
                "return, everywhere, by default: the token appears nowhere in the trace, not in what "
                "OAuth2PasswordBearer returned either.",
            ),
            checks=[
                status(200),
                order(
                    ("dependency", "start", "OAuth2PasswordBearer"),
                    ("dependency", "start", "get_current_user"),
                    ("endpoint", "start", "my_notes"),
                ),
                has("dependency", "end", "get_current_user", returned="str"),
                custom(
                    "the Authorization header is recorded as 'Bearer [redacted]'",
                    header_sent_redacted("authorization", "Bearer [redacted]"),
                ),
                custom("the token appears nowhere in the trace", nowhere(ADA_TOKEN)),
            ],
        ),
        Step(
            title="A valid token, but not an admin",
            narration="""
Grace logs in fine, but `DELETE /notes/1` depends on `require_admin`, and
she is not an admin. Her token is valid, so every security dependency
passes; then `require_admin` refuses her.
""",
            request=Request("DELETE", "/notes/1", headers={"Authorization": f"Bearer {GRACE_TOKEN}"}),
            look_for=["dependency", "exception"],
            question=Question(
                prompt="Which status does Grace get?",
                choices=["401 Unauthorized", "403 Forbidden", "404 Not Found"],
                answer=1,
                why="We know who she is (her token is valid), she just may not do this: that is 403, and "
                "require_admin raises HTTPException(403). A 401 would ask who she is.",
            ),
            checks=[
                status(403),
                has("dependency", "end", "get_current_user", returned="str"),
                custom("require_admin raises an HTTPException", raised_http_exception("require_admin")),
                has("exception", name="HTTPException", status_code=403, handled=True),
                header("www-authenticate", present=False),
                lacks("endpoint"),
                custom("Grace's token appears nowhere in the trace", nowhere(GRACE_TOKEN)),
            ],
        ),
        Exercise(
            title="A 401 that says how to log in",
            narration="""
Your turn. `GET /drafts` depends on `get_author`, a token check written by
hand, without a security class. Without a token, or with one it does not
know, it answers **401**, but its response has no `WWW-Authenticate`
header, so the client is not told which scheme to use.

Make both of those 401s carry `WWW-Authenticate: Bearer`, as
`OAuth2PasswordBearer`'s did in step 4, while Ada's token still gets her
drafts (200).
""",
            region="www-authenticate",
            request=[
                Request("GET", "/drafts"),
                Request("GET", "/drafts", headers={"Authorization": "Bearer not-a-token"}),
                Request("GET", "/drafts", headers={"Authorization": f"Bearer {ADA_TOKEN}"}),
            ],
            look_for=["dependency", "exception", "response"],
            hints=[
                "Compare the response headers here with step 4's GET /notes: which header is missing?",
                "http_exception_handler sends the headers the HTTPException was given, and only those.",
                "Give each `HTTPException(status_code=401, ...)` in `get_author` "
                "`headers={\"WWW-Authenticate\": \"Bearer\"}`.",
            ],
            checks=[
                status(401),
                header("www-authenticate", value="Bearer"),
                custom("with an unknown token, the answer is also 401 with WWW-Authenticate: Bearer",
                       lambda r: (r.responses[1].status_code == 401
                                  and r.responses[1].headers.get("www-authenticate") == "Bearer")
                       or f"it answered {r.responses[1].status_code} with WWW-Authenticate "
                          f"{r.responses[1].headers.get('www-authenticate')!r}"),
                custom("with Ada's token, my_drafts answers 200 with her drafts",
                       lambda r: (r.responses[2].status_code == 200 and r.responses[2].json().get("author") == "ada")
                       or f"it answered {r.responses[2].status_code}: {r.responses[2].text[:80]}"),
                custom("the two refusals were HTTPException(401)s, answered by an exception handler, and the "
                       "endpoint ran only for Ada", refused_twice_ran_once),
            ],
        ),
    ],
    summary=f"""
Security schemes are dependencies: `APIKeyHeader` and `OAuth2PasswordBearer`
read the credential, and answer by themselves when it is missing, so the
endpoint never runs. **401** means "who are you?" (missing or invalid
credentials), and HTTP wants it to carry `WWW-Authenticate`, naming the
scheme to use; **403** means "I know who you are, and no".

What a missing credential gets depends on the scheme and the version. With
`OAuth2PasswordBearer`: 401 + `WWW-Authenticate: Bearer`, before and after
FastAPI 0.122.0 alike. With `APIKeyHeader` or `HTTPBearer`: 403 without
`WWW-Authenticate` before 0.122.0; since, 401 with `WWW-Authenticate:
APIKey` or `Bearer` (you have {fastapi.__version__}). An `HTTPException(401)`
you raise yourself carries only the headers you give it.
The tracer redacts keys, passwords and tokens everywhere by default
(`--show-secrets` turns that off on your own machine).

Next lesson: WebSockets, a connection that stays open for messages both ways.
""",
)
