"""Copy a traced request as curl or httpx: the command, run for real, gets the answer the request got."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Body, FastAPI, Form, Header
from pydantic import BaseModel

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.copyas import PLACEHOLDER, as_curl, as_httpx, sent_request
from lifecycle_tracer.server import ServerThread


class Item(BaseModel):
    name: str
    price: float


def build() -> FastAPI:
    app = FastAPI()

    @app.get("/echo/{word}")
    async def echo(word: str, times: int = 1, x_tone: str | None = Header(default=None)) -> dict[str, Any]:
        return {"word": word * times, "tone": x_tone}

    @app.post("/items")
    async def create(item: Item) -> dict[str, Any]:
        return {"made": item.name, "price": item.price}

    @app.post("/pair")
    async def pair(a: int = Body(...), b: str = Body(...)) -> dict[str, Any]:
        return {"a": a, "b": b}

    @app.post("/form")
    async def form(name: str = Form(...)) -> dict[str, str]:
        return {"name": name}

    @app.post("/text")
    async def text(body: str = Body(...)) -> dict[str, str]:
        return {"body": body}

    @app.post("/ignored")
    async def ignored() -> dict[str, str]:
        return {"ok": "yes"}

    return app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Recorder]]:
    app = build()
    rec = Recorder()
    instrument(app, sink=rec)
    with ServerThread(app) as server:
        yield server.url, rec


def traced(served: tuple[str, Recorder], method: str, path: str, **kw: Any) -> tuple[httpx.Response, list[Any]]:
    url, rec = served
    before = set(rec.by_request())
    with httpx.Client(base_url=url, headers={"Connection": "close"}) as client:
        response = client.request(method, path, **kw)
    # The request's end is emitted before the server's next read: wait on it, never on time.
    for _ in range(2000):
        new = [r for r, evs in rec.by_request().items() if r not in before and evs[-1].stage == "request"
               and evs[-1].kind == "end"]
        if new:
            return response, rec.by_request()[new[0]]
        time.sleep(0.005)  # polling the condition above, not waiting out a race
    raise AssertionError("the request's end never arrived")


def run_curl(command: str) -> httpx.Response:
    out = subprocess.run(["sh", "-c", command + " -s -w '\\n%{http_code}'"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    body, _, code = out.rpartition("\n")
    return httpx.Response(int(code), content=body.encode())


def run_httpx(snippet: str) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=30, check=True)
    code, _, text = out.stdout.strip().partition(" ")
    return int(code), text


CASES = {
    "query and a header": ("GET", "/echo/hi", {"params": {"times": "2"}, "headers": {"X-Tone": "it's \"quoted\" $HOME"}}),
    "a JSON body model": ("POST", "/items", {"json": {"name": "pen; rm -rf /", "price": 1.5}}),
    "two embedded body fields": ("POST", "/pair", {"json": {"a": 3, "b": "x\ny"}}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_copied_command_gets_the_same_answer(served: tuple[str, Recorder], case: str) -> None:
    method, path, kw = CASES[case]
    original, events = traced(served, method, path, **kw)
    assert original.status_code == 200
    curl = as_curl(events, base=served[0])
    snippet = as_httpx(events, base=served[0])
    assert curl is not None and snippet is not None
    again = run_curl(curl)
    assert again.status_code == 200 and json.loads(again.content) == original.json(), curl
    code, text = run_httpx(snippet)
    assert code == 200 and json.loads(text) == original.json(), snippet


def test_what_the_trace_does_not_hold_is_said_not_guessed(served: tuple[str, Recorder]) -> None:
    _, events = traced(served, "POST", "/ignored", content=b"raw bytes nobody reads")
    sent = sent_request(events)  # no base: the address the server listened on, and the note says so
    assert sent is not None and sent.body is None
    assert any("22 bytes" in n and "no parameter" in n for n in sent.notes), sent.notes
    assert any("the one it listened on" in n for n in sent.notes), sent.notes
    original, events = traced(served, "POST", "/form", data={"name": "ada & 'bob'"})
    curl = as_curl(events)
    assert curl is not None and "form is re-encoded" in curl
    assert run_curl(curl).content == original.content  # the form, sent again, reads the same
    _, events = traced(served, "POST", "/form", files={"upload": ("a.txt", b"hi")}, data={"name": "x"})
    sent = sent_request(events)
    assert sent is not None and sent.body is None and any("multipart" in n for n in sent.notes), sent.notes

    _, events = traced(served, "POST", "/items", json={"name": "pen", "price": 2})
    sent = sent_request(events)
    assert sent is not None and any("re-encoded as JSON" in n for n in sent.notes)


def test_a_body_the_trace_cut_short_is_said_not_to_be_the_body_sent(served: tuple[str, Recorder]) -> None:
    whole, _ = traced(served, "POST", "/items", json={"name": "pen", "price": 2})
    sent = sent_request(_)
    assert sent is not None and not any("cut" in n for n in sent.notes), sent.notes  # a short body: no such note
    for method, path, kw in (("POST", "/items", {"json": {"name": "x" * 5000, "price": 2}}),
                             ("POST", "/text", {"json": "y" * 5000}),
                             ("POST", "/form", {"data": {"name": "z" * 5000}})):
        original, events = traced(served, method, path, **kw)
        assert original.status_code == 200
        sent = sent_request(events)
        assert sent is not None and sent.body is not None and len(sent.body) < 5000  # a preview, not the body
        assert any("cut" in n and "not the" in n and "that was sent" in n for n in sent.notes), (path, sent.notes)


def test_a_hidden_secret_stays_hidden_and_the_command_says_so(served: tuple[str, Recorder]) -> None:
    _, events = traced(served, "GET", "/echo/a", headers={"Authorization": "Bearer very-secret-token"})
    curl = as_curl(events)
    assert curl is not None and "very-secret-token" not in curl and "[redacted]" in curl
    assert "# values shown as [redacted] were hidden" in curl


def test_without_any_address_a_placeholder_is_named(served: tuple[str, Recorder]) -> None:
    _, events = traced(served, "GET", "/echo/a")
    start = events[0]
    start.detail["headers"] = [p for p in start.detail["headers"] if p[0].lower() != "host"]
    curl = as_curl(events)  # no Host header (HTTP/1.0 may send none): the address the server listened on
    assert curl is not None and f"curl -g {served[0]}/echo/a " in curl and "the one it listened on" in curl
    start.detail.pop("server")  # and a recording from before the server's address was kept
    curl = as_curl(events)
    assert curl is not None and PLACEHOLDER in curl and "does not hold the server's address" in curl
    assert as_curl([e for e in events if e.stage != "request"]) is None  # no request start: nothing to copy


@pytest.mark.anyio
async def test_y_in_the_tui_shows_the_request_as_curl_and_the_command_works(monkeypatch: pytest.MonkeyPatch) -> None:
    from test_tui import fire, lesson_app, running, shown, wait_for

    from lifecycle_tracer.tui.reading import ReadingScreen

    app = lesson_app()
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with running(app) as pilot:
        await fire(pilot)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ReadingScreen), "the copied request to show")
        text = shown(app, "ReadingScreen Static")
        assert "r1 as curl" in text and "/hello/Ada?excited=true" in text
        (curl,) = copied
        assert curl.startswith("curl ") and app.controller.base_url() in curl
        again = run_curl(curl)  # the lesson's server is still up: the copy really sends the request again
        assert again.status_code == 200 and json.loads(again.content) == {"message": "Hello, Ada!"}
        await pilot.press("escape")
        await pilot.press("q")


@pytest.mark.parametrize("text", ["plain", "it's $(touch /tmp/x) `id`", "a\nb", "\x1b[201~\x03rm -rf /\n",
                                  "bidi \u202e here", "tab\tand \\ backslash ' quote"])
def test_a_word_with_control_characters_is_quoted_without_them_and_bash_reads_it_back(text: str) -> None:
    from lifecycle_tracer.copyas import _CONTROL, quote

    word = quote(text)
    assert not _CONTROL.search(word)  # nothing raw reaches a clipboard or a terminal
    out = subprocess.run(["bash", "-c", f"printf %s {word}"], capture_output=True, check=True).stdout
    assert out.decode("utf-8") == text


def test_curl_globbing_is_off_and_a_json_string_body_is_sent_as_json(served: tuple[str, Recorder]) -> None:
    original, events = traced(served, "POST", "/text", json="hello world")
    assert original.status_code == 200
    curl = as_curl(events, base=served[0])
    assert curl is not None and curl.splitlines()[-1].startswith("curl -g ")
    again = run_curl(curl)
    assert again.status_code == 200 and json.loads(again.content) == original.json(), curl
    _, events = traced(served, "GET", "/echo/[1-3]")  # curl's globbing would make this three requests
    before = len(served[1].by_request())
    assert run_curl(as_curl(events, base=served[0]) or "").status_code == 200
    for _ in range(2000):  # the request's end may trail curl's exit by a moment: poll the count
        if len(served[1].by_request()) > before:
            break
        time.sleep(0.005)
    assert len(served[1].by_request()) == before + 1  # one request, not curl's [1-3] three
