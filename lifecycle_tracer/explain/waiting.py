"""Where step mode holds a request, in words: the status line's sentence.

Step mode holds a request right after an event (see ``instrument/stepper.py``),
so the held event says where the request waits: a start is held before the
code it announces runs, a middleware's end before the layer outside it goes on,
a point after what it reports. One sentence per held event, from its facts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..events import TraceEvent

Say = Callable[[str, dict[str, Any]], str]


def _last(dotted: Any) -> str:
    return str(dotted or "").rsplit(".", 1)[-1]


def _middleware_start(name: str, d: dict[str, Any]) -> str:
    function = d.get("function")
    if function:
        return f"before the middleware {function} runs its code before call_next"
    return f"before {name} runs"


def _middleware_end(name: str, d: dict[str, Any]) -> str:
    label = f"the middleware {d['function']}" if d.get("function") else name
    raised = d.get("raised_name") or _last(d.get("raised"))
    if raised:
        return f"while {raised} passes out of {label}"
    if d.get("depth") == 0:
        return f"before {label} hands control back to the server"
    return f"before {label} returns to the layer outside it"


def _routing(name: str, d: dict[str, Any]) -> str:
    if d.get("matched"):
        return f"after the router chose {name}"
    if d.get("partial"):  # a route's path matched, its methods did not: Starlette's partial match
        return f"after the router matched the path {d['partial']} but not the method"
    return f"after the router found no route for {d.get('path') or name}"


def _dependency_start(name: str, d: dict[str, Any]) -> str:
    if d.get("phase") == "teardown":
        return f"before {name}'s teardown runs"
    if d.get("is_generator"):
        return f"before {name} runs up to its yield"
    return f"before the dependency {name} runs"


def _dependency_point(name: str, d: dict[str, Any]) -> str:
    if d.get("skipped"):
        return f"after FastAPI skipped {name} (an input it needs failed validation)"
    return f"after FastAPI reused {name}'s value from the request's cache"


def _validation(name: str, d: dict[str, Any]) -> str:
    return f"after FastAPI {'rejected' if d.get('ok') is False else 'checked'} {name}"


def _endpoint_start(name: str, d: dict[str, Any]) -> str:
    return f"before the endpoint {name} runs"


def _serialization_start(name: str, d: dict[str, Any]) -> str:
    model = d.get("response_model")
    if model:
        return f"before FastAPI checks the returned value against {model}"
    return "before jsonable_encoder turns the returned value into plain data"


def _response_start(name: str, d: dict[str, Any]) -> str:
    return f"before status {d.get('status_code', name)} and its headers go to the server"


def _request_start(name: str, d: dict[str, Any]) -> str:
    if d.get("type") == "lifespan":
        return ""
    return f"before {name} enters the app's outermost layer"


def _background_start(name: str, d: dict[str, Any]) -> str:
    return f"before the background task {name} runs"


_WHERE: dict[tuple[str, str], Say] = {
    ("request", "start"): _request_start,
    ("middleware", "start"): _middleware_start,
    ("middleware", "end"): _middleware_end,
    ("routing", "point"): _routing,
    ("dependency", "start"): _dependency_start,
    ("dependency", "point"): _dependency_point,
    ("validation", "point"): _validation,
    ("endpoint", "start"): _endpoint_start,
    ("serialization", "start"): _serialization_start,
    ("response", "start"): _response_start,
    ("background", "start"): _background_start,
}


def waiting(event: TraceEvent) -> str:
    """'r3 is waiting before get_db's teardown runs': where a held request waits, from the held event."""
    say = _WHERE.get((event.stage, event.kind))
    where = ""
    if say is not None:
        try:
            where = say(event.name, event.detail)
        except Exception:  # a fact of an unexpected shape (a hand-made event): say what happened instead
            where = ""
    if not where:
        return f"{event.request_id} is waiting just after this: {event.explain}"
    return f"{event.request_id} is waiting {where}"
