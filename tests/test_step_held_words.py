"""Step mode's holds in pure functions: bars without the held time, and where a held request waits, in words.

The live side (a real request held inside uvicorn, the TUI at 100x30) is in ``test_step_held.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle_tracer import TraceEvent
from lifecycle_tracer.explain.waiting import waiting
from lifecycle_tracer.instrument.stepper import holds_at
from lifecycle_tracer.timeline import bars, held_between, held_words, ran_ns, request_ns


def ev(stage: str, kind: str, name: str, t: int = 0, seq: int = 1, **detail: Any) -> TraceEvent:
    return TraceEvent("r3", seq, stage, kind, name, t, detail)


def test_bars_subtract_the_holds_inside_them() -> None:
    events = [
        ev("request", "start", "GET /x", 0, 0),
        ev("middleware", "start", "ExceptionMiddleware", 10, 1),
        ev("dependency", "start", "get_db", 20, 2, phase="teardown"),  # held 5 s after this one
        ev("dependency", "end", "get_db", 5_000_000_050, 3, phase="teardown", held_ns=5_000_000_000),
        ev("middleware", "end", "ExceptionMiddleware", 9_000_000_060, 4, held_ns=9_000_000_000),
        ev("request", "end", "request", 9_000_000_070, 5, duration_ns=9_000_000_075, held_ns=9_000_000_000),
    ]
    drawn = {b.event.name: b for b in bars(events)}
    assert (drawn["get_db"].start_ns, drawn["get_db"].end_ns, drawn["get_db"].held_ns) == (20, 50, 5_000_000_000)
    assert (drawn["ExceptionMiddleware"].start_ns, drawn["ExceptionMiddleware"].end_ns) == (10, 60)
    assert (drawn["GET /x"].end_ns, drawn["GET /x"].held_ns) == (70, 9_000_000_000)
    assert ran_ns(events) == 70 and held_between(events) == 9_000_000_000
    assert request_ns(events[-1].detail) == 75 and held_words(9_000_000_000) == "held 9.0 s in step mode"
    assert "It was also held 9.0 s in step mode, not counted in that time." in events[-1].explain


WAITING = [
    (ev("middleware", "start", "ServerErrorMiddleware", depth=0), "r3 is waiting before ServerErrorMiddleware runs"),
    (ev("middleware", "start", "BaseHTTPMiddleware", function="add_timing", depth=3),
     "r3 is waiting before the middleware add_timing runs its code before call_next"),
    (ev("middleware", "end", "ExceptionMiddleware", depth=4, called_next=True),
     "r3 is waiting before ExceptionMiddleware returns to the layer outside it"),
    (ev("middleware", "end", "BaseHTTPMiddleware", depth=3, called_next=True, function="add_timing"),
     "r3 is waiting before the middleware add_timing returns to the layer outside it"),
    (ev("middleware", "end", "ServerErrorMiddleware", depth=0, called_next=True),
     "r3 is waiting before ServerErrorMiddleware hands control back to the server"),
    (ev("middleware", "end", "AuthMiddleware", depth=2, raised="fastapi.HTTPException", raised_name="HTTPException"),
     "r3 is waiting while HTTPException passes out of AuthMiddleware"),
    (ev("routing", "point", "/notes", matched=True), "r3 is waiting after the router chose /notes"),
    (ev("routing", "point", "404 Not Found", matched=False, path="/nope"),
     "r3 is waiting after the router found no route for /nope"),
    (ev("routing", "point", "405: path matched, method not allowed", matched=False, path="/notes", partial="/notes",
        status=405), "r3 is waiting after the router matched the path /notes but not the method"),
    (ev("dependency", "start", "get_db", phase="setup", is_generator=True),
     "r3 is waiting before get_db runs up to its yield"),
    (ev("dependency", "start", "get_db", phase="teardown", is_generator=True),
     "r3 is waiting before get_db's teardown runs"),
    (ev("dependency", "start", "check_token", phase="setup", is_async=True),
     "r3 is waiting before the dependency check_token runs"),
    (ev("dependency", "point", "get_db", cached=True), "r3 is waiting after FastAPI reused get_db's value from the request's cache"),
    (ev("dependency", "point", "get_user", skipped=True),
     "r3 is waiting after FastAPI skipped get_user (an input it needs failed validation)"),
    (ev("validation", "point", "skip", ok=True), "r3 is waiting after FastAPI checked skip"),
    (ev("validation", "point", "limit", ok=False), "r3 is waiting after FastAPI rejected limit"),
    (ev("endpoint", "start", "say_hello", is_async=True), "r3 is waiting before the endpoint say_hello runs"),
    (ev("serialization", "start", "jsonable_encoder", response_model=None),
     "r3 is waiting before jsonable_encoder turns the returned value into plain data"),
    (ev("serialization", "start", "NoteOut", response_model="NoteOut"),
     "r3 is waiting before FastAPI checks the returned value against NoteOut"),
    (ev("response", "start", "200", status_code=200), "r3 is waiting before status 200 and its headers go to the server"),
    (ev("background", "start", "send_email"), "r3 is waiting before the background task send_email runs"),
    # Anything else: what happened, in the event's own sentence (never "paused after response point chunk").
    (ev("response", "point", "chunk", chunk=2, bytes=5),
     "r3 is waiting just after this: Part 2 of the body (5 bytes) went out marked 'more to come'."),
]


@pytest.mark.parametrize(("held", "words"), WAITING, ids=[f"{e.stage}-{e.kind}-{i}" for i, (e, _) in enumerate(WAITING)])
def test_where_a_held_request_waits_in_words(held: TraceEvent, words: str) -> None:
    assert waiting(held) == words
    assert " start " not in words and " point " not in words and "paused after" not in words


def test_step_mode_stops_after_a_middleware_returns_but_not_while_an_exception_passes_out() -> None:
    assert holds_at(ev("middleware", "end", "ExceptionMiddleware", depth=4, called_next=True))
    assert not holds_at(ev("middleware", "end", "ExceptionMiddleware", depth=4, raised="ValueError"))
    assert not holds_at(ev("endpoint", "end", "say_hello"))
    assert not holds_at(ev("dependency", "end", "get_db", phase="teardown"))
    assert holds_at(ev("dependency", "start", "get_db", phase="teardown"))
