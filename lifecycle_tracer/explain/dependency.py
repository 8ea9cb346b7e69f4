"""Dependencies: setup, cache hits, skips and teardown."""

from __future__ import annotations

from typing import Any

from ._table import says


def _fills(d: dict[str, Any]) -> str:
    param = d.get("param")
    return f" for '{param}'" if param else ""


def _needed(d: dict[str, Any]) -> str:
    by = d.get("needed_by")
    return f", which {by} needs" if by and d.get("depth") else ""


@says("dependency", "start")
def dependency_start(name: str, d: dict[str, Any]) -> str:
    if d.get("phase") == "teardown":
        if d.get("response_done"):
            when = ", after the response was sent"
        elif d.get("response_started"):
            when = ", while the response is being sent"
        else:
            when = ", before any response was sent"
        text = f"The code after yield in {name} runs now (its teardown){when}."
        if d.get("exception_in"):
            text += f" It receives the {d['exception_in'].rsplit('.', 1)[-1]} raised meanwhile."
        return text
    if d.get("is_generator"):
        return f"FastAPI runs the yield dependency {name}{_needed(d)} up to its yield (its setup){_fills(d)}."
    if d.get("threadpool") is True:
        return (f"FastAPI calls the dependency {name}{_needed(d)}{_fills(d)}; it is not an async def, so it runs "
                "in a worker thread of the threadpool.")
    if d.get("is_async"):
        return f"FastAPI awaits the dependency {name}{_needed(d)}{_fills(d)} (async def) on the event loop."
    return f"FastAPI calls the dependency {name}{_needed(d)}{_fills(d)} on the event loop."


@says("dependency", "end")
def dependency_end(name: str, d: dict[str, Any]) -> str:
    raised = d.get("raised_name") or (d.get("raised") or "").rsplit(".", 1)[-1]
    if d.get("phase") == "teardown":
        return f"{name}'s teardown raised {raised}." if raised else f"{name}'s teardown finished."
    if d.get("is_generator"):
        if raised:
            return f"{name} raised {raised} before reaching its yield."
        return f"{name} reached its yield and handed a {d.get('returned')} to FastAPI{_fills(d)}."
    if raised:
        return f"{name} raised {raised}."
    return f"{name} returned a {d.get('returned')}{_fills(d)}."


@says("dependency", "point")
def dependency_point(name: str, d: dict[str, Any]) -> str:
    if d.get("skipped"):
        return (f"FastAPI did not call {name}: an input it needs (one of its own parameters, or of a dependency "
                "it depends on) failed validation.")
    return (f"{name} already ran for this request, so FastAPI took its value from the per-request cache "
            "instead of calling it again.")
