"""A request as a Mermaid sequence diagram."""

from __future__ import annotations

import re

from ..events import TraceEvent
from ..visible import visible

# -- Mermaid ---------------------------------------------------------------

# Characters Mermaid reads as syntax in a message or participant label (``%%``
# starts a comment anywhere, ``$$`` math), or as HTML when it draws one: they
# are written as Mermaid's entity codes, which it draws as the characters.
_ENTITIES = {"#": "#35;", ";": "#59;", ":": "#58;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;",
             "`": "#96;", "%": "#37;", "$": "#36;"}
_UNSAFE = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")


def _label(text: object, limit: int = 60) -> str:
    # Controls become visible escapes (a newline too: it would end the statement).
    clean = re.sub(r"\s+", " ", visible(text)).strip()
    clean = (clean[: limit - 1] + "…") if len(clean) > limit else clean or "-"
    return _UNSAFE.sub(lambda m: _ENTITIES[m.group()], clean)


def mermaid(events: list[TraceEvent]) -> str:
    """One request as a sequence diagram: client, layers, router, dependencies, endpoint, serializer."""
    parts: list[tuple[str, str]] = [("C", "Client")]
    ids: dict[str, str] = {}

    def pid(kind: str, name: str) -> str:
        key = f"{kind}:{name}"
        if key not in ids:
            ids[key] = f"P{len(ids) + 1}"
            parts.append((ids[key], _label(name, 40)))
        return ids[key]

    lines: list[str] = []
    stack: list[str] = ["C"]  # who currently holds the request
    first = events[0] if events else None
    for ev in events:
        d = ev.detail
        here = stack[-1]
        if ev.stage == "request" and ev.kind == "start":
            continue
        if ev.stage == "middleware":
            p = pid("mw", ev.name)
            if ev.kind == "start":
                what = f"{first.detail.get('method', '')} {first.detail.get('path', '')}" if here == "C" and first else "call next"
                lines.append(f"    {here}->>{p}: {_label(what)}")
                stack.append(p)
            else:
                if stack and stack[-1] == p:
                    stack.pop()
                note = "answered by itself" if d.get("called_next") is False else "done"
                if d.get("raised"):
                    note = f"raised {_label(str(d['raised']).rsplit('.', 1)[-1])}"
                lines.append(f"    {p}-->>{stack[-1] if stack else 'C'}: {note}")
        elif ev.stage == "routing":
            r = pid("router", "Router")
            lines.append(f"    {here}->>{r}: match {_label(d.get('path', ''))}")
            verdict = f"route {_label(d.get('route'))}" if d.get("matched") else f"no route ({_label(d.get('status', '?'))})"
            lines.append(f"    {r}-->>{here}: {verdict}")
        elif ev.stage == "dependency":
            dep = pid("dep", ev.name)
            if ev.kind == "point":
                lines.append(f"    Note over {dep}: {'reused from cache' if d.get('cached') else 'skipped'}")
            elif ev.kind == "start":
                word = "teardown" if d.get("phase") == "teardown" else "call"
                lines.append(f"    {here}->>{dep}: {word}")
            else:
                what = f"raised {_label(str(d['raised']).rsplit('.', 1)[-1])}" if d.get("raised") else _label(d.get("returned", "done"))
                lines.append(f"    {dep}-->>{here}: {what}")
        elif ev.stage == "validation":
            mark = "ok" if d.get("ok") else "INVALID"
            lines.append(f"    Note over {here}: validate {_label(d.get('location', ''))} {_label(ev.name, 30)} {mark}")
        elif ev.stage == "endpoint":
            e = pid("endpoint", ev.name)
            if ev.kind == "start":
                lines.append(f"    {here}->>{e}: call{' in threadpool' if d.get('threadpool') else ''}")
            elif ev.kind == "end":
                what = f"raised {_label(str(d['raised']).rsplit('.', 1)[-1])}" if d.get("raised") else f"return {_label(d.get('returned', ''))}"
                lines.append(f"    {e}-->>{here}: {what}")
        elif ev.stage == "serialization":
            s = pid("ser", "Serializer")
            if ev.kind == "point":
                lines.append(f"    Note over {s}: skipped, endpoint returned {_label(d.get('response_class', 'a Response'))}")
            elif ev.kind == "start":
                lines.append(f"    {here}->>{s}: serialize with {_label(d.get('response_model') or 'jsonable_encoder')}")
            else:
                lines.append(f"    {s}-->>{here}: JSON")
        elif ev.stage == "exception":
            lines.append(f"    Note over {here}: {_label(ev.name)} to {_label(d.get('status_code'))} by {_label(d.get('handler') or 'ServerErrorMiddleware')}")
        elif ev.stage == "response" and ev.kind == "start":
            lines.append(f"    {here}-->>C: {_label(d.get('status_code'))} headers")
        elif ev.stage == "response" and ev.kind == "end":
            lines.append(f"    {here}-->>C: body {_label(d.get('bytes'))} bytes")
        elif ev.stage == "background" and ev.kind == "start":
            b = pid("bg", ev.name)
            lines.append(f"    {here}->>{b}: run after the response")
        elif ev.stage == "websocket":
            arrow = "C->>" + here if d.get("direction") == "in" else here + "-->>C"
            lines.append(f"    {arrow}: {_label(ev.name)}")
    # No `title` line: Mermaid sanitizes titles with DOMPurify, which its
    # parser cannot load outside a browser, and the first arrow names the request.
    head = ["sequenceDiagram"]
    head += [f"    participant {p} as {name}" for p, name in parts]
    return "\n".join(head + lines) + "\n"


