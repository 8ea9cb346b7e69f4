"""What each middleware layer did to the response on its way out: the headers it added, changed or removed.

Each probe hands the layer it wraps a ``SentStart`` in place of ``send``: it
copies the ``http.response.start`` leaving that layer, as it was then (the
layers outside edit the same header list in place). The layer's end event
compares it with the start that left the layer just inside, which is the
first probe entered after it. Only header names are reported: values may be
secrets, and a changed value is named, never shown.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .trace import RequestTrace, report_fault


class SentStart:
    """A ``send`` that remembers the first response start going through it."""

    __slots__ = ("headers", "send", "status")

    def __init__(self, send: Any) -> None:
        self.send = send
        self.status: Any = None
        self.headers: list[Any] = []

    def __call__(self, message: dict[str, Any]) -> Any:
        # Not a coroutine: it hands back the next send's awaitable, so a message
        # passing ten layers costs ten calls, not ten more coroutine frames.
        if self.status is None and message.get("type") == "http.response.start":
            try:
                headers = message.get("headers")
                if headers is not None and not isinstance(headers, list | tuple):
                    # An iterator can be read once: pass a copy on, or the next layer gets no headers.
                    message = {**message, "headers": list(headers)}
                    headers = message["headers"]
                self.headers = list(headers or ())
                self.status = message.get("status")
            except Exception as exc:
                report_fault("layer headers", exc)
        return self.send(message)


def watch(trace: RequestTrace, send: Any) -> tuple[SentStart, int]:
    """Wrap ``send`` for one layer; returns the wrapper and its place in the request's order of layers."""
    sends = trace.layer_sends
    if sends is None:
        sends = trace.layer_sends = []
    sent = SentStart(send)
    sends.append(sent)
    return sent, len(sends) - 1


def response_change(trace: RequestTrace, sent: SentStart, index: int) -> dict[str, Any] | None:
    """How the response start leaving this layer differs from the one that came from inside it.

    ``inside_status`` None: no response start came out of the inner app, so
    this layer sent one of its own (an error handler, a middleware answering).
    """
    try:
        return _change(trace, sent, index)
    except Exception as exc:  # a fact lost, never the request
        report_fault("layer headers", exc)
        return None


def _change(trace: RequestTrace, sent: SentStart, index: int) -> dict[str, Any] | None:
    if sent.status is None:
        return None
    sends = trace.layer_sends or []
    inner = sends[index + 1] if index + 1 < len(sends) else None
    if inner is not None and inner.status is None:
        inner = None
    if inner is not None and inner.headers == sent.headers:  # most layers leave the response alone: no diff to make
        return {"status": sent.status, "inside_status": inner.status, "added": [], "changed": [], "removed": []}
    out = _pairs(sent.headers)
    inside = _pairs(inner.headers) if inner is not None else []
    n_out, n_in = Counter(n for n, _ in out), Counter(n for n, _ in inside)
    names_out, names_in = dict.fromkeys(n for n, _ in out), dict.fromkeys(n for n, _ in inside)
    return {
        "status": sent.status,
        "inside_status": inner.status if inner is not None else None,
        "added": [n for n in names_out if n_out[n] > n_in[n]],
        "changed": [n for n in names_out if n_out[n] == n_in[n] and _values(out, n) != _values(inside, n)],
        "removed": [n for n in names_in if n_in[n] > n_out[n]],
    }


def _pairs(headers: list[Any]) -> list[tuple[str, Any]]:
    out = []
    for pair in headers:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        text = name.decode("latin-1") if isinstance(name, bytes | bytearray) else str(name)
        out.append((text.lower(), value))
    return out


def _values(pairs: list[tuple[str, Any]], name: str) -> list[Any]:
    return [v for n, v in pairs if n == name]
