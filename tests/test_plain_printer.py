"""``view --plain`` and ``trace --plain`` print each request whole once it ends; one whose end never comes is
printed too, as it stands, when too many are waiting or the viewer stops."""

from __future__ import annotations

import io
import re

import httpx
from fastapi import FastAPI
from rich.console import Console

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.cli import view
from lifecycle_tracer.cli.view import PlainPrinter
from lifecycle_tracer.server import ServerThread


def recorded_requests(n: int) -> list[list]:
    app = FastAPI()

    @app.get("/hello/{name}")
    async def hello(name: str) -> dict[str, str]:
        return {"hello": name}

    rec = Recorder()
    instrument(app, sink=rec)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        for i in range(n):
            assert client.get(f"/hello/n{i}").status_code == 200
        assert rec.wait_for(lambda _: len(ended(rec)) >= n, timeout=10)
    return ended(rec)


def ended(rec: Recorder) -> list[list]:
    return [evs for evs in rec.by_request().values() if evs[0].name.startswith("GET /hello/")
            and evs[-1].stage == "request" and evs[-1].kind == "end"]


def printer() -> tuple[PlainPrinter, io.StringIO]:
    out = io.StringIO()
    return PlainPrinter(Console(file=out, width=160, force_terminal=False), None), out


def test_a_request_without_its_end_is_printed_when_the_viewer_stops() -> None:
    whole, cut = recorded_requests(2)
    p, out = printer()
    for ev in cut[:-1]:  # its end never arrives
        p.event(ev)
    for ev in whole:
        p.event(ev)
    shown = out.getvalue()
    assert "GET /hello/n0" in shown and "GET /hello/n1" not in shown  # the whole one only, so far
    p.close()
    shown = out.getvalue()
    assert shown.count("no end arrived") == 1 and "GET /hello/n1" in shown.split("no end arrived")[0].splitlines()[-1]
    assert "■ request" not in shown.split("no end arrived")[1]  # what it printed is what arrived: no end


def test_past_the_limit_the_oldest_unfinished_request_is_printed_as_it_stands(monkeypatch) -> None:
    monkeypatch.setattr(view, "MAX_PENDING", 2)
    requests = recorded_requests(4)
    p, out = printer()
    for evs in requests:
        for ev in evs[:-1]:
            p.event(ev)
    shown = out.getvalue()
    assert shown.count("no end arrived") == 2 and len(p.pending) == 2
    assert "GET /hello/n0" in shown and "GET /hello/n1" in shown and "GET /hello/n2" not in shown


def test_a_lifespans_last_line_says_how_it_went_not_the_stages_name_again() -> None:
    app = FastAPI()
    rec = Recorder()
    instrument(app, sink=rec)
    with ServerThread(app):
        pass
    assert rec.wait_for(lambda _: sum(evs[-1].kind == "end" for evs in rec.by_request().values()) >= 2, timeout=10)
    p, out = printer()
    for ev in rec.events:
        p.event(ev)
    shown = out.getvalue()
    assert "startup → ok" in shown and "shutdown → ok" in shown
    assert re.findall(r"■ request +(\S+)", shown) == ["ok", "ok"], shown
