"""Lesson 8: async def and def.

An endpoint can be an `async def` or a plain `def`, and FastAPI does not
run the two in the same place. That choice matters as soon as an endpoint waits for
something slow: the three report endpoints below all wait 0.3 s, but they
do not all behave the same when several users call them at once.
"""

import asyncio
import threading
import time
from itertools import pairwise

import anyio.to_thread
from fastapi import FastAPI

from lifecycle_tracer.course import Exercise, Lesson, Question, Request, Step, body, custom, has, status

app = FastAPI(title="async def and def")

SLOW_CALL = 0.3  # seconds: stands in for a slow database query or HTTP call


@app.get("/reports/awaiting")
async def report_awaiting() -> dict[str, str]:
    await asyncio.sleep(SLOW_CALL)  # an async library: the wait gives the event loop back
    return {"report": "ready", "thread": threading.current_thread().name}


@app.get("/reports/threaded")
def report_threaded() -> dict[str, str]:
    time.sleep(SLOW_CALL)  # a blocking library, in a plain def (steps 1 and 3)
    return {"report": "ready", "thread": threading.current_thread().name}


@app.get("/reports/blocking")
async def report_blocking() -> dict[str, str]:
    time.sleep(SLOW_CALL)  # a blocking call inside async def (step 2 fires three at once)
    return {"report": "ready", "thread": threading.current_thread().name}


@app.get("/threadpool")
async def threadpool_limit() -> dict[str, float]:
    # The limiter every plain def call FastAPI sends to a worker thread borrows a token from.
    return {"total_tokens": anyio.to_thread.current_default_thread_limiter().total_tokens}


RATES = {"EUR": 0.92, "GBP": 0.79, "JPY": 151.2}


def fetch_rate(currency: str) -> float:
    # Stands in for a blocking client library you cannot change, like requests.
    time.sleep(SLOW_CALL)
    return RATES[currency]


# ── exercise rates: your code starts here ──
@app.get("/rates/{currency}")
async def read_rate(currency: str) -> dict[str, str | float]:
    return {"currency": currency, "rate": fetch_rate(currency)}
# ── exercise rates: your code ends here ──


def _runs(r):
    """(start, end) of each request's endpoint, in seconds on one clock, sorted by start."""
    spans = []
    for events in r.traces:
        start = next(e.t_ns for e in events if e.stage == "endpoint" and e.kind == "start")
        end = next(e.t_ns for e in events if e.stage == "endpoint" and e.kind == "end")
        spans.append((start / 1e9, end / 1e9))
    return sorted(spans)


def _one_after_another(r):
    spans = _runs(r)
    for (_, prev_end), (start, _) in pairwise(spans):
        if start < prev_end:
            return "two endpoint runs overlapped"
    return len(spans) == 3 or f"saw {len(spans)} runs"


def _overlapping(r):
    spans = _runs(r)
    latest_start = max(s for s, _ in spans)
    earliest_end = min(e for _, e in spans)
    return latest_start < earliest_end or "some run only started after another had finished"


def _took(low=None, high=None):
    def test(r):
        t = r.elapsed
        if low is not None and t < low:
            return f"all three answered after {t:.2f} s"
        if high is not None and t >= high:
            return f"all three answered after {t:.2f} s"
        return True

    return test


def _client_waits(r):
    return ", ".join(f"{resp.elapsed.total_seconds():.2f} s" for resp in sorted(r.responses, key=lambda x: x.elapsed))


def _slowest_waited(at_least):
    def test(r):
        worst = max(resp.elapsed.total_seconds() for resp in r.responses)
        return worst >= at_least or f"the clients waited {_client_waits(r)}"

    return test


def _endpoint(events):
    return next(e for e in events if e.stage == "endpoint" and e.kind == "start")


def _each_rate(r):
    for resp in r.responses:
        currency = resp.request.url.path.rsplit("/", 1)[-1]
        if resp.status_code != 200 or resp.json() != {"currency": currency, "rate": RATES[currency]}:
            return f"/rates/{currency} answered {resp.status_code}: {resp.text[:80]}"
    return True


def _each_run_lasted(at_least):
    def test(r):
        lengths = [end - start for start, end in _runs(r)]
        return min(lengths) >= at_least or "the endpoint runs lasted " + ", ".join(f"{t:.2f} s" for t in lengths)

    return test


LESSON = Lesson(
    id="lesson8",
    title="async def and def",
    topics=["endpoint", "async", "threadpool", "concurrency"],
    goals=[
        "Know where FastAPI runs an async def endpoint, and where a plain def one.",
        "See what a blocking call (time.sleep) inside async def does to concurrent requests.",
        "Know whether the threadpool has a limit, and how big it is by default.",
        "Choose between async def and def for the library you have.",
    ],
    steps=[
        Step(
            title="Two ways to write an endpoint",
            narration="""
We call `report_awaiting` (`async def`) and `report_threaded` (plain `def`)
at the same moment. Each one reports the name of the thread it ran on.
""",
            request=[Request("GET", "/reports/awaiting"), Request("GET", "/reports/threaded")],
            look_for=["endpoint"],
            question=Question(
                prompt="Which endpoint does FastAPI run in a worker thread?",
                choices=["report_awaiting (async def)", "report_threaded (def)", "Both", "Neither"],
                answer=1,
                why="FastAPI awaits an async def endpoint directly on the event loop. A plain def cannot be "
                "awaited, so FastAPI sends it to a worker thread of the threadpool and awaits the result.",
            ),
            checks=[
                has("endpoint", "start", "report_awaiting", is_async=True, threadpool=False),
                custom(
                    "report_threaded runs in the threadpool (is_async False, threadpool True)",
                    lambda r: (
                        (_endpoint(r.traces[1]).detail["is_async"], _endpoint(r.traces[1]).detail["threadpool"])
                        == (False, True)
                    ),
                ),
                custom(
                    "the two endpoints ran on different threads",
                    lambda r: (
                        r.responses[0].json()["thread"] != r.responses[1].json()["thread"]
                        or f"both said {r.responses[0].json()['thread']}"
                    ),
                ),
            ],
        ),
        Step(
            title="Blocking inside async def",
            narration="""
`report_blocking` is `async def` but calls `time.sleep(0.3)`, a **blocking**
call: it never `await`s. We fire **three copies at once**. Compare the
duration printed next to each request (measured inside the app, from the
moment the app received it) with how long the clients waited in all.
""",
            request=Request("GET", "/reports/blocking", concurrent=3),
            look_for=["endpoint"],
            question=Question(
                prompt="Three copies, each sleeping 0.3 s. When has the last one answered?",
                choices=["After about 0.3 s: they run side by side", "After about 0.9 s: they run one after another"],
                answer=1,
                why="time.sleep holds the only event-loop thread, so the second request's endpoint cannot start "
                "until the first one's sleep is over: 3 × 0.3 s.",
            ),
            hints=[
                "How many event loops does the server have? What does time.sleep do to the thread it runs on?",
                "Look at the endpoint start and end times: does any copy start before the previous one ended?",
            ],
            checks=[
                has("endpoint", "start", "report_blocking", is_async=True, threadpool=False),
                custom("the three endpoint runs happened one after another, never overlapping", _one_after_another),
                custom("all three answered only after at least 0.8 s (about 3 × 0.3 s)", _took(low=0.8)),
                custom(
                    "the unluckiest client waited at least 0.6 s (two sleeps or more) for its answer",
                    _slowest_waited(0.6),
                ),
            ],
        ),
        Step(
            title="The same sleep in a plain def",
            narration="""
`report_threaded` does exactly the same `time.sleep(0.3)`, but it is a
plain `def`. Three copies again.
""",
            request=Request("GET", "/reports/threaded", concurrent=3),
            look_for=["endpoint"],
            question=Question(
                prompt="Three copies of the def endpoint: when has the last one answered?",
                choices=["After about 0.3 s", "After about 0.9 s"],
                answer=0,
                why="Each copy sleeps in its own worker thread while the event loop stays free to accept the "
                "other requests, so the three sleeps overlap.",
            ),
            checks=[
                has("endpoint", "start", "report_threaded", is_async=False, threadpool=True),
                custom("the three endpoint runs overlapped in time", _overlapping),
                custom("all three answered in under 0.7 s (about 1 × 0.3 s)", _took(high=0.7)),
            ],
        ),
        Step(
            title="How many worker threads at once?",
            narration="""
A plain `def` has a limit of its own. FastAPI hands each call, through
Starlette's `run_in_threadpool`, to AnyIO's `to_thread.run_sync`, which
first borrows a **token** from a limiter that every request shares, and
gives it back when the function returns. When
no token is free, the next call waits, without blocking the event loop,
until one is. `GET /threadpool` reports the default limiter's size.
""",
            request=Request("GET", "/threadpool"),
            look_for=["endpoint"],
            question=Question(
                prompt="How many plain def calls can run in worker threads at the same moment, by default?",
                choices=["One per CPU core", "40", "As many as there are requests"],
                answer=1,
                why="AnyIO's default limiter is CapacityLimiter(40), whatever the machine. Sync dependencies "
                "borrow from it too. So 40 slow blocking calls fill the threadpool, and one more plain def waits "
                "for a token: a def endpoint does not block the event loop, but it can wait behind other requests.",
            ),
            checks=[
                status(200),
                body(lambda b: b == {"total_tokens": 40}, "the default limiter has 40 tokens"),
            ],
        ),
        Step(
            title="Or await something that is really async",
            narration="""
`report_awaiting` is `async def` too, but it waits with
`await asyncio.sleep(0.3)`. Each `await` hands the event loop back, so it
can start the other copies while this one waits. Inside `async def`, use
libraries you can `await` (an async database driver, `httpx.AsyncClient`);
if you only have a blocking one, write a plain `def`.
""",
            request=Request("GET", "/reports/awaiting", concurrent=3),
            look_for=["endpoint"],
            checks=[
                has("endpoint", "start", "report_awaiting", is_async=True, threadpool=False),
                custom("the three endpoint runs overlapped in time", _overlapping),
                custom("all three answered in under 0.7 s (about 1 × 0.3 s)", _took(high=0.7)),
                custom(
                    "all three ran on the same thread, the event loop's",
                    lambda r: len({resp.json()["thread"] for resp in r.responses}) == 1,
                ),
            ],
        ),
        Exercise(
            title="Let three rate lookups run side by side",
            narration="""
Your turn. `read_rate` gets an exchange rate from `fetch_rate`, a
blocking client library you cannot change: each call takes 0.3 s. When
three users ask at once (`/rates/EUR`, `/rates/GBP`, `/rates/JPY`), their
endpoint runs come one after another. Change `read_rate`, and only it, so
that the three runs overlap and all three have answered in under 0.8 s.
Each rate must still come from `fetch_rate`.
""",
            region="rates",
            request=[Request("GET", "/rates/EUR"), Request("GET", "/rates/GBP"), Request("GET", "/rates/JPY")],
            look_for=["endpoint"],
            hints=[
                "Look at the three endpoint runs' start and end times, and at where read_rate ran: the event loop "
                "or a worker thread?",
                "fetch_rate never awaits, so inside async def it holds the event loop for its whole 0.3 s. "
                "Blocking code belongs in a worker thread.",
                "Make read_rate a plain def (FastAPI then runs it in the threadpool), or keep async def and "
                "`await run_in_threadpool(fetch_rate, currency)` (from fastapi.concurrency).",
            ],
            checks=[
                custom("all three answered 200 with their currency's rate", _each_rate),
                custom("the three endpoint runs overlapped in time", _overlapping),
                custom("all three answered in under 0.8 s (one after another takes at least 0.9 s)", _took(high=0.8)),
                custom(
                    "each endpoint run still lasted at least 0.25 s: the rate still comes from the slow fetch_rate",
                    _each_run_lasted(0.25),
                ),
            ],
        ),
    ],
    summary="""
An `async def` endpoint runs **on the event loop**, the one thread that
serves every request; a plain `def` endpoint runs **in the threadpool**.
A blocking call such as `time.sleep`, `requests.get` or a synchronous
database driver inside `async def` stops the whole event loop, so
concurrent requests wait in line (3 × 0.3 s). The same call in a plain
`def` blocks only its own worker thread (the three took about 0.3 s in
all), but by default at most 40 worker threads are busy at once (AnyIO's
limiter has 40 tokens), so a 41st blocking call waits for a free one. An
`await` of a truly async library blocks no thread at all. Next lesson: errors, exception handlers
and where a crash turns into a 500.
""",
)
