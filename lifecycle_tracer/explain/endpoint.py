"""The endpoint, serialization and background tasks."""

from __future__ import annotations

from typing import Any

from ._table import says


@says("endpoint", "start")
def endpoint_start(name: str, d: dict[str, Any]) -> str:
    if d.get("threadpool"):
        return (f"All inputs are valid; FastAPI runs your endpoint {name} in a worker thread of the threadpool, "
                "because it is not an async def, so the event loop stays free for other requests.")
    if d.get("is_async"):
        return f"All inputs are valid; FastAPI awaits your endpoint {name} (async def) on the event loop."
    return f"All inputs are valid; FastAPI calls your endpoint {name} on the event loop."


@says("endpoint", "end")
def endpoint_end(name: str, d: dict[str, Any]) -> str:
    if d.get("raised_name") or d.get("raised"):
        return f"{name} raised {d.get('raised_name') or d.get('raised')} instead of returning."
    return f"{name} returned a {d.get('returned')}."


@says("endpoint", "point")
def endpoint_point(name: str, d: dict[str, Any]) -> str:
    if d.get("websocket"):
        return (f"FastAPI calls your WebSocket endpoint {name}; it runs for the whole conversation, so the accept, "
                "messages and close that follow show what it does.")
    if d.get("iterating"):
        where = "in a worker thread of the threadpool" if d.get("threadpool") else "on the event loop"
        return f"The body of your generator endpoint {name} is running {where}: each item it yields becomes part of the response."
    if d.get("is_async"):
        return (f"Your endpoint {name} is an async generator: FastAPI streams each item it yields as part of the "
                "response, on the event loop.")
    return f"Your endpoint {name} is a generator: FastAPI created it, and its body runs as the response pulls its items."


def _how(d: dict[str, Any]) -> str:
    if d.get("dump_json"):
        return ", and Pydantic (the library FastAPI checks types with) turns it into the JSON bytes to send"
    return ""


@says("serialization", "start")
def serialization_start(name: str, d: dict[str, Any]) -> str:
    model = d.get("response_model")
    returned = d.get("returned")
    if model is None:
        return (f"There is no response_model, so FastAPI's jsonable_encoder turns the returned {returned} into plain "
                f"data (dicts, lists, strings, numbers) for {d.get('response_class')}.")
    if d.get("filters_fields"):
        return (f"FastAPI validates the returned {returned} against {model}, keeping only the fields it "
                f"declares{_how(d)}.")
    return f"FastAPI checks the returned {returned} against the declared type {model}{_how(d)}."


@says("serialization", "end")
def serialization_end(name: str, d: dict[str, Any]) -> str:
    if d.get("raised_name") or d.get("raised"):
        raised = d.get("raised_name") or d.get("raised")
        if d.get("response_model"):
            return f"The returned value failed the check against {d['response_model']}: {raised}."
        return f"jsonable_encoder could not turn the returned value into plain data: {raised}."
    if d.get("dump_json") and d.get("bytes") is not None:
        return f"Serialization finished: {d['bytes']} bytes of JSON."
    cls = d.get("response_class")
    media = f" ({d['media_type']})" if d.get("media_type") else ""
    return f"Serialization finished; {cls}{media} turns the result into the body's bytes."


@says("serialization", "point")
def serialization_point(name: str, d: dict[str, Any]) -> str:
    return (f"The endpoint returned a {d.get('response_class')} itself, so FastAPI skipped the response model and "
            "serialization: it sends that response's own status, headers and body (adding only the request's "
            "background tasks, if the response has none).")


@says("background", "start")
def background_start(name: str, d: dict[str, Any]) -> str:
    if d.get("response_done"):
        when = ", after the response was sent: the client already has its answer"
    elif d.get("response_started"):
        when = ", while the response is still open"
    else:
        when = ""
    if d.get("not_callable"):
        # Starlette hands anything that is not an async function to the threadpool, and calls it there.
        where = " in a worker thread of the threadpool" if d.get("threadpool") else ""
        return (f"The background task {name} is a {d['not_callable']} object, not a function: add_task was given "
                f"the result of calling {name}, not {name} itself. Starlette runs it{where}{when}.")
    where = " in a worker thread of the threadpool (it is not an async def)" if d.get("threadpool") else (
        " on the event loop" if d.get("threadpool") is False else "")
    return f"The background task {name} starts{where}{when}."


@says("background", "end")
def background_end(name: str, d: dict[str, Any]) -> str:
    raised = d.get("raised_name") or d.get("raised")
    if raised:
        tail = "; the client had already received its response" if d.get("response_done") else ""
        return f"The background task {name} raised {raised}{tail}."
    return f"The background task {name} finished."
