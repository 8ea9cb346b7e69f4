"""Lesson 10: Background tasks.

A sign-up service has to answer fast, but it also has to send a welcome
email, and the mail server is slow. `BackgroundTasks` lets the endpoint say
"do this later". This lesson finds out how much later: what the client
waits for, what the request on the server waits for, and what happens
when such a task fails.

The exercise at the end is yours: a newsletter endpoint that still makes
its client wait for the mail server.
"""

import asyncio
from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from pydantic import BaseModel

from lifecycle_tracer.course import Exercise, Lesson, Question, Request, Step, body, custom, has, lacks, order, status

app = FastAPI(title="Sign-ups")

OUTBOX: list[str] = []  # stands in for the mail server
AUDIT_LOG: list[str] = []  # stands in for an audit file
CONFIRMED: list[str] = []  # stands in for the newsletter's mail server (the exercise)


class SignUp(BaseModel):
    email: str


async def send_welcome_email(email: str) -> None:
    await asyncio.sleep(0.2)  # the mail server takes its time
    if email.endswith("@invalid"):
        raise ConnectionError(f"the mail server rejected {email}")
    OUTBOX.append(email)


def mark_welcomed(email: str) -> None:  # a plain def: it runs in the threadpool
    AUDIT_LOG.append(f"welcomed {email}")


def write_audit_line(line: str) -> None:
    AUDIT_LOG.append(line)


def audited(background_tasks: BackgroundTasks) -> str:
    """A dependency can queue work too: it gets the request's BackgroundTasks."""
    background_tasks.add_task(write_audit_line, "sign-up attempted")
    return "audited"


def database():
    connection = {"open": True}
    yield connection
    connection["open"] = False  # teardown: the code after yield


@app.post("/signup", status_code=201)
async def sign_up(form: SignUp, background_tasks: BackgroundTasks) -> dict[str, str]:
    background_tasks.add_task(send_welcome_email, form.email)
    background_tasks.add_task(mark_welcomed, form.email)
    return {"email": form.email, "welcome_email": "queued"}


@app.post("/signup-audited", status_code=201)
async def sign_up_audited(
    form: SignUp,
    background_tasks: BackgroundTasks,
    audit: Annotated[str, Depends(audited)],
    db: Annotated[dict, Depends(database)],
) -> dict[str, str]:
    background_tasks.add_task(send_welcome_email, form.email)
    background_tasks.add_task(mark_welcomed, form.email)
    return {"email": form.email, "welcome_email": "queued"}


@app.get("/outbox")
async def outbox() -> list[str]:
    return OUTBOX


# The exercise's email: awaiting it makes the client wait at least this long, while the
# answer itself takes milliseconds, so a check against it has a generous margin.
EMAIL_SECONDS = 0.5


async def send_confirmation(email: str) -> None:
    await asyncio.sleep(EMAIL_SECONDS)  # this mail server is slower still
    CONFIRMED.append(email)


# ── exercise answer-first: your code starts here ──
@app.post("/newsletter", status_code=201)
async def subscribe(form: SignUp) -> dict[str, str]:
    await send_confirmation(form.email)
    return {"email": form.email, "confirmation": "sent"}
# ── exercise answer-first: your code ends here ──


# --- checks that need more than one event ---------------------------------


def _t(events, stage, kind, name=None):
    return next(e.t_ns for e in events if e.stage == stage and e.kind == kind and (name is None or e.name == name))


def client_had_answer_first(r):
    """The client's wall time is shorter than the request's own duration on the server."""
    total = r.events[-1].detail["duration_ns"] / 1e9
    if r.elapsed < total:
        return True
    return f"the client waited {r.elapsed * 1000:.0f} ms, the request lasted {total * 1000:.0f} ms"


# An event loop's timer can fire a hair early by the tracer's clock: uvloop (libuv) counts in whole
# milliseconds from a cached time, so an asyncio.sleep(0.2) has been seen to end a fraction of a
# millisecond short of 200 ms.
TIMER_SLACK = 0.005


def task_took_a_moment(r):
    took = (_t(r.events, "background", "end") - _t(r.events, "background", "start")) / 1e9
    return took >= 0.2 - TIMER_SLACK or f"the task took {took * 1000:.1f} ms"


def _database_teardown(e):
    # "phase" is the dependency events' own detail key (setup or teardown), not prose.
    return e.stage == "dependency" and e.name == "database" and e.detail.get("phase") == "teardown"


def teardown_after_tasks(r):
    seqs = [e.seq for e in r.events if e.stage == "background" and e.kind == "end"]
    teardown = next(e.seq for e in r.events if _database_teardown(e))
    return (len(seqs) == 3 and max(seqs) < teardown) or f"background ends at {seqs}, teardown at {teardown}"


def database_teardown_ran(r):
    ran = any(e.kind == "start" and _database_teardown(e) for e in r.events)
    return ran or "the database dependency's code after yield never started"


def answered_before_confirmation(r):
    """The client's whole wait was shorter than the email, and ended before the task did.

    The client starts its clock before the server sees the request, so the
    client's elapsed time against the task's end, counted from the request's
    start on the server, can only make the answer look later than it was.
    """
    end = next((e.t_ns for e in r.events if e.stage == "background" and e.kind == "end"
                and e.name == "send_confirmation"), None)
    if end is None:
        return "send_confirmation never ran as a background task"
    task_done = (end - r.events[0].t_ns) / 1e9
    if r.elapsed < min(EMAIL_SECONDS, task_done):
        return True
    return f"the client waited {r.elapsed * 1000:.0f} ms; the task ended {task_done * 1000:.0f} ms into the request"


def duration_includes_task(r):
    after_response = (_t(r.events, "request", "end") - _t(r.events, "response", "end")) / 1e9
    return after_response >= 0.2 - TIMER_SLACK or f"only {after_response * 1000:.1f} ms passed after the response"


LESSON = Lesson(
    id="lesson10",
    title="Background tasks",
    topics=["background", "response", "dependency"],
    goals=[
        "See when a background task runs, compared with the response.",
        "Tell the client's waiting time apart from the request's total time on the server.",
        "Queue tasks from a dependency, and know in which order tasks run.",
        "Know what happens when a background task fails, and when the teardown of a yield dependency runs.",
    ],
    steps=[
        Step(
            title="A sign-up with two tasks",
            narration="""
`POST /signup` queues two tasks with `background_tasks.add_task(...)`,
`send_welcome_email` (0.2 s: the `asyncio.sleep`) and `mark_welcomed`, and
returns at once.

Watch three moments: **response end** (the last part of the body went out),
**background start** and **background end**. Then compare two times: when
the *client* had its answer (the time on the ■ response line) and how long
the *request* lasted on the server (the last ■ request line, also shown on
the → line).
""",
            request=Request("POST", "/signup", json={"email": "ada@example.com"}),
            look_for=["response", "background"],
            question=Question(
                prompt="The email takes 0.2 s. When does the client get its 201?",
                choices=[
                    "After the email is sent: the request is not done until its tasks are",
                    "Before the email is sent: the task starts after the response went out",
                    "At the same time: the task runs in parallel with sending the response",
                ],
                answer=1,
                why="FastAPI hands the tasks to the response, which runs them only after it has sent its last "
                "byte: a background task starts only once the response has gone out.",
            ),
            hints=[
                "Find the ■ response line and the ▶ background line: which comes first?",
                "The request's total time (the last line) includes the task; the ■ response line's time, when the client had everything, does not.",
            ],
            checks=[
                status(201),
                order(
                    ("response", "end"),
                    ("background", "start", "send_welcome_email"),
                    ("background", "end", "send_welcome_email"),
                    ("background", "start", "mark_welcomed"),
                    ("request", "end"),
                ),
                has("background", "start", name="send_welcome_email", is_async=True, response_done=True),
                has("background", "start", name="mark_welcomed", is_async=False, threadpool=True),
                custom("the task takes its 0.2 s of asyncio.sleep", task_took_a_moment),
                custom("the request's total duration includes those 0.2 s after the response", duration_includes_task),
                custom(
                    "the client had its answer sooner than the request ended on the server", client_had_answer_first
                ),
            ],
        ),
        Step(
            title="The task did run",
            narration="""
The client never hears from a background task, so did the email go out?
`GET /outbox` reads the list the task appended to.
""",
            request=Request("GET", "/outbox"),
            look_for=["endpoint"],
            checks=[
                status(200),
                body(lambda data: "ada@example.com" in data, "the outbox holds ada@example.com, sent by the task"),
                lacks("background"),
            ],
        ),
        Step(
            title="Tasks from a dependency",
            narration="""
`POST /signup-audited` also depends on `audited`, which takes
`BackgroundTasks` itself and queues `write_audit_line`. FastAPI gives the
dependency and the endpoint the **same** `BackgroundTasks` object, so all
three tasks end up in one queue, run after this one response. A plain
`def` task runs in the threadpool, like a plain `def` endpoint.
""",
            request=Request("POST", "/signup-audited", json={"email": "grace@example.com"}),
            look_for=["dependency", "background"],
            question=Question(
                prompt="Which of the three tasks runs first?",
                choices=[
                    "send_welcome_email (the endpoint's first)",
                    "write_audit_line (the dependency's)",
                    "All three at once",
                ],
                answer=1,
                why="Dependencies run before the endpoint, so the dependency's task was added first, and tasks run "
                "one after the other, in the order they were added.",
            ),
            hints=[
                "When did `audited` run, compared with the endpoint?",
                "Look at the ▶ dependency audited line and the order of the two ▶ background lines.",
            ],
            checks=[
                status(201),
                order(("dependency", "start", "audited"), ("endpoint", "start", "sign_up_audited")),
                order(
                    ("background", "start", "write_audit_line"),
                    ("background", "end", "write_audit_line"),
                    ("background", "start", "send_welcome_email"),
                    ("background", "end", "send_welcome_email"),
                    ("background", "start", "mark_welcomed"),
                ),
                has("background", "start", name="write_audit_line", is_async=False, threadpool=True),
            ],
        ),
        Step(
            title="Teardown waits for the tasks",
            narration="""
The same request also used `database`, a dependency with `yield`. Its
teardown (the code after `yield`) runs when the request is finished with it,
which, on the FastAPI you have installed, is **after** the background tasks
too. So a task may still use the connection it was given.

When this teardown runs has moved across FastAPI releases (see lesson 3:
0.106 moved it before the response, 0.118 back after it); the checks below
keep the lesson honest on whichever version is installed.
""",
            request=Request("POST", "/signup-audited", json={"email": "alan@example.com"}),
            look_for=["dependency", "background"],
            checks=[
                status(201),
                custom("the database dependency's teardown runs", database_teardown_ran),
                custom("the database teardown starts only after every background task ended", teardown_after_tasks),
            ],
        ),
        Step(
            title="When a task fails",
            narration="""
Now the mail server rejects `bob@invalid`: the task raises `ConnectionError`.
**Expect a traceback in the server log** for this step. And the task queued
after the failing one, `mark_welcomed`, never runs.
""",
            request=Request("POST", "/signup", json={"email": "bob@invalid"}),
            look_for=["background", "exception"],
            question=Question(
                prompt="What status does the client get?",
                choices=["201", "500", "No answer: the connection breaks"],
                answer=0,
                why="The 201 was already out before the task started, so nothing can change it: a task's error "
                "goes to the server's log (uvicorn logs the traceback), never to the client.",
            ),
            checks=[
                status(201),
                has("background", "end", name="send_welcome_email", raised="ConnectionError"),
                order(("response", "end"), ("background", "start"), ("exception",)),
                has("exception", name="ConnectionError", handled=False, status_code=None),
                lacks("background", "start", "mark_welcomed"),
            ],
        ),
        Exercise(
            title="Stop making the subscriber wait",
            narration="""
Your turn. `POST /newsletter` sends a confirmation email that takes
**0.5 s**, and the client waits all that time for its 201, though the
answer does not depend on the email at all.

Change `subscribe` so that the client gets its 201 at once, and the email
still goes out as a background task of this request, after the response.
""",
            region="answer-first",
            request=Request("POST", "/newsletter", json={"email": "linus@example.com"}),
            look_for=["endpoint", "response", "background"],
            hints=[
                "Run it once: where does the 0.5 s go, between the ▶ endpoint and ■ endpoint lines or after "
                "the ■ response line?",
                "Step 1's endpoint did not send its email itself: it asked FastAPI to run it after the response.",
                "Give `subscribe` a `background_tasks: BackgroundTasks` parameter and replace the `await` with "
                "`background_tasks.add_task(send_confirmation, form.email)`.",
            ],
            checks=[
                status(201),
                order(
                    ("response", "end"),
                    ("background", "start", "send_confirmation"),
                    ("background", "end", "send_confirmation"),
                ),
                custom(
                    "send_confirmation ran to its end without raising",
                    lambda r: any(e.stage == "background" and e.kind == "end" and e.name == "send_confirmation"
                                  and not e.detail.get("raised") for e in r.events)
                    or "send_confirmation never ended as a background task, or it raised",
                ),
                custom(
                    f"the client had its answer in less than the email's {EMAIL_SECONDS} s, before the email was sent",
                    answered_before_confirmation,
                ),
            ],
        ),
    ],
    summary="""
`BackgroundTasks` runs work **after** the response's last byte is sent: the
client has its answer while the request is still running on the server, so
the request's total duration includes the tasks. Tasks run one at a time in
the order they were added (dependencies can add them too), a plain `def`
task runs in the threadpool, the teardown of a `yield` dependency waits (by
default) for the tasks, and a task's error only reaches the server log. An
endpoint that awaits slow work the client does not need makes the client wait
for it; queued as a task, it runs after the answer.

For work that is slow, must survive a restart, or must be retried, use a
real task queue instead. Next lesson: security dependencies, API keys and
OAuth2 bearer tokens, and why 401 is not 403.
""",
)
