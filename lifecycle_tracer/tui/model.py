"""Pure functions from a request's events to what the panes show. No Textual here."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import TraceEvent

PENDING, ACTIVE, DONE, FAILED, SKIPPED = "pending", "active", "done", "failed", "skipped"
SYMBOL = {PENDING: "○", ACTIVE: "◉", DONE: "✓", FAILED: "✗", SKIPPED: "–"}
WORD = {PENDING: "waiting", ACTIVE: "running", DONE: "done", FAILED: "FAILED", SKIPPED: "skipped"}


@dataclass
class Chip:
    key: str
    label: str
    state: str = PENDING
    note: str = ""


def pipeline(events: list[TraceEvent]) -> list[Chip]:
    """The stages in order, each with its state after ``events`` (a prefix of the request)."""
    layers: list[str] = []
    for ev in events:
        if ev.stage == "middleware" and ev.kind == "start" and ev.name not in layers:
            layers.append(ev.name)
    labels = {}
    for ev in events:
        if ev.stage == "middleware" and ev.kind == "start" and ev.detail.get("function"):
            labels[ev.name] = ev.detail["function"]
    chips = [Chip("client", "client")]
    chips += [Chip(f"mw:{name}", labels.get(name, name)) for name in layers]
    for key in ("routing", "dependencies", "validation", "endpoint", "serialization", "response", "background"):
        chips.append(Chip(key, key))
    by = {c.key: c for c in chips}
    done = bool(events) and events[-1].stage == "request" and events[-1].kind == "end"
    is_ws = bool(events) and events[0].detail.get("type") == "websocket"
    stopped_by = ""
    stopped_early = False  # stopped before dependencies could run (middleware or routing)

    if events:
        by["client"].state, by["client"].note = DONE, events[0].name
    for ev in events:
        d = ev.detail
        if ev.stage == "middleware":
            chip = by[f"mw:{ev.name}"]
            if ev.kind == "start":
                chip.state = ACTIVE
            else:
                if d.get("raised") and d.get("passes_up"):
                    chip.state, chip.note = DONE, f"{str(d['raised']).rsplit('.', 1)[-1]} passed up"
                elif d.get("raised"):
                    chip.state, chip.note = FAILED, f"raised {str(d['raised']).rsplit('.', 1)[-1]}"
                else:
                    chip.state = DONE
                    if d.get("called_next") is False:
                        chip.note = "answered by itself"
                        stopped_by = stopped_by or f"{ev.name} answered by itself"
                        stopped_early = True
        elif ev.stage == "routing":
            if d.get("matched"):
                by["routing"].state, by["routing"].note = DONE, str(d.get("route") or "")
            else:
                hint = d.get("status", d.get("status_hint"))  # status_hint: recordings made before 0.2
                by["routing"].state, by["routing"].note = FAILED, f"{hint} no route" if hint != 405 else "405 method not allowed"
                stopped_by = stopped_by or "no route matched"
                stopped_early = True
        elif ev.stage == "dependency":
            chip = by["dependencies"]
            if d.get("phase") == "teardown":
                chip.note = "teardown running" if ev.kind == "start" else "torn down"
                continue
            if ev.kind == "start":
                chip.state, chip.note = ACTIVE, ev.name
            elif ev.kind == "end" and d.get("raised"):
                chip.state, chip.note = FAILED, f"{ev.name} raised"
                stopped_by = stopped_by or f"{ev.name} raised"
            elif chip.state != FAILED and ev.kind == "end":
                chip.state, chip.note = DONE, ""
            elif chip.state == PENDING and ev.kind == "point":
                chip.state, chip.note = DONE, "reused from cache" if d.get("cached") else "skipped"
        elif ev.stage == "validation":
            chip = by["validation"]
            if d.get("ok") is False:
                chip.state, chip.note = FAILED, f"{ev.name} invalid → 422"
                stopped_by = stopped_by or "validation failed"
            elif chip.state != FAILED:
                chip.state = DONE
        elif ev.stage == "endpoint":
            chip = by["endpoint"]
            if ev.kind == "start":
                chip.state, chip.note = ACTIVE, ("threadpool" if d.get("threadpool") else "event loop")
            elif ev.kind == "end":
                chip.state, chip.note = (FAILED, f"raised {str(d['raised']).rsplit('.', 1)[-1]}") if d.get("raised") else (DONE, f"returned {d.get('returned', '')}")
            else:
                chip.state, chip.note = DONE, "streams as a generator"
        elif ev.stage == "serialization":
            chip = by["serialization"]
            if ev.kind == "point" and d.get("skipped"):
                chip.state, chip.note = SKIPPED, "endpoint returned a Response"
            elif ev.kind == "start":
                chip.state, chip.note = ACTIVE, str(d.get("response_model") or "jsonable_encoder")
            else:
                chip.state = FAILED if d.get("raised") else DONE
        elif ev.stage == "response":
            chip = by["response"]
            if ev.kind == "start":
                chip.state, chip.note = ACTIVE, str(d.get("status_code"))
            elif ev.kind == "end":
                chip.state = FAILED if (d.get("status_code") or 0) >= 500 else DONE
                chip.note = f"{d.get('status_code')} · {d.get('bytes')} bytes"
        elif ev.stage == "background":
            chip = by["background"]
            chip.state = ACTIVE if ev.kind == "start" else (FAILED if d.get("raised") else DONE)
            chip.note = ev.name
        elif ev.stage == "exception":
            stopped_by = stopped_by or f"{ev.name} raised"
        elif ev.stage == "websocket":
            by["endpoint"].state, by["endpoint"].note = ACTIVE if not done else DONE, f"websocket {ev.name}"
    if done:
        reason = stopped_by or "not needed"
        for key in ("dependencies", "validation", "endpoint", "serialization"):
            if by[key].state == PENDING:
                by[key].state = SKIPPED
                before_inputs = key in ("dependencies", "validation")
                if before_inputs and not stopped_early:
                    by[key].note = "none declared"  # they would have run before anything failed
                else:
                    by[key].note = reason
        if by["response"].state == PENDING:
            by["response"].state, by["response"].note = (SKIPPED, "WebSocket") if is_ws else (FAILED, "nothing sent")
        if by["background"].state == PENDING:
            by["background"].state, by["background"].note = SKIPPED, "none scheduled"
        for chip in chips:
            if chip.state == ACTIVE:
                chip.state = DONE
    return chips
