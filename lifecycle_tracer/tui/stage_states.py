"""How far each stage got, read from facts in a request's events: what the pipeline's labels say.

Where the events cannot tell (a route's dependencies when FastAPI stopped before solving
them), a label says what did not happen, never why it would not have.
"""

from __future__ import annotations

from typing import Any

from ..events import TraceEvent
from .stage_basics import (
    ACTIVE,
    CORE,
    DONE,
    FAILED,
    PENDING,
    SKIPPED,
    STOPPED,
    Chip,
    layer_key,
    layer_label,
    own,
    short,
    whole,
)


class Reading:
    """One pass over a request's events, keeping the facts the labels need."""

    def __init__(self, events: list[TraceEvent]) -> None:
        self.chips: dict[str, Chip] = {"client": Chip("client", "client")}
        for ev in events:
            if ev.stage == "middleware" and ev.kind == "start" and layer_key(ev) not in self.chips:
                label, detail = layer_label(ev)
                self.chips[layer_key(ev)] = Chip(layer_key(ev), label, detail=detail, depth=whole(ev.detail.get("depth")))
        for key in CORE:
            self.chips[key] = Chip(key, key)
        self.is_ws = bool(events) and events[0].detail.get("type") == "websocket"
        self.stop = ""  # what stopped the request going further in, in words
        self.before_solving = False  # it stopped before FastAPI began to solve dependencies
        self.endpoint_ran = self.streams = False
        self.endpoint_name = ""
        self.tasks: list[str] = []  # the background tasks begun, in order
        self.solved: list[str] = []
        self.torn: list[str] = []
        self.checked = 0
        self.invalid: list[str] = []
        self.last_failed: Chip | None = None
        self.passing = ""  # an exception on its way out through the layers
        self.handler = ""
        self.caught: dict[str, bool] = {}  # layer name: whether it could still answer the exception it caught
        self.handled_status: Any = None
        self.status: Any = None
        self.messages = [0, 0]  # WebSocket messages in, out

    def stopped(self, reason: str, before_solving: bool = False) -> None:
        if not self.stop:
            self.stop, self.before_solving = reason, before_solving

    def fail(self, chip: Chip, note: str) -> None:
        chip.state, chip.note = FAILED, note
        self.last_failed = chip

    def reached_inside(self) -> bool:
        """Whether FastAPI began solving: any dependency, validation or endpoint event so far."""
        return any(self.chips[k].state != PENDING for k in ("dependencies", "validation", "endpoint"))

    # -- one handler per stage -------------------------------------------------------------------
    def middleware(self, ev: TraceEvent, chip: Chip) -> None:
        d = ev.detail
        if ev.kind == "start":
            chip.state = ACTIVE
            return
        raised = short(d.get("raised_name") or d["raised"]) if d.get("raised") else ""
        if raised and d.get("passes_up"):  # recordings made before 0.3
            chip.state, chip.note = DONE, f"{raised} passed up"
        elif raised and ev.name in self.caught:
            sent = f" → {self.status}" if self.caught[ev.name] else " (its response had already gone)"
            chip.state, chip.note = DONE, f"caught {raised}{sent}"
        elif raised and d.get("called_next") is False:
            self.fail(chip, f"raised {raised}")
            self.stopped(f"{chip.label} raised {raised}", before_solving=not self.reached_inside())
            self.passing = raised
        elif raised:
            # Its code after call_next never ran: the exception came out of the layers inside it.
            chip.state, chip.note = STOPPED, f"{raised} passed through"
            self.passing = raised
        else:
            chip.state = DONE
            if self.passing:
                chip.note = f"handled {self.passing}" + (f" with {self.handler}" if self.handler else "")
                self.passing = ""
            elif d.get("called_next") is False:
                chip.note = "answered by itself"
                self.stopped(f"{chip.label} answered by itself", before_solving=True)

    def routing(self, ev: TraceEvent, chip: Chip) -> None:
        if ev.detail.get("matched"):
            chip.state, chip.note = DONE, f"matched {ev.detail.get('route') or ev.name}"
            return
        status = ev.detail.get("status", ev.detail.get("status_hint"))  # status_hint: recordings made before 0.2
        self.fail(chip, "path matched, method not allowed → 405" if status == 405 else f"no route matched → {status}")
        self.stopped("no route matched" if status != 405 else "the method is not allowed", before_solving=True)

    def dependency(self, ev: TraceEvent, chip: Chip) -> None:
        d, name = ev.detail, own(ev.name)
        if d.get("phase") == "teardown":
            if ev.kind == "end" and d.get("raised"):
                self.fail(chip, f"{name} teardown raised {short(d.get('raised_name') or d['raised'])}")
            elif ev.kind == "end":
                self.torn.append(name)
            return
        if ev.kind == "start" and chip.state != FAILED:
            chip.state = ACTIVE
        elif ev.kind == "end" and d.get("raised"):
            raised = short(d.get("raised_name") or d["raised"])
            self.fail(chip, f"{name} raised {raised}")
            self.stopped(f"{name} raised {raised}")
        elif ev.kind == "end":
            self.solved.append(name)
        elif ev.kind == "point":
            self.solved.append(f"{name} (cached)" if d.get("cached") else name)
            if chip.state == PENDING:
                chip.state = ACTIVE

    def validation(self, ev: TraceEvent, chip: Chip) -> None:
        d = ev.detail
        if d.get("ok") is False:
            # A required value the client never sent is missing, not invalid (the fact says which).
            self.invalid.append(f"{ev.name} missing" if d.get("sent") is False else f"{ev.name} invalid")
            if d.get("json_invalid"):
                self.fail(chip, "the body is not valid JSON")
                self.stopped("the body was not valid JSON", before_solving=True)
            else:
                self.fail(chip, ", ".join(self.invalid))
                self.stopped("validation failed")
        else:
            self.checked += 1
            if chip.state == PENDING:
                chip.state = ACTIVE

    def endpoint(self, ev: TraceEvent, chip: Chip) -> None:
        d, name = ev.detail, own(ev.name)
        self.endpoint_ran, self.endpoint_name = True, name
        # FastAPI calls the endpoint only once every dependency and parameter is solved.
        for before, nothing in ((self.chips["dependencies"], "none declared"), (self.chips["validation"], "no parameters")):
            if before.state in (ACTIVE, PENDING):
                before.state, before.note = (DONE, before.note) if before.state == ACTIVE else (SKIPPED, nothing)
        if ev.kind == "start":
            chip.state, chip.note = ACTIVE, f"{name} running ({'threadpool' if d.get('threadpool') else 'event loop'})"
        elif ev.kind == "end" and d.get("raised"):
            raised = short(d.get("raised_name") or d["raised"])
            self.fail(chip, f"{name} raised {raised}")
            self.stopped(f"{name} raised {raised}")
        elif ev.kind == "end":
            chip.state, chip.note = DONE, f"{name} returned {d.get('returned', '')}".rstrip()
        elif d.get("websocket"):
            chip.state, chip.note = ACTIVE, f"{name} called with the WebSocket"
        else:
            self.streams = True
            chip.state, chip.note = ACTIVE, f"{name} streams its items"

    def websocket(self, ev: TraceEvent, chip: Chip) -> None:
        if ev.name in ("receive", "send"):
            self.messages[ev.name == "send"] += 1
        if self.endpoint_ran:
            chip.note = f"{self.endpoint_name}: {self.messages[0]} in, {self.messages[1]} out"
        elif ev.name == "close":
            self.stopped(f"the WebSocket was closed ({ev.detail.get('code')})")
            if self.last_failed is not None and "→" not in self.last_failed.note:
                self.last_failed.note += f" → closed {ev.detail.get('code')}"

    def serialization(self, ev: TraceEvent, chip: Chip) -> None:
        d = ev.detail
        if ev.kind == "point" and d.get("skipped"):
            chip.state, chip.note = SKIPPED, f"endpoint returned a {d.get('response_class') or 'Response'}"
        elif ev.kind == "start":
            chip.state, chip.note = ACTIVE, str(d.get("response_model") or "jsonable_encoder")
        elif ev.kind == "end" and d.get("raised"):
            self.fail(chip, f"{chip.note} raised {short(d.get('raised_name') or d['raised'])}")
        elif ev.kind == "end":
            chip.state = DONE

    def response(self, ev: TraceEvent, chip: Chip) -> None:
        d = ev.detail
        if ev.kind == "start":
            self.status = d.get("status_code")
            chip.state, chip.note = ACTIVE, f"{self.status} being sent"
        elif ev.kind == "end":
            # The stage did its work: the response went out, whatever its status. A 500 is the request's
            # failure, said on the client's row and in words here, not a response that failed to send.
            chip.state = DONE
            # A layer may have sent its own response instead of the handler's: name the handler only when they agree.
            by = f" from {self.handler}" if self.handler and self.handled_status == d.get("status_code") else ""
            error = ", a server error" if whole(d.get("status_code")) >= 500 else ""
            chip.note = f"{d.get('status_code')} · {d.get('bytes')} bytes{by}{error}"
        elif ev.name == "disconnect":
            chip.note = "the client went away"

    def background(self, ev: TraceEvent, chip: Chip) -> None:
        d, name = ev.detail, own(ev.name)
        if ev.kind == "start":
            # Every task the request ran is named, in the order they started, not only the latest.
            self.tasks.append(name)
            if chip.state != FAILED:
                chip.state = ACTIVE
                chip.note = name if len(self.tasks) == 1 else f"{len(self.tasks)} tasks: {', '.join(self.tasks)}"
        elif ev.kind == "end" and d.get("raised"):
            self.fail(chip, f"{name} raised {short(d.get('raised_name') or d['raised'])}")
        elif ev.kind == "end" and chip.state != FAILED:
            chip.state = DONE

    def exception(self, ev: TraceEvent) -> None:
        d = ev.detail
        name = str(d.get("exc_name") or ev.name)
        status = d.get("status_code")
        if d.get("handled") and d.get("handler"):
            self.handler, self.handled_status = str(d["handler"]), status
        if d.get("caught_by"):
            self.caught[str(d["caught_by"])] = not d.get("response_started")
        message = d.get("message")
        self.stopped(f"{name}: {message}" if message else f"{name} raised", before_solving=not self.reached_inside())
        failed = self.last_failed
        if failed is not None and status is not None and "→" not in failed.note:
            failed.note += f" → {status}"

    # -- once the request is over --------------------------------------------------------------
    def finish(self, end: TraceEvent) -> None:
        by = self.chips
        reason = self.stop
        for key in ("routing", "dependencies", "validation", "endpoint", "serialization"):
            chip = by[key]
            if chip.state == ACTIVE and key == "validation" and not self.endpoint_ran and reason:
                chip.state, chip.note = STOPPED, f"{reason} ({_count(self.checked, 'value')} checked)"
            elif chip.state != PENDING:
                continue
            elif key == "serialization" and self.streams:
                chip.state, chip.note = SKIPPED, "the endpoint streams its items"
            elif key == "serialization" and self.is_ws:
                chip.state, chip.note = SKIPPED, "a WebSocket sends messages"
            elif reason and (self.before_solving or key != "dependencies"):
                chip.state, chip.note = SKIPPED, f"not reached: {reason}"
            elif reason:
                # FastAPI stopped while solving: nothing tells whether the route declares any.
                chip.state, chip.note = SKIPPED, f"none ran before {reason}"
            else:
                chip.state, chip.note = SKIPPED, "not run"
        if by["response"].state == PENDING:
            if self.is_ws:
                by["response"].state, by["response"].note = SKIPPED, "a WebSocket has no HTTP response"
            else:
                by["response"].state, by["response"].note = FAILED, "nothing sent"
        if by["background"].state == PENDING:
            by["background"].state, by["background"].note = SKIPPED, "none scheduled"
        if by["endpoint"].state == ACTIVE and self.is_ws:
            d = end.detail
            by["endpoint"].note = (f"{self.endpoint_name}: {self.messages[0]} in, {self.messages[1]} out, "
                                   f"closed {d.get('close_code')} by the {d.get('closed_by') or 'server'}")
        for chip in by.values():
            if chip.state == ACTIVE:
                chip.state = DONE

    def notes(self) -> None:
        deps = self.chips["dependencies"]
        if self.solved and deps.state in (ACTIVE, DONE):
            deps.note = ", ".join(self.solved)
        if self.torn:
            deps.note = (deps.note + " · " if deps.note else "") + f"torn down: {', '.join(self.torn)}"
        validation = self.chips["validation"]
        if validation.state in (ACTIVE, DONE) and self.checked:
            validation.note = f"{_count(self.checked, 'value')} valid"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
